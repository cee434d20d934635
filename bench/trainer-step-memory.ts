/**
 * Peak memory of one training step through the Trainer's path (issue 11): the lm task with the
 * gpt2 tokenizer (V = 50,257), a GPT of nEmbd 768 and nHead 12 (nLayer 2 by default, --layers),
 * batch 8 × 256 tokens, AdamW, the task's objective and the Trainer's own optimizer step.
 *
 *   npm run bench:memory [-- --layers 12]
 *
 * Each variant runs in a process of its own (peak RSS is per process) and the table compares:
 * - `ce` (objective { ce: 1 }): what the Trainer runs by default; on this branch the LM head is
 *   fusedLinearCrossEntropy, so the [B·T, V] logits (2,048 × 50,257 floats = 412 MB) never exist;
 * - `zLoss-only` (objective { zLoss: 1 }): the one objective that still needs the whole logits
 *   (tasks/objective.ts), as a same-code reference for what materialising them costs.
 * Columns: RSS once the task, model and Trainer exist; peak RSS over the first optimizer step (the
 * process's maxRSS, so it includes the AdamW state and gradients the step allocates); the
 * difference. The same script runs unchanged on a checkout from before the fused head (where `ce`
 * materialises the logits) to give the "before" figure. A benchmark, never a test.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.js';
import { getBackend } from '../src/backend/index.js';
import { createTask } from '../src/tasks/index.js';
import { Trainer } from '../src/train/trainer.js';
import { shakespeareLmConfig } from './shakespeare-config.js';

const USAGE = 'usage: npm run bench:memory [-- --layers 2]';

const VARIANTS: Record<string, Record<string, number>> = { ce: { ce: 1 }, 'zLoss-only': { zLoss: 1 } };

const mb = (kb: number) => kb / 1024;

/** One variant in this process: prints one JSON line. */
async function runVariant(variant: string, layers: number): Promise<void> {
  const config = shakespeareLmConfig('tf-stepmem-', 200_000, {
    data: { blockSize: 256, tokenizer: { type: 'gpt2' } },
    model: { nLayer: layers, nHead: 12, nEmbd: 768, dropout: 0 }, objective: VARIANTS[variant],
    perDeviceTrainBatchSize: 8, maxSteps: 10, learningRate: 3e-4, weightDecay: 0.1, disableTqdm: true,
  });
  const task = await createTask(config);
  const trainer = new Trainer({ config, task });
  task.model.train();
  const setup = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  (trainer as unknown as { trainStep(): boolean }).trainStep();
  const seconds = (performance.now() - t0) / 1000;
  const peak = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ variant, layers, backend: getBackend().name, setupMb: mb(setup), peakMb: mb(peak), stepMb: mb(peak - setup), seconds }));
}

function main(): void {
  const { values } = benchArgs(USAGE, { variant: { type: 'string' }, layers: { type: 'string', number: 'count', default: '2' } });
  const layers = Number(values.layers);
  if (values.variant) {
    runVariant(values.variant, layers).catch((e) => { console.error(e); process.exitCode = 1; });
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const rows: { variant: string; backend: string; setupMb: number; peakMb: number; stepMb: number; seconds: number }[] = [];
  for (const v of Object.keys(VARIANTS)) {
    const r = spawnSync(process.execPath, [self, '--variant', v, '--layers', String(layers)], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`variant ${v} failed:\n${r.stderr}`);
    rows.push(JSON.parse(line));
  }
  console.log(`one Trainer step, GPT nLayer ${layers} nEmbd 768 nHead 12, V 50257, batch 8 x 256, AdamW, backend ${rows[0].backend}`);
  console.log('| objective | RSS after setup (MB) | peak RSS, one step (MB) | step adds (MB) | step time (s) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.variant} | ${r.setupMb.toFixed(0)} | ${r.peakMb.toFixed(0)} | ${r.stepMb.toFixed(0)} | ${r.seconds.toFixed(1)} |`);
}

main();
