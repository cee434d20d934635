/**
 * The lm run the memory benchmarks train (soak, trainer-step-memory): a fresh temporary folder
 * holding the first `chars` characters of the bundled Tiny Shakespeare as the training text, and
 * its run folder `<tmp>/run`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig, type TrainConfig } from '../src/train/config.js';
import { repoRoot } from './shared.js';

/**
 * A validated config of task lm, seed 1, over that text; `fields` are the rest of the config, and
 * `fields.data` is completed with the training file.
 * @param tmpPrefix prefix of the temporary folder's name (`tf-soak-`).
 */
export function shakespeareLmConfig(tmpPrefix: string, chars: number, fields: Record<string, unknown> & { data: Record<string, unknown> }): TrainConfig {
  const dir = mkdtempSync(path.join(tmpdir(), tmpPrefix));
  const text = path.join(dir, 'input.txt');
  writeFileSync(text, readFileSync(path.join(repoRoot(), 'examples/data/tinyshakespeare/input.txt'), 'utf8').slice(0, chars));
  return parseConfig({ task: 'lm', outputDir: path.join(dir, 'run'), seed: 1, ...fields, data: { train: text, ...fields.data } });
}
