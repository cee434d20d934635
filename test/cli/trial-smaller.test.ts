/**
 * Smaller findings of the outside trial: `--seed -1` was accepted (Hugging Face's set_seed takes
 * [0, 2^32 - 1]); labelSmoothingFactor 1.0 was refused (PyTorch's label_smoothing takes [0, 1]);
 * a data.tokenizer option of another type (`type bpe` with `path <folder>`) was ignored in silence;
 * "nothing to train" printed an absolute path for a relative outputDir; `new GPT({ nEmbed })` was
 * accepted; a token id past the vocabulary gave only a flat position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, IndexError } from '../../src/errors.js';
import { tokenizerFromConfig } from '../../src/data/index.js';
import { GPT } from '../../src/models/gpt.js';
import { classObjective } from '../../src/tasks/objective.js';
import * as T from '../../src/tensor/index.js';
import { parseConfig } from '../../src/train/config.js';
import { assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';
import { configError } from '../util/config-error.js';

const here = dirname(fileURLToPath(import.meta.url));
const hfFixture = resolve(here, '../../../test/data/fixtures/hf-wordlevel.tokenizer.json');
const { dir, config, lm } = cliScratch('tf-trial-smaller-', { maxSteps: 2, saveSteps: 2, evalSteps: 2, maxEvalBatches: 1 });


test('seed: [0, 2^32 - 1] as Hugging Face\'s set_seed; -1 and 2^32 are refused with the range', () => {
  assert.equal(configError(lm({ seed: -1 })), 'seed: must be in [0, 2^32 - 1] = [0, 4294967295] as Hugging Face\'s set_seed takes (got -1)');
  assert.equal(configError(lm({ seed: 2 ** 32 })), 'seed: must be in [0, 2^32 - 1] = [0, 4294967295] as Hugging Face\'s set_seed takes (got 4294967296)');
  assert.equal(parseConfig(lm({ seed: 0 })).seed, 0);
  assert.equal(parseConfig(lm({ seed: 2 ** 32 - 1 })).seed, 4294967295);
});

test('labelSmoothingFactor 1.0 is accepted and gives PyTorch\'s cross_entropy(label_smoothing=1.0)', () => {
  assert.equal(parseConfig(lm({ labelSmoothingFactor: 1 })).labelSmoothingFactor, 1);
  assert.equal(configError(lm({ labelSmoothingFactor: 1.01 })), 'labelSmoothingFactor: must be <= 1 (got 1.01)');
  const logits = T.tensor(new Float32Array([1, -2, 0.5, 3, 0.25, 0, -1.5, 2, -0.5, 1.5, 0, 0]), [3, 4]);
  const target = T.tensor(Int32Array.from([3, 0, -100]), [3]);
  const { terms } = classObjective(logits, target, { ce: 1 }, { labelSmoothing: 1 });
  // /usr/bin/python3: torch.nn.functional.cross_entropy(x.double(), t, label_smoothing=1.0) (ignore_index -100, mean).
  const torchValue = 2.3409527362869005;
  assert.ok(Math.abs(terms.ce - torchValue) < 1e-6, `ce ${terms.ce}, PyTorch ${torchValue}`);
});

test('data.tokenizer: an option of another type is refused; a path holding a tokenizer says to use type hf; hf reads a folder', () => {
  const folder = join(dir, 'tok');
  mkdirSync(folder);
  copyFileSync(hfFixture, join(folder, 'tokenizer.json'));
  const r = trainformer(['train', '--config', config(lm({ outputDir: join(dir, 'bpe') })), '--data.tokenizer.type', 'bpe', '--data.tokenizer.path', folder]);
  assertOneLineError(r, new RegExp(`^config error: --data\\.tokenizer\\.path: a bpe tokenizer is built from the training texts and does not read path \\(path applies to hf\\); to use the tokenizer in ${esc(join(folder, 'tokenizer.json'))}, set data\\.tokenizer\\.type hf$`));
  const v = trainformer(['train', '--config', config(lm({ outputDir: join(dir, 'char') })), '--data.tokenizer.vocabSize', '100']);
  assertOneLineError(v, /^config error: --data\.tokenizer\.vocabSize: a char tokenizer is built from the training texts and does not read vocabSize \(vocabSize applies to bpe\); remove it, or set data\.tokenizer\.type bpe$/);
  // As from_pretrained(folder): the folder's tokenizer.json.
  const fromFolder = tokenizerFromConfig({ type: 'hf', path: folder });
  const fromFile = tokenizerFromConfig({ type: 'hf', path: hfFixture });
  assert.equal(fromFolder.vocabSize, fromFile.vocabSize);
  assert.deepEqual(fromFolder.encode('hello world'), fromFile.encode('hello world'));
  assert.throws(() => tokenizerFromConfig({ type: 'hf', path: dir }), (e: Error) => e instanceof ConfigError
    && e.message === `tokenizer.path: ${dir} is a folder without tokenizer.json (give a tokenizer.json file or a folder holding one)`);
});

test('"nothing to train" names the checkpoint under the outputDir as given (relative), not its absolute path', () => {
  const cfg = config(lm({ outputDir: 'rel-run' }));
  assert.equal(trainformer(['train', '--config', cfg], { cwd: dir }).code, 0);
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '2'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.errLines.slice(-1), ['nothing to train: the checkpoint rel-run/checkpoint-2 is at step 2 ≥ maxSteps 2; raise --maxSteps to train further']);
});

test('library GPT: an unknown config key is refused with the nearest field; an id past the vocabulary names its row and position', () => {
  const tiny = { vocabSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8 };
  assert.throws(() => new GPT({ ...tiny, nEmbed: 16 } as never), (e: Error) => e instanceof ConfigError
    && e.message === 'GPT config: unknown field "nEmbed" (did you mean nEmbd?)');
  const m = new GPT(tiny);
  assert.throws(() => m.forward(T.tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 9, 1]), [2, 4], 'int32')), (e: Error) => e instanceof IndexError
    && e.message === 'GPT: token id 9 at row 1, position 2 of the ids [2, 4] is outside the vocabulary (vocabSize 8: ids 0..7)');
  assert.throws(() => m.forward(T.tensor(Int32Array.from([-1, 2]), [1, 2], 'int32')), /GPT: token id -1 at row 0, position 0 of the ids \[1, 2\]/);
});
