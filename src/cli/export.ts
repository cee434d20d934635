/**
 * `trainformer export <run> --format hf <dir>`: a GPT run (its final model, or latest checkpoint) as
 * a Hugging Face GPT-2 folder — `config.json` (GPT2Config keys), `model.safetensors` (GPT2LMHeadModel's
 * tensor names, Conv1D weights [in, out]), `tokenizer.json` (the `tokenizers` format),
 * `tokenizer_config.json` and `generation_config.json` — that `GPT2LMHeadModel.from_pretrained` and
 * `AutoTokenizer.from_pretrained` load, and that `model: { fromPretrained }` reads back.
 * `--format onnx <dir>`: `model.onnx` (input_ids [batch, sequence] → logits, models/onnx-gpt.ts) with
 * the same tokenizer.json and tokenizer_config.json.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { hfTokenizerConfig, hfTokenizerJson, type Tokenizer } from '../data/index.js';
import { GPT } from '../models/gpt.js';
import { saveHFGPT2 } from '../models/hf-gpt2.js';
import { saveOnnxGPT } from '../models/onnx-gpt.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { RUN_CONFIG_FILE } from '../train/run-files.js';
import { taskFromCheckpoint } from './checkpoint-task.js';

export interface ExportFlags { format?: string }

/**
 * Writes a GPT and its tokenizer as a Hugging Face GPT-2 folder (see the file comment).
 * @throws ConfigError when the model has no GPT-2 form; ValueError for a tokenizer without a
 *   tokenizer.json form or non-finite weights.
 */
export function exportHFFolder(model: GPT, tokenizer: Tokenizer, dir: string): void {
  // The tokenizer first: a tokenizer with no HF form fails before any file is written.
  const tokJson = hfTokenizerJson(tokenizer);
  const ids = { bos_token_id: tokenizer.bosId ?? null, eos_token_id: tokenizer.eosId ?? null };
  saveHFGPT2(model, dir, ids);
  writeJsonAtomic(join(dir, 'tokenizer.json'), tokJson);
  writeJsonAtomic(join(dir, 'tokenizer_config.json'), hfTokenizerConfig(tokenizer, model.config.blockSize));
  writeJsonAtomic(join(dir, 'generation_config.json'), { _from_model_config: true, ...ids });
}

/**
 * Refuses an export target that holds a trainformer run or checkpoint: the exported
 * `model.safetensors` (Hugging Face tensor names) would replace the run's own final model.
 * @throws ConfigError naming the target folder.
 */
export function checkExportTarget(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
  const names = readdirSync(dir);
  const run = names.find((n) => n === RUN_CONFIG_FILE || n === 'trainer_state.json' || /^checkpoint-\d+$/.test(n));
  if (run) throw new ConfigError(`export: ${dir} holds a trainformer run (${run}); exporting there would replace its model.safetensors — give another folder`);
}

/** The `export` command. */
export async function exportCommand(run: string, dir: string, f: ExportFlags): Promise<void> {
  const format = f.format ?? 'hf';
  if (format !== 'hf' && format !== 'onnx') throw new ConfigError(`--format: expected hf or onnx, got ${JSON.stringify(format)}`);
  checkExportTarget(dir);
  const { task, config, dir: from } = await taskFromCheckpoint(run, [], { noData: true });
  if (config.task !== 'lm' || !(task.model instanceof GPT) || !task.tokenizer) {
    throw new ConfigError(`export: --format ${format} supports lm (GPT) runs; ${from} is a run of task ${config.task}`);
  }
  if (format === 'hf') exportHFFolder(task.model, task.tokenizer, dir);
  else {
    // The tokenizer first: a tokenizer with no HF form fails before any file is written.
    const tokJson = hfTokenizerJson(task.tokenizer);
    saveOnnxGPT(task.model, join(dir, 'model.onnx'));
    writeJsonAtomic(join(dir, 'tokenizer.json'), tokJson);
    writeJsonAtomic(join(dir, 'tokenizer_config.json'), hfTokenizerConfig(task.tokenizer, task.model.config.blockSize));
  }
  const r = relative(process.cwd(), dir);
  process.stdout.write(`exported ${from} (${format}) → ${r.startsWith('..') ? dir : r}\n`);
}
