// splitHeadsLowp (packed projection [b, t, 3, h, d] → rounded planes [3, b, h, t, d]) on both
// backends against an independent element-by-element gather with the scalar rounding rules of
// src/amp/cast.ts: every element of every plane, bit for bit, with special values (NaN, ±inf,
// ±0, subnormals, halfway cases, float16 overflow) placed in the input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, LowpDtype } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { toBfloat16Bits, toFloat16Bits } from '../../src/amp/cast.js';
import { rng } from '../util/rng.js';

const native = loadNativeBackend();
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -3e-39, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 70000, -1e5, 2 ** -24 * 1.5];

function input(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n).map(() => (r() - 0.5) * 8);
  SPECIALS.forEach((v, i) => { x[(i * 37) % n] = v; });
  return x;
}

/** The reference: out[p][b][h][t][d] = round(qkv[b][t][p][h][d]). */
function expected(dtype: LowpDtype, x: Float32Array, b: number, t: number, h: number, d: number): Uint16Array {
  const to = dtype === 'bfloat16' ? toBfloat16Bits : toFloat16Bits;
  const out = new Uint16Array(3 * b * h * t * d);
  for (let p = 0; p < 3; p++) for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) for (let ti = 0; ti < t; ti++) {
    for (let di = 0; di < d; di++) {
      out[(((p * b + bi) * h + hi) * t + ti) * d + di] = to(x[(((bi * t + ti) * 3 + p) * h + hi) * d + di]);
    }
  }
  return out;
}

describe('splitHeadsLowp', () => {
  const backends: [string, Backend | null][] = [['js', jsBackend], ['native', native]];
  for (const [name, be] of backends) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      test(`${name} ${dtype}: every element of every plane, bit for bit`, { skip: be ? false : 'native addon not built' }, () => {
        for (const [b, t, h, d] of [[1, 1, 1, 1], [2, 5, 3, 7], [2, 70, 2, 64], [1, 3, 12, 16]]) {
          const x = input(b * t * 3 * h * d, b * 1000 + t);
          const out = new Uint16Array(3 * b * h * t * d + 3).fill(0xabcd);
          be!.splitHeadsLowp(dtype, x, out, b, t, h, d);
          assert.deepEqual(out.subarray(0, out.length - 3), expected(dtype, x, b, t, h, d), `[${b}, ${t}, 3, ${h}, ${d}]`);
          assert.deepEqual([...out.subarray(out.length - 3)], [0xabcd, 0xabcd, 0xabcd], 'wrote past the planes');
        }
      });
    }
  }
  test('native: a too-short output throws instead of writing past its end', { skip: native ? false : 'native addon not built' }, () => {
    assert.throws(() => native!.splitHeadsLowp('bfloat16', new Float32Array(3 * 4), new Uint16Array(11), 1, 2, 1, 2), RangeError);
    assert.throws(() => native!.splitHeadsLowp('bfloat16', new Float32Array(3 * 4), new Float32Array(12) as unknown as Uint16Array, 1, 2, 1, 2), TypeError);
  });
});
