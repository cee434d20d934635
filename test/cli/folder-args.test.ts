/**
 * A folder given where the CLI reads a file (fresh-user trial: a bare "(EISDIR)"): one line naming
 * the path and saying it is a folder, exit 1, no stack.
 */
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertOneLineError, trainformer } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-folder-args-'));
const folder = join(dir, 'corpus');
mkdirSync(folder);
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('--config, --training-args, score --ref and score --input given a folder: "is a folder, expected a file"', () => {
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ task: 'lm', outputDir: join(dir, 'out'), data: { train: 'x.txt' } }));
  const ref = join(dir, 'ref.txt');
  writeFileSync(ref, 'a reference\n');
  assertOneLineError(trainformer(['train', '--config', folder]), new RegExp(`^config error: ${esc(folder)}: is a folder, expected a file$`));
  assertOneLineError(trainformer(['train', '--config', cfg, '--training-args', folder]), new RegExp(`^config error: --training-args: ${esc(folder)}: is a folder, expected a file$`));
  assertOneLineError(trainformer(['score', '--ref', folder], { input: 'a hypothesis\n' }), new RegExp(`^error: ${esc(folder)}: is a folder, expected a file$`));
  assertOneLineError(trainformer(['score', '--ref', ref, '--input', folder]), new RegExp(`^error: ${esc(folder)}: is a folder, expected a file$`));
});
