// DESIGN.md "Losses compose ops": a loss is tensor ops on top of the kernels; it never loops over
// float typed arrays and never writes its own backward. dependency-cruiser's losses-compose-ops rule
// keeps src/losses/ from importing the backend, but a loss can loop without importing it (bce, the
// pointwise losses and klDiv did), so this test reads the sources.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../golden/paths.js';

const dir = path.join(repoRoot(), 'src', 'losses');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
// The fused LM head records one node whose backward is tensor ops too (per chunk: logSoftmaxNll's
// backward and two GEMMs), so that the [N, V] logits never exist whole.
const RECORD_ALLOWED = new Set(['fused-linear-cross-entropy.ts']);

test('src/losses/ has no float typed-array loops and no hand-written backward', () => {
  assert.ok(files.length >= 10, `read ${files.length} files from ${dir}`);
  const found: string[] = [];
  for (const f of files) {
    const lines = readFileSync(path.join(dir, f), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (/\b(Float32Array|Float64Array|FloatArray)\b|\.storage\.data/.test(code)) found.push(`${f}:${i + 1}: float array: ${line.trim()}`);
      if (/\bT\.record\(/.test(code) && !RECORD_ALLOWED.has(f)) found.push(`${f}:${i + 1}: own backward: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
