// The kernel specification (src/backend/spec.ts) is the one source of the kernel boundary: the
// committed C++ glue is what it generates, and both backends provide every kernel it lists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend } from '../../src/backend/native/index.js';
import { kernelsHeader, unpackSource } from '../../src/backend/native-glue.js';
import { KERNELS } from '../../src/backend/spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('native/src/kernels.gen.h and unpack.gen.inc are what spec.ts generates (else: npm run gen:native)', () => {
  assert.equal(readFileSync(path.join(root, 'native', 'src', 'kernels.gen.h'), 'utf8'), kernelsHeader(), 'kernels.gen.h is stale: run npm run gen:native');
  assert.equal(readFileSync(path.join(root, 'native', 'src', 'unpack.gen.inc'), 'utf8'), unpackSource(), 'unpack.gen.inc is stale: run npm run gen:native');
});

test('the js backend, the native wrapper and the addon provide every kernel of the spec', () => {
  const names = Object.keys(KERNELS);
  assert.deepEqual(names.filter((n) => typeof (jsBackend as unknown as Record<string, unknown>)[n] !== 'function'), []);
  const native = loadNativeBackend(), addon = loadNativeAddon();
  if (!native || !addon) return;
  assert.deepEqual(names.filter((n) => typeof (native as unknown as Record<string, unknown>)[n] !== 'function'), []);
  assert.deepEqual(names.filter((n) => typeof (addon as unknown as Record<string, unknown>)[n] !== 'function'), []);
});

test('the generated unpacking rejects a short array with a RangeError naming it', (t) => {
  const addon = loadNativeAddon();
  if (!addon) { t.skip('native addon not built'); return; }
  assert.throws(() => addon.softmax(new Float32Array(5), new Float32Array(6), 2, 3, false), /native backend: x has 5 elements, the kernel needs 6/);
  assert.throws(() => addon.crossEntropy(new Float32Array(6), new Float32Array(2) as unknown as Int32Array, null, new Float32Array(2),
    new Float32Array(2), new Float32Array(2), new Float32Array(2), new Float32Array(2), 2, 3, -100, 0), /target must be a Int32Array|target must be an Int32Array/);
});
