// Non-train commands accept Hugging Face-style kebab-case and snake_case spellings of their
// camelCase flags; unknown flags and train's own overrides are left for their parsers; --version
// prints package.json's version.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildProgram, main } from '../../src/cli/main.js';
import { normaliseFlagNames } from '../../src/cli/flag-names.js';

test('kebab-case and snake_case flags map to the declared camelCase flag', () => {
  const p = buildProgram();
  assert.deepEqual(normaliseFlagNames(p, ['generate', 'run', '--max-new-tokens', '5', '--top_k=3']),
    ['generate', 'run', '--maxNewTokens', '5', '--topK=3']);
  assert.deepEqual(normaliseFlagNames(p, ['predict', 'run', '--num-beams', '4', '--length_penalty', '1']),
    ['predict', 'run', '--numBeams', '4', '--lengthPenalty', '1']);
  // declared as written, unknown, and values that look like flags of another command stay as they are
  assert.deepEqual(normaliseFlagNames(p, ['generate', 'run', '--prompt', 'x', '--no-such-flag']),
    ['generate', 'run', '--prompt', 'x', '--no-such-flag']);
  // train keeps its own override parser (it also accepts dotted model.* fields)
  assert.deepEqual(normaliseFlagNames(p, ['train', '--config', 'c.json', '--max-steps', '2']),
    ['train', '--config', 'c.json', '--max-steps', '2']);
});

test('--version prints the version in package.json and exits 0', async () => {
  const expected = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = (s: string) => { chunks.push(String(s)); return true; };
  let code: number;
  try { code = await main(['--version']); } finally { (process.stdout as { write: unknown }).write = orig; }
  assert.equal(code, 0);
  assert.equal(chunks.join('').trim(), expected);
});
