// Every native kernel against the js reference kernel, on random shapes, odd sizes (1, 3, 17,
// 1000+), sizes large enough to run on several threads, broadcast / transposed strides and the
// special values (±inf, NaN, ±0). Skipped with a notice when the addon is not built.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnyArray, Backend, BinaryOp, ReduceOp, UnaryOp } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend } from '../../src/backend/native/index.js';
import { rng } from '../util/rng.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const nativeOrNull = loadNativeBackend();
const skip = nativeOrNull ? false : "native addon not built (run 'npm run build:native'; needs g++ and libopenblas-dev)";
const native = nativeOrNull as Backend;
const js = jsBackend;

// ---- helpers -------------------------------------------------------------------------------------


function randn(r: () => number, n: number, scale = 1, shift = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - r(), v = r();
    out[i] = shift + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

function randInt(r: () => number, n: number, hi: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * hi);
  return out;
}

const SPECIALS = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-30, -1e-30, 30, -30, 100, -100, 0.5, 3.75, -7.25];

/**
 * Asserts |a - e| <= atol + rtol·|e| elementwise; NaN must meet NaN and infinities must be equal.
 * Reports the first bad index with both values.
 */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      assert.fail(`${what}[${i}]: native ${a}, js ${e}`);
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a === e) continue;
      assert.fail(`${what}[${i}]: native ${a}, js ${e}`);
    }
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) assert.fail(`${what}[${i}]: native ${a}, js ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

const SIZES = [1, 3, 17, 1000, 70001];

// ---- elementwise -----------------------------------------------------------------------------------

const UNARY_OPS: UnaryOp[] = ['neg', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'relu',
  'gelu', 'geluTanh', 'silu', 'square', 'reciprocal', 'powScalar', 'clamp', 'addScalar', 'mulScalar', 'rsubScalar',
  'heaviside', 'geluDerivative', 'geluTanhDerivative'];

/** Inputs: the special values first, then normal(0, 3) (uniform(0, 4) for ops defined on x > -1 / x >= 0). */
function unaryInput(op: UnaryOp, n: number, r: () => number): Float32Array {
  const positive = op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'log1p' || op === 'powScalar';
  const x = positive ? new Float32Array(n).map(() => 4 * r() + 1e-3) : randn(r, n, 3);
  for (let i = 0; i < Math.min(n, SPECIALS.length); i++) x[i] = SPECIALS[i];
  return x;
}

const PARAMS: Partial<Record<UnaryOp, [number, number][]>> = {
  powScalar: [[2, 0], [0.5, 0], [-1.5, 0], [3, 0], [0, 0]],
  clamp: [[-1, 2], [NaN, 0.5], [-0.25, NaN], [NaN, NaN]],
  addScalar: [[2.5, 0]], mulScalar: [[-3, 0]], rsubScalar: [[1, 0]], heaviside: [[0, 0], [1, 0], [0.5, 0]],
};

describe('native unary', { skip }, () => {
  for (const op of UNARY_OPS) {
    test(op, () => {
      const r = rng(11);
      for (const [p0, p1] of PARAMS[op] ?? [[0, 0]]) {
        for (const n of SIZES) {
          const x = unaryInput(op, n, r);
          const yj = new Float32Array(n), yn = new Float32Array(n);
          js.unary(op, x, yj, n, p0, p1);
          native.unary(op, x, yn, n, p0, p1);
          // gelu / geluTanh tails: js forms 1 + erf(x/√2) and 1 + tanh(u) in float64, which lose
          // everything below ~1e-16 (absolute); native forms x·Φ(x) and x·sigmoid(2u), whose
          // float32 relative error grows like |2u|·2^-24 for geluTanh (u is rounded to float32).
          // The derivative maps (used by the op layer's GELU backward) get the old backward tolerance.
          const gel = op === 'gelu' || op === 'geluTanh';
          const derivative = op === 'geluDerivative' || op === 'geluTanhDerivative';
          if (derivative) assertClose(yn, yj, 2e-5, 1e-6, `${op}(${p0},${p1}) n=${n}`);
          else assertClose(yn, yj, op === 'geluTanh' ? 1e-5 : 2e-6, gel ? 1e-15 : 1e-30, `${op}(${p0},${p1}) n=${n}`);
        }
      }
    });
  }

  test('unaryMul = g · unary, bit for bit on each backend; native within the unary tolerance of js', () => {
    const r = rng(12);
    for (const op of UNARY_OPS) {
      for (const [p0, p1] of PARAMS[op] ?? [[0, 0]]) {
        for (const n of SIZES) {
          const x = unaryInput(op, n, r);
          const g = randn(r, n, 2);
          for (const b of [js, native]) {
            const y = new Float32Array(n), want = new Float32Array(n), got = new Float32Array(n);
            b.unary(op, x, y, n, p0, p1);
            for (let i = 0; i < n; i++) want[i] = g[i] * y[i];
            b.unaryMul(op, x, g, got, n, p0, p1);
            assert.deepEqual(got, want, `${b.name} unaryMul ${op}(${p0},${p1}) n=${n}`);
          }
        }
      }
    }
    const x64 = Float64Array.from([0.1, -2, 3.5, 1e-3]), g64 = Float64Array.from([1.5, -0.25, 3, 1e5]);
    const a = new Float64Array(4), b64 = new Float64Array(4);
    native.unaryMul('geluDerivative', x64, g64, a, 4);
    js.unaryMul('geluDerivative', x64, g64, b64, 4);
    assert.deepEqual(a, b64);
    const d64 = new Float64Array(4);
    js.unary('geluDerivative', x64, d64, 4);
    for (let i = 0; i < 4; i++) assert.equal(b64[i], g64[i] * d64[i]);
    assert.throws(() => native.unaryMul('gelu', new Float32Array(3), new Float32Array(2), new Float32Array(3), 3), RangeError);
  });

  test('works on subarray views (byteOffset) and leaves memory outside n alone', () => {
    const r = rng(3);
    const buf = randn(r, 64);
    const x = buf.subarray(5, 40);
    const outBuf = new Float32Array(64).fill(7);
    const out = outBuf.subarray(9, 60);
    native.unary('exp', x, out, 30, 0, 0);
    for (let i = 0; i < 30; i++) assertClose([out[i]], [Math.fround(Math.exp(x[i]))], 2e-6, 0, `exp view ${i}`);
    for (let i = 0; i < 64; i++) if (i < 9 || i >= 39) assert.equal(outBuf[i], 7, `outside write at ${i}`);
  });

  test('float64 arrays are delegated to js (exact equality)', () => {
    const x = Float64Array.from([0.1, -2, 3.5, 1e-3]);
    const a = new Float64Array(4), b = new Float64Array(4);
    native.unary('gelu', x, a, 4);
    js.unary('gelu', x, b, 4);
    assert.deepEqual(a, b);
  });

  test('a too-short array throws instead of writing past its end', () => {
    assert.throws(() => native.unary('exp', new Float32Array(3), new Float32Array(2), 3), RangeError);
  });
});

const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'];

interface BinCase { shape: number[]; a: { size: number; strides: number[] }; b: { size: number; strides: number[] } }

function contiguous(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { st[d] = s; s *= shape[d]; }
  return st;
}

const prod = (s: number[]): number => s.reduce((p, v) => p * v, 1);

const BIN_CASES: BinCase[] = [
  // same shape, contiguous
  ...SIZES.map((n) => ({ shape: [n], a: { size: n, strides: [1] }, b: { size: n, strides: [1] } })),
  // row broadcast [3,17] + [17], and column broadcast [17,1] · [1,3]
  { shape: [3, 17], a: { size: 51, strides: [17, 1] }, b: { size: 17, strides: [0, 1] } },
  { shape: [17, 3], a: { size: 17, strides: [1, 0] }, b: { size: 3, strides: [0, 1] } },
  // a transposed view: stored [3, 17], read as [17, 3]
  { shape: [17, 3], a: { size: 51, strides: [1, 17] }, b: { size: 51, strides: [3, 1] } },
  // scalars on either side
  { shape: [1000], a: { size: 1, strides: [0] }, b: { size: 1000, strides: [1] } },
  { shape: [2, 500], a: { size: 1000, strides: [500, 1] }, b: { size: 1, strides: [0, 0] } },
  // 4-D with a size-1 dimension and a middle broadcast
  { shape: [2, 3, 1, 7], a: { size: 42, strides: [21, 7, 7, 1] }, b: { size: 21, strides: [0, 7, 0, 1] } },
  { shape: [4, 3, 5, 7], a: { size: 420, strides: [105, 35, 7, 1] }, b: { size: 21, strides: [0, 7, 0, 1] } },
  // large enough for threads: bias broadcast over rows, and a transposed operand
  { shape: [300, 257], a: { size: 300 * 257, strides: [257, 1] }, b: { size: 257, strides: [0, 1] } },
  { shape: [257, 300], a: { size: 300 * 257, strides: [1, 257] }, b: { size: 300, strides: [0, 1] } },
  { shape: [70001, 1], a: { size: 70001, strides: [1, 1] }, b: { size: 70001, strides: [1, 0] } },
];

describe('native binary', { skip }, () => {
  for (const op of BINARY_OPS) {
    test(op, () => {
      const r = rng(21);
      for (const c of BIN_CASES) {
        const a = op === 'pow' ? new Float32Array(c.a.size).map(() => 3 * r()) : randn(r, c.a.size);
        const b = op === 'pow' ? randn(r, c.b.size, 1.5) : randn(r, c.b.size);
        for (let i = 0; i < Math.min(c.a.size, 4); i++) a[i] = [NaN, Infinity, -0, 2][i];
        for (let i = 0; i < Math.min(c.b.size, 5); i++) b[(i * 7) % c.b.size] = [1, NaN, -Infinity, 0, 3][i];
        const n = prod(c.shape);
        const oj = new Float32Array(n), on = new Float32Array(n);
        js.binary(op, a, c.a.strides, b, c.b.strides, oj, c.shape);
        native.binary(op, a, c.a.strides, b, c.b.strides, on, c.shape);
        assertClose(on, oj, op === 'pow' ? 2e-6 : 0, 0, `${op} shape [${c.shape}]`);
      }
    });
  }
});

describe('native copyStrided', { skip }, () => {
  const cases: { shape: number[]; strides: number[]; offset: number; size: number }[] = [
    { shape: [1], strides: [1], offset: 0, size: 1 },
    { shape: [17, 3], strides: [1, 17], offset: 0, size: 51 },             // transpose
    { shape: [3, 5], strides: [20, 2], offset: 3, size: 60 },              // slice with a step and an offset
    { shape: [2, 3, 4], strides: [1, 8, 2], offset: 0, size: 24 },         // permute
    { shape: [4, 1, 6], strides: [6, 99, 1], offset: 0, size: 24 },        // size-1 dim with any stride
    { shape: [3, 4], strides: [0, 1], offset: 2, size: 6 },                // expand
    { shape: [300, 257], strides: [1, 300], offset: 0, size: 300 * 257 },  // large transpose (threads)
    { shape: [3, 40, 50], strides: [2000, 1, 40], offset: 0, size: 6000 },   // batched transpose
    { shape: [5, 33, 9], strides: [297, 1, 33], offset: 1, size: 1486 },     // odd sizes, offset
    { shape: [2, 70, 3, 40], strides: [8400, 1, 2800, 70], offset: 0, size: 16800 }, // transpose under a permute
    { shape: [2, 0, 3], strides: [3, 3, 1], offset: 0, size: 6 },          // empty
    { shape: [], strides: [], offset: 4, size: 5 },                        // 0-d
  ];
  const makers: [string, (n: number, r: () => number) => AnyArray][] = [
    ['Float32Array', (n, r) => randn(r, n)],
    ['Float64Array', (n, r) => Float64Array.from(randn(r, n))],
    ['Int32Array', (n, r) => randInt(r, n, 1 << 30)],
    ['Uint16Array', (n, r) => Uint16Array.from(randInt(r, n, 65536))],
  ];
  for (const [name, make] of makers) {
    test(name, () => {
      const r = rng(5);
      for (const c of cases) {
        const src = make(c.size, r);
        const n = prod(c.shape);
        const Ctor = src.constructor as new (n: number) => AnyArray;
        const oj = new Ctor(n), on = new Ctor(n);
        js.copyStrided(src, c.offset, c.shape, c.strides, oj);
        native.copyStrided(src, c.offset, c.shape, c.strides, on);
        assert.deepEqual(on, oj, `${name} shape [${c.shape}] strides [${c.strides}]`);
      }
    });
  }
});

// ---- reductions ------------------------------------------------------------------------------------

describe('native reduce', { skip }, () => {
  const dims: [number, number, number][] = [
    [1, 1, 1], [3, 17, 1], [1, 1000, 1], [1, 70001, 1], [2, 50001, 1], [5, 3, 17], [2, 17, 1000], [17, 1, 3],
    [4, 0, 3], [300, 257, 1], [1, 257, 300], [3, 2, 1500],
    // tall column sums (bias gradients): row chunks of 256, the last one partial
    [1, 2048, 384], [1, 700, 1153],
  ];
  for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
    test(op, () => {
      const r = rng(8);
      for (const [outer, len, inner] of dims) {
        const x = randn(r, outer * len * inner);
        // ties (first index must win), infinities, and one NaN column / row
        if (x.length > 40) { x[3] = x[20] = 9; x[7] = -Infinity; x[11] = Infinity; }
        if (op !== 'sum' && x.length > 100) x[90] = NaN;
        const oj = new Float32Array(outer * inner), on = new Float32Array(outer * inner);
        const aj = new Int32Array(outer * inner), an = new Int32Array(outer * inner);
        js.reduce(op, x, oj, outer, len, inner, op === 'sum' ? undefined : aj);
        native.reduce(op, x, on, outer, len, inner, op === 'sum' ? undefined : an);
        // js sums in float64 then rounds; native sums in float64 lanes: equal up to float rounding.
        assertClose(on, oj, op === 'sum' ? 1e-6 : 0, op === 'sum' ? 1e-6 : 0, `${op} [${outer},${len},${inner}]`);
        if (op !== 'sum') assert.deepEqual(an, aj, `arg${op} [${outer},${len},${inner}]`);
      }
    });
  }

  test('sumSquares', () => {
    const r = rng(9);
    for (const n of [0, 1, 3, 17, 1000, 300001]) {
      const x = randn(r, n + 5);
      const e = js.sumSquares(x, n), a = native.sumSquares(x, n);
      assert.ok(Math.abs(a - e) <= 1e-12 * Math.abs(e), `sumSquares n=${n}: native ${a}, js ${e}`);
    }
  });
});

// ---- matmul -----------------------------------------------------------------------------------------

describe('native matmul', { skip }, () => {
  interface MM { batch: number; m: number; n: number; k: number; ta: boolean; tb: boolean; aB: 'full' | 'bcast'; bB: 'full' | 'bcast'; alpha: number; beta: number }
  const cases: MM[] = [
    { batch: 1, m: 1, n: 1, k: 1, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 17, n: 3, k: 1000, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 17, n: 3, k: 1000, ta: true, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 17, n: 3, k: 1000, ta: false, tb: true, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 3, n: 1001, k: 17, ta: true, tb: true, aB: 'full', bB: 'full', alpha: 0.5, beta: 1 },
    { batch: 3, m: 5, n: 7, k: 9, ta: false, tb: false, aB: 'full', bB: 'bcast', alpha: 1, beta: 0 },   // Linear on [B,T,C]
    { batch: 4, m: 5, n: 7, k: 9, ta: false, tb: true, aB: 'full', bB: 'bcast', alpha: 1, beta: 0 },
    { batch: 4, m: 5, n: 7, k: 9, ta: true, tb: false, aB: 'bcast', bB: 'full', alpha: 1, beta: 0 },
    { batch: 48, m: 33, n: 31, k: 16, ta: false, tb: true, aB: 'full', bB: 'full', alpha: 0.25, beta: 0 }, // heads, threads
    { batch: 6, m: 20, n: 20, k: 20, ta: true, tb: true, aB: 'full', bB: 'full', alpha: 1, beta: -2 },
    { batch: 2, m: 129, n: 257, k: 200, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 300, n: 200, k: 100, ta: true, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 1 },   // dW += x^T g
    // large enough to be split across threads by rows / by columns, with every transpose
    { batch: 1, m: 301, n: 100, k: 64, ta: true, tb: true, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 301, n: 100, k: 64, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 1, m: 100, n: 333, k: 50, ta: true, tb: true, aB: 'full', bB: 'full', alpha: 2, beta: 0.5 },
    { batch: 1, m: 100, n: 333, k: 50, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 3, m: 64, n: 200, k: 70, ta: false, tb: true, aB: 'full', bB: 'full', alpha: 1, beta: 0 },
    { batch: 2, m: 4, n: 5, k: 0, ta: false, tb: false, aB: 'full', bB: 'full', alpha: 1, beta: 0.5 },
  ];
  test('random shapes, transposes, broadcast batches, alpha/beta', () => {
    const r = rng(13);
    for (const c of cases) {
      const aSize = c.m * c.k, bSize = c.k * c.n;
      const aStride = c.aB === 'bcast' ? 0 : aSize, bStride = c.bB === 'bcast' ? 0 : bSize;
      const a = randn(r, Math.max(1, c.aB === 'bcast' ? aSize : c.batch * aSize));
      const b = randn(r, Math.max(1, c.bB === 'bcast' ? bSize : c.batch * bSize));
      const c0 = randn(r, c.batch * c.m * c.n);
      if (c.beta === 0) c0.fill(NaN);  // beta = 0 must ignore C's old contents
      const cj = c0.slice(), cn = c0.slice();
      js.matmul(a, b, cj, c.batch, c.m, c.n, c.k, c.ta, c.tb, aStride, bStride, c.alpha, c.beta);
      native.matmul(a, b, cn, c.batch, c.m, c.n, c.k, c.ta, c.tb, aStride, bStride, c.alpha, c.beta);
      // float32 accumulation vs js's float64: error grows like sqrt(k).
      assertClose(cn, cj, 1e-5, 2e-6 * Math.sqrt(c.k + 1) * 4, `matmul ${JSON.stringify(c)}`);
    }
  });
});

describe('native matmul, few rows against a transposed B (skinny-gemm.cc: m <= 4, n·k >= 16384)', { skip }, () => {
  // [m, n, k]: k with and without a tail of k % 16, n with and without a remainder of n % 4, one
  // thread and split across the pool (n·k >= 2^18), and the smallest B that takes the path.
  const shapes: Array<[number, number]> = [[17, 1000], [1000, 17], [4097, 4], [5, 4000], [16, 1024], [8000, 256], [1023, 257], [128, 128], [1, 16384]];
  test('equals a float64 product and the same rows of a 5-row (cblas_sgemm) product; alpha, beta, batches', () => {
    const r = rng(29);
    for (const [n, k] of shapes) {
      const b = randn(r, n * k);
      const a5 = randn(r, 5 * k);
      // Rows 0..m-1 of the 5-row product come from cblas_sgemm (m = 5 is above the few-row limit).
      const general = new Float32Array(5 * n);
      native.matmul(a5, b, general, 1, 5, n, k, false, true, 0, 0, 1, 0);
      for (let m = 1; m <= 4; m++) {
        const a = a5.subarray(0, m * k);
        for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25]]) {
          const c0 = randn(r, m * n);
          if (beta === 0) c0.fill(NaN); // beta = 0 must ignore C's old contents
          const cj = c0.slice(), cn = c0.slice();
          js.matmul(a, b, cj, 1, m, n, k, false, true, 0, 0, alpha, beta);
          native.matmul(a, b, cn, 1, m, n, k, false, true, 0, 0, alpha, beta);
          // float32 sums in 16 lanes vs js's float64: error grows like sqrt(k) (as above).
          const tol = 2e-6 * Math.sqrt(k + 1) * 4 * Math.abs(alpha);
          assertClose(cn, cj, 1e-5, tol, `m ${m} n ${n} k ${k} alpha ${alpha} beta ${beta}`);
          if (alpha === 1 && beta === 0) assertClose(cn, general.subarray(0, m * n), 1e-5, tol, `m ${m} n ${n} k ${k} vs sgemm`);
        }
      }
    }
  });
  test('a Linear on [2, 2, k] (shared B, batch folded into 4 rows) and batches of separate Bs', () => {
    const r = rng(31);
    const n = 300, k = 70;
    const a = randn(r, 4 * k), b = randn(r, 2 * n * k);
    const cj = new Float32Array(4 * n), cn = new Float32Array(4 * n);
    js.matmul(a, b, cj, 2, 2, n, k, false, true, 2 * k, 0, 1, 0);
    native.matmul(a, b, cn, 2, 2, n, k, false, true, 2 * k, 0, 1, 0);
    assertClose(cn, cj, 1e-5, 2e-6 * Math.sqrt(k + 1) * 4, 'shared B');
    js.matmul(a, b, cj, 2, 2, n, k, false, true, 2 * k, n * k, 1, 0);
    native.matmul(a, b, cn, 2, 2, n, k, false, true, 2 * k, n * k, 1, 0);
    assertClose(cn, cj, 1e-5, 2e-6 * Math.sqrt(k + 1) * 4, 'one B per batch');
  });
  test('special values: NaN and infinities in A or B reach exactly the outputs they touch', () => {
    const n = 200, k = 100, m = 3;
    const a = new Float32Array(m * k).fill(1), b = new Float32Array(n * k).fill(0.5);
    a[k + 7] = NaN;       // row 1 of C all NaN
    b[5 * k + 99] = Infinity; // column 5 of C +inf (rows 0, 2), NaN in row 1
    const cn = new Float32Array(m * n), cj = new Float32Array(m * n);
    native.matmul(a, b, cn, 1, m, n, k, false, true, 0, 0, 1, 0);
    js.matmul(a, b, cj, 1, m, n, k, false, true, 0, 0, 1, 0);
    assertClose(cn, cj, 0, 0, 'special values');
    assert.equal(cn[3], 50);
  });
});

// ---- row kernels ----------------------------------------------------------------------------------

describe('native softmax / layerNorm', { skip }, () => {
  const shapes: [number, number][] = [[1, 1], [3, 17], [17, 3], [5, 1000], [1, 50257], [400, 257]];
  for (const log of [false, true]) {
    test(log ? 'logSoftmax forward and backward' : 'softmax forward and backward', () => {
      const r = rng(17);
      for (const [rows, cols] of shapes) {
        const x = randn(r, rows * cols, 4);
        if (cols >= 3 && rows >= 3) {
          x[1] = -Infinity;                                  // masked entry: probability 0
          for (let j = 0; j < cols; j++) x[cols + j] = -Infinity;  // an all -inf row: NaN
          x[2 * cols + 1] = NaN;                             // NaN row
        }
        const yj = new Float32Array(rows * cols), yn = new Float32Array(rows * cols);
        js.softmax(x, yj, rows, cols, log);
        native.softmax(x, yn, rows, cols, log);
        assertClose(yn, yj, 2e-6, log ? 2e-6 : 1e-9, `softmax log=${log} [${rows},${cols}]`);
        const g = randn(r, rows * cols);
        const dj = new Float32Array(rows * cols), dn = new Float32Array(rows * cols);
        js.softmaxBackward(yj, g, dj, rows, cols, log);
        native.softmaxBackward(yj, g, dn, rows, cols, log);
        assertClose(dn, dj, 1e-5, 1e-6, `softmaxBackward log=${log} [${rows},${cols}]`);
      }
    });
  }

  test('layerNorm forward and backward, with and without affine parameters', () => {
    const r = rng(19);
    for (const [rows, cols] of [[1, 1], [3, 17], [5, 1000], [17, 3], [512, 768]] as [number, number][]) {
      for (const affine of [true, false]) {
        const x = randn(r, rows * cols, 2, 5);  // mean far from 0: the two-pass variance matters
        const w = affine ? randn(r, cols, 0.5, 1) : null, b = affine ? randn(r, cols) : null;
        const oj = new Float32Array(rows * cols), on = new Float32Array(rows * cols);
        const mj = new Float32Array(rows), mn = new Float32Array(rows), rj = new Float32Array(rows), rn = new Float32Array(rows);
        js.layerNorm(x, w, b, oj, mj, rj, rows, cols, 1e-5);
        native.layerNorm(x, w, b, on, mn, rn, rows, cols, 1e-5);
        assertClose(on, oj, 2e-5, 2e-5, `layerNorm out [${rows},${cols}]`);
        assertClose(mn, mj, 1e-6, 1e-6, `layerNorm mean [${rows},${cols}]`);
        assertClose(rn, rj, 1e-5, 0, `layerNorm rstd [${rows},${cols}]`);
        const g = randn(r, rows * cols);
        const dxj = new Float32Array(rows * cols), dxn = new Float32Array(rows * cols);
        // dw, db accumulate: start from the same nonzero values
        const dw0 = affine ? randn(r, cols) : null, db0 = affine ? randn(r, cols) : null;
        const dwj = dw0?.slice() ?? null, dwn = dw0?.slice() ?? null, dbj = db0?.slice() ?? null, dbn = db0?.slice() ?? null;
        js.layerNormBackward(x, w, mj, rj, g, dxj, dwj, dbj, rows, cols);
        native.layerNormBackward(x, w, mj, rj, g, dxn, dwn, dbn, rows, cols);
        assertClose(dxn, dxj, 1e-4, 1e-5, `layerNormBackward dx [${rows},${cols}]`);
        if (dwj && dwn) assertClose(dwn, dwj, 1e-4, 1e-4 * Math.sqrt(rows), `layerNormBackward dw [${rows},${cols}]`);
        if (dbj && dbn) assertClose(dbn, dbj, 1e-4, 1e-4 * Math.sqrt(rows), `layerNormBackward db [${rows},${cols}]`);
      }
    }
  });
});

// ---- index kernels --------------------------------------------------------------------------------

describe('native crossEntropy (fused log-softmax + NLL)', { skip }, () => {
  test('forward and backward against js: weights, smoothing, ignored rows, the lse gradient, -inf / NaN / +inf rows', () => {
    const r = rng(23);
    for (const [rows, C] of [[1, 1], [3, 17], [17, 3], [64, 1000], [4, 50257]] as [number, number][]) {
      for (const [weighted, eps, withLse] of [[false, 0, false], [true, 0.1, true], [false, 0.2, true], [true, 0, false]] as [boolean, number, boolean][]) {
        const x = randn(r, rows * C, 4);
        if (rows >= 3 && C >= 3) {
          x[1] = -Infinity;                               // a masked class
          for (let j = 0; j < C; j++) x[C + j] = -Infinity; // an all -inf row
          x[2 * C + 1] = NaN;                             // a NaN row
        }
        const target = Int32Array.from({ length: rows }, (_, i) => (i % 4 === 3 ? -100 : Math.floor(r() * C)));
        const w = weighted ? new Float32Array(C).map(() => 0.5 + r()) : null;
        const outs = [js, native].map((be) => {
          const loss = new Float32Array(rows), lse = new Float32Array(rows), wy = new Float32Array(rows);
          const mx = new Float32Array(rows), ls = new Float32Array(rows);
          be.crossEntropy(x, target, w, loss, lse, wy, mx, ls, rows, C, -100, eps);
          return { loss, lse, wy, mx, ls };
        });
        const what = `[${rows},${C}] weighted=${weighted} eps=${eps}`;
        assertClose(outs[1].loss, outs[0].loss, 1e-5, 1e-5, `loss ${what}`);
        assertClose(outs[1].lse, outs[0].lse, 1e-6, 1e-6, `lse ${what}`);
        assertClose(outs[1].wy, outs[0].wy, 0, 0, `wy ${what}`);
        assertClose(outs[1].mx, outs[0].mx, 0, 0, `rowMax ${what}`);
        assertClose(outs[1].ls, outs[0].ls, 1e-6, 1e-6, `logSum ${what}`);
        const gl = randn(r, rows), gz = withLse ? randn(r, rows) : null;
        const dj = new Float32Array(rows * C), dn = new Float32Array(rows * C);
        js.crossEntropyBackward(x, target, w, outs[0].mx, outs[0].ls, gl, gz, dj, rows, C, -100, eps);
        native.crossEntropyBackward(x, target, w, outs[0].mx, outs[0].ls, gl, gz, dn, rows, C, -100, eps);
        assertClose(dn, dj, 1e-5, 1e-6, `backward ${what}`);
      }
    }
  });
});

describe('native gather / scatter / embedding', { skip }, () => {
  const dims: [number, number, number, number][] = [
    [1, 1, 1, 1], [3, 17, 1, 5], [2, 5, 17, 3], [1, 50, 1000, 60], [4, 1000, 3, 2000], [1, 7, 70001, 1],
  ];
  test('gather and scatterAdd (repeated indices accumulate)', () => {
    const r = rng(23);
    for (const [outer, len, inner, idxLen] of dims) {
      const x = randn(r, outer * len * inner);
      const idx = randInt(r, outer * idxLen * inner, len);
      const oj = new Float32Array(outer * idxLen * inner), on = new Float32Array(outer * idxLen * inner);
      js.gather(x, idx, oj, outer, len, inner, idxLen);
      native.gather(x, idx, on, outer, len, inner, idxLen);
      assert.deepEqual(on, oj, `gather [${outer},${len},${inner}] idxLen ${idxLen}`);
      const src = randn(r, outer * idxLen * inner);
      const base = randn(r, outer * len * inner);
      const sj = base.slice(), sn = base.slice();
      js.scatterAdd(sj, idx, src, outer, len, inner, idxLen);
      native.scatterAdd(sn, idx, src, outer, len, inner, idxLen);
      assertClose(sn, sj, 0, 0, `scatterAdd [${outer},${len},${inner}] idxLen ${idxLen}`);
    }
  });

  test('indexSelect and indexAdd (embedding lookup and backward)', () => {
    const r = rng(29);
    for (const [vocab, cols, n] of [[1, 1, 1], [5, 3, 17], [65, 128, 2048], [1000, 768, 512], [50, 17, 3]]) {
      const table = randn(r, vocab * cols);
      const idx = randInt(r, n, vocab);
      const oj = new Float32Array(n * cols), on = new Float32Array(n * cols);
      js.indexSelect(table, idx, oj, n, cols);
      native.indexSelect(table, idx, on, n, cols);
      assert.deepEqual(on, oj, `indexSelect vocab ${vocab} cols ${cols} n ${n}`);
      const g = randn(r, n * cols);
      const dj = table.slice(), dn = table.slice();
      js.indexAdd(dj, idx, g, n, cols);
      native.indexAdd(dn, idx, g, n, cols);
      // same order of additions per element: bit-identical
      assert.deepEqual(dn, dj, `indexAdd vocab ${vocab} cols ${cols} n ${n}`);
    }
  });
});

// ---- optimiser ------------------------------------------------------------------------------------

describe('native adamw', { skip }, () => {
  test('three steps match js, with and without weight decay, with and without a gradient scale (clipping)', () => {
    const r = rng(31);
    for (const n of [1, 3, 17, 1000, 100003]) {
      for (const [wd, gradScale] of [[0, 1], [0.1, 1], [0.1, 0.37]]) {
        const p0 = randn(r, n), m0 = new Float32Array(n), v0 = new Float32Array(n);
        const pj = p0.slice(), mj = m0.slice(), vj = v0.slice(), pn = p0.slice(), mn = m0.slice(), vn = v0.slice();
        const lr = 3e-4, b1 = 0.9, b2 = 0.95, eps = 1e-8;
        for (let step = 1; step <= 3; step++) {
          const g = randn(r, n, 0.1);
          const bc1 = 1 - b1 ** step, bc2 = 1 - b2 ** step;
          js.adamw(pj, g, mj, vj, n, lr, b1, b2, eps, wd, bc1, bc2, gradScale);
          native.adamw(pn, g, mn, vn, n, lr, b1, b2, eps, wd, bc1, bc2, gradScale);
        }
        // m is a sum of ~0.1-sized terms that can cancel: absolute tolerance at float32 rounding of
        // those terms; v has no cancellation (all terms >= 0).
        assertClose(mn, mj, 1e-6, 1e-8, `adamw m n=${n} wd=${wd} gradScale=${gradScale}`);
        assertClose(vn, vj, 1e-6, 1e-12, `adamw v n=${n} wd=${wd} gradScale=${gradScale}`);
        // the parameter moves by ~lr per step; compare the update to lr-sized tolerance
        assertClose(pn, pj, 1e-6, 1e-9, `adamw p n=${n} wd=${wd} gradScale=${gradScale}`);
      }
    }
  });
});

// ---- attention ------------------------------------------------------------------------------------

describe('native attention', { skip }, () => {
  const cases: [number, number, number, number, boolean][] = [
    // bh, t, s, d, causal
    [1, 1, 1, 1, true], [2, 3, 3, 8, true], [3, 17, 17, 16, true], [2, 17, 17, 16, false], [2, 70, 130, 8, true],
    [2, 130, 70, 8, true] /* s < t: the first rows see no key (out 0, lse -inf) */, [1, 5, 200, 3, false],
    [12, 128, 128, 64, true], [3, 65, 64, 33, false],
  ];
  test('forward (out, lse) and backward (dq, dk, dv) match js', () => {
    const r = rng(37);
    for (const [bh, t, s, d, causal] of cases) {
      const q = randn(r, bh * t * d), k = randn(r, bh * s * d), v = randn(r, bh * s * d);
      const scale = 1 / Math.sqrt(d);
      const oj = new Float32Array(bh * t * d), on = new Float32Array(bh * t * d);
      const lj = new Float32Array(bh * t), ln = new Float32Array(bh * t);
      js.attention(q, k, v, oj, lj, null, null, null, bh, t, s, d, 1, scale, causal, 0);
      native.attention(q, k, v, on, ln, null, null, null, bh, t, s, d, 1, scale, causal, 0);
      const what = `attention bh=${bh} t=${t} s=${s} d=${d} causal=${causal}`;
      assertClose(on, oj, 1e-4, 2e-5, `${what} out`);
      assertClose(ln, lj, 1e-5, 2e-5, `${what} lse`);
      const g = randn(r, bh * t * d);
      const dqj = new Float32Array(bh * t * d), dkj = new Float32Array(bh * s * d), dvj = new Float32Array(bh * s * d);
      // native must overwrite, not accumulate: start from garbage
      const dqn = new Float32Array(bh * t * d).fill(5), dkn = new Float32Array(bh * s * d).fill(5), dvn = new Float32Array(bh * s * d).fill(5);
      js.attentionBackward(q, k, v, oj, lj, g, dqj, dkj, dvj, null, null, null, bh, t, s, d, 1, scale, causal, 0);
      native.attentionBackward(q, k, v, oj, lj, g, dqn, dkn, dvn, null, null, null, bh, t, s, d, 1, scale, causal, 0);
      assertClose(dqn, dqj, 1e-4, 5e-5, `${what} dq`);
      assertClose(dkn, dkj, 1e-4, 5e-5, `${what} dk`);
      assertClose(dvn, dvj, 1e-4, 5e-5, `${what} dv`);
    }
  });
});

describe('native kernels on subarray views (nonzero, unaligned byteOffset)', { skip }, () => {
  /** A view of n elements at offset 3 inside a larger buffer filled with sentinel values. */
  function view(src: Float32Array): Float32Array {
    const buf = new Float32Array(src.length + 7).fill(-12345);
    const v = buf.subarray(3, 3 + src.length);
    v.set(src);
    return v;
  }
  test('matmul, softmax, layerNorm, attention, adamw, reduce read and write through views', () => {
    const r = rng(41);
    const m = 37, n = 45, k = 29;
    const a = randn(r, m * k), b = randn(r, k * n);
    const cj = new Float32Array(m * n), cn = view(new Float32Array(m * n));
    js.matmul(a, b, cj, 1, m, n, k, false, false, 0, 0, 1, 0);
    native.matmul(view(a), view(b), cn, 1, m, n, k, false, false, 0, 0, 1, 0);
    assertClose(cn, cj, 1e-5, 1e-5, 'matmul view');
    assert.equal((cn.buffer as unknown as ArrayBuffer).byteLength, (m * n + 7) * 4);
    assert.equal(new Float32Array(cn.buffer)[2], -12345, 'matmul wrote before its view');
    assert.equal(new Float32Array(cn.buffer)[3 + m * n], -12345, 'matmul wrote after its view');

    const x = randn(r, m * n, 3);
    const sj = new Float32Array(m * n), sn = view(new Float32Array(m * n));
    js.softmax(x, sj, m, n, true);
    native.softmax(view(x), sn, m, n, true);
    assertClose(sn, sj, 2e-6, 2e-6, 'logSoftmax view');

    const w = randn(r, n), bias = randn(r, n);
    const oj = new Float32Array(m * n), on = view(new Float32Array(m * n));
    const mj = new Float32Array(m), rj = new Float32Array(m), mn = view(new Float32Array(m)), rn = view(new Float32Array(m));
    js.layerNorm(x, w, bias, oj, mj, rj, m, n, 1e-5);
    native.layerNorm(view(x), view(w), view(bias), on, mn, rn, m, n, 1e-5);
    assertClose(on, oj, 2e-5, 2e-5, 'layerNorm view');

    const bh = 2, t = 19, d = 24;
    const q = randn(r, bh * t * d), kk = randn(r, bh * t * d), v = randn(r, bh * t * d);
    const aoj = new Float32Array(bh * t * d), aon = view(new Float32Array(bh * t * d));
    const lj = new Float32Array(bh * t), ln = view(new Float32Array(bh * t));
    js.attention(q, kk, v, aoj, lj, null, null, null, bh, t, t, d, 1, 0.2, true, 0);
    native.attention(view(q), view(kk), view(v), aon, ln, null, null, null, bh, t, t, d, 1, 0.2, true, 0);
    assertClose(aon, aoj, 1e-4, 2e-5, 'attention view');

    const p = randn(r, 1001), g = randn(r, 1001);
    const pj = p.slice(), mj2 = new Float32Array(1001), vj = new Float32Array(1001);
    const pn = view(p), mn2 = view(new Float32Array(1001)), vn = view(new Float32Array(1001));
    js.adamw(pj, g, mj2, vj, 1001, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001, 1);
    native.adamw(pn, view(g), mn2, vn, 1001, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001, 1);
    assertClose(pn, pj, 1e-6, 1e-9, 'adamw view');

    const rsj = new Float32Array(n), rsn = view(new Float32Array(n));
    js.reduce('sum', x, rsj, 1, m, n);
    native.reduce('sum', view(x), rsn, 1, m, n);
    assertClose(rsn, rsj, 1e-6, 1e-6, 'reduce view');
  });
});

describe('native addon', { skip }, () => {
  test('reports its threads and the OpenBLAS it loaded', () => {
    const addon = loadNativeAddon();
    assert.ok(addon);
    assert.ok(addon.numThreads() >= 1);
    const info = addon.blasInfo();
    assert.match(info.config, /OpenBLAS/);
    assert.ok(info.threads >= 1);
  });

  test('resizing the thread pool between kernels neither hangs nor changes results', { timeout: HANG_GUARD_MS }, () => {
    const addon = loadNativeAddon()!;
    const prev = addon.numThreads();
    const x = randn(rng(43), 200003);
    const want = new Float32Array(x.length);
    js.unary('sigmoid', x, want, x.length);
    try {
      for (let i = 0; i < 30; i++) {
        addon.setNumThreads(1 + (i % 4));
        assert.equal(addon.numThreads(), 1 + (i % 4));
        const got = new Float32Array(x.length);
        native.unary('sigmoid', x, got, x.length);
        assertClose(got, want, 2e-6, 1e-30, `sigmoid with ${1 + (i % 4)} threads`);
      }
    } finally {
      addon.setNumThreads(prev);
    }
  });
});
