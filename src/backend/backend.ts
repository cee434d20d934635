/**
 * The kernel interface every backend implements (DESIGN.md "Tensors, ops and backends").
 *
 * Kernels work on contiguous typed arrays (row-major). The tensor layer resolves views, broadcasting
 * and autograd; kernels only compute. Float kernels accept `Float32Array` (the compute dtype) and
 * `Float64Array` (used by the `js` backend for float64 finite-difference gradient checks); a backend
 * that has no float64 path may delegate those calls to the `js` backend.
 *
 * Arrays passed in may be `subarray` views of larger buffers; kernels index from 0 and never assume
 * the array length equals the logical size (use the explicit sizes).
 */
export type FloatArray = Float32Array | Float64Array;
export type IndexArray = Int32Array;
export type AnyArray = Float32Array | Float64Array | Int32Array | Uint16Array;

/**
 * Elementwise unary maps. `p0`, `p1` carry parameters where an op needs them. Backends compute
 * functions only; derivative rules live in the op layer (src/tensor/ops), which uses the two
 * derivative functions below for the GELUs (too many passes to compose from other maps).
 */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid'
  | 'relu' | 'gelu' /* erf form */ | 'geluTanh' | 'silu' | 'square' | 'reciprocal'
  | 'powScalar' /* x^p0 */ | 'clamp' /* min p0, max p1 (NaN bound = none) */
  | 'addScalar' /* x + p0 */ | 'mulScalar' /* x * p0 */ | 'rsubScalar' /* p0 - x */
  | 'heaviside' /* 1 for x > 0, p0 at x = 0, 0 for x < 0 and NaN (torch.heaviside) */
  | 'geluDerivative' /* d gelu(x)/dx = Φ(x) + x·φ(x) (erf form) */
  | 'geluTanhDerivative' /* d geluTanh(x)/dx */;

/** Elementwise binary maps with broadcasting by strides. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';

export type ReduceOp = 'sum' | 'max' | 'min';

/** The 16-bit operand formats of mixed precision (src/amp). */
export type LowpDtype = 'bfloat16' | 'float16';
/** A low-precision operand: float32 values (rounded by the kernel) or 16-bit patterns of the LowpDtype. */
export type LowpArray = Float32Array | Uint16Array;

export interface Backend {
  readonly name: 'js' | 'native';

  /** out[i] = op(x[i]) for i < n. */
  unary(op: UnaryOp, x: FloatArray, out: FloatArray, n: number, p0?: number, p1?: number): void;

  /**
   * out[idx] = op(a[aOff(idx)], b[bOff(idx)]) over `shape` (row-major, out contiguous); the operand
   * offsets come from element strides (0 on broadcast dimensions).
   */
  binary(op: BinaryOp, a: FloatArray, aStrides: readonly number[], b: FloatArray, bStrides: readonly number[],
    out: FloatArray, shape: readonly number[]): void;

  /** Gathers a strided view into the contiguous `out` (`shape` row-major). Works on any array type. */
  copyStrided(src: AnyArray, srcOffset: number, shape: readonly number[], strides: readonly number[], out: AnyArray): void;

  /**
   * Reduces the middle axis of x viewed as [outer, len, inner] into out [outer, inner]. For max/min,
   * `argOut` (if given) receives the index along `len` of the first extreme value; NaN propagates.
   */
  reduce(op: ReduceOp, x: FloatArray, out: FloatArray, outer: number, len: number, inner: number, argOut?: Int32Array): void;

  /**
   * Batched GEMM: for each batch i, C_i = alpha * op(A_i) @ op(B_i) + beta * C_i, with op(A_i) [m, k],
   * op(B_i) [k, n], C_i [m, n] contiguous. A_i starts at i*aBatchStride (row-major [m,k], or [k,m]
   * when transA), likewise B_i; a batch stride of 0 broadcasts that operand. C_i starts at i*m*n.
   * beta = 0 must ignore C's old contents (even NaN).
   */
  matmul(a: FloatArray, b: FloatArray, c: FloatArray, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void;

  /**
   * Mixed-precision batched GEMM, as `matmul` but every operand element is first rounded to `dtype`
   * (round to nearest even; a Uint16Array operand already holds `dtype` bit patterns), products are
   * exact and sums float32 (or wider). The js backend rounds copies of the operands and runs its
   * float32 product: that is the reference. The native one runs bfloat16 on the CPU's bf16
   * dot-product instructions (oneDNN or its own kernel), and emulates (rounds, then float32
   * products) where the CPU lacks them and for float16.
   */
  matmulLowp(dtype: LowpDtype, a: LowpArray, b: LowpArray, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void;
  /** out[i] = `dtype` bits of x[i] (round to nearest even, NaN stays NaN, overflow → ±inf), i < n. */
  castToLowp(dtype: LowpDtype, x: Float32Array, out: Uint16Array, n: number): void;
  /** out[i] = float32 value of the `dtype` bits x[i] (exact), i < n. */
  castFromLowp(dtype: LowpDtype, x: Uint16Array, out: Float32Array, n: number): void;

  /** Row-wise softmax (or log-softmax when `log`) of x [rows, cols]; -inf entries get probability 0, a row of all -inf gives NaN. */
  softmax(x: FloatArray, out: FloatArray, rows: number, cols: number, log: boolean): void;
  /** Backward of row-wise softmax/log-softmax from its output y and upstream g. */
  softmaxBackward(y: FloatArray, g: FloatArray, dx: FloatArray, rows: number, cols: number, log: boolean): void;

  /**
   * Fused log-softmax + NLL over rows of x [rows, C] against class ids `target` [rows] (class
   * weights [C] or null, label smoothing ε): writes per row the loss, the log-sum-exp and the
   * counted weight w[y] (0 where target = ignoreIndex), and for backward the row max and log Σ exp(x − max).
   * Formulas: src/backend/js/cross-entropy.ts.
   */
  crossEntropy(x: FloatArray, target: Int32Array, weight: FloatArray | null, loss: FloatArray, lse: FloatArray,
    wy: FloatArray, rowMax: FloatArray, logSum: FloatArray, rows: number, cols: number, ignoreIndex: number, labelSmoothing: number): void;
  /** Backward of crossEntropy from its rowMax / logSum and the upstream gradients of loss and (or null) lse: writes dx [rows, C]. */
  crossEntropyBackward(x: FloatArray, target: Int32Array, weight: FloatArray | null, rowMax: FloatArray, logSum: FloatArray, gLoss: FloatArray,
    gLse: FloatArray | null, dx: FloatArray, rows: number, cols: number, ignoreIndex: number, labelSmoothing: number): void;

  /**
   * LayerNorm over the last axis of x [rows, cols]: out = (x-mean)*rstd*w + b; also writes mean and
   * rstd [rows] (kept for backward). w, b may be null (identity affine).
   */
  layerNorm(x: FloatArray, w: FloatArray | null, b: FloatArray | null, out: FloatArray, mean: FloatArray, rstd: FloatArray,
    rows: number, cols: number, eps: number): void;
  /** Backward of layerNorm: writes dx; accumulates (+=) into dw, db when non-null. */
  layerNormBackward(x: FloatArray, w: FloatArray | null, mean: FloatArray, rstd: FloatArray, g: FloatArray,
    dx: FloatArray, dw: FloatArray | null, db: FloatArray | null, rows: number, cols: number): void;

  /**
   * Gathers along the middle axis: x [outer, len, inner], idx [outer, idxLen, inner] → out [outer, idxLen, inner].
   * Indices are assumed in range (the tensor layer validates).
   */
  gather(x: FloatArray, idx: Int32Array, out: FloatArray, outer: number, len: number, inner: number, idxLen: number): void;
  /** out [outer, len, inner] += src [outer, idxLen, inner] scattered by idx along the middle axis. */
  scatterAdd(out: FloatArray, idx: Int32Array, src: FloatArray, outer: number, len: number, inner: number, idxLen: number): void;
  /** Row lookup: out [n, cols] = table[idx[i]] (embedding). */
  indexSelect(table: FloatArray, idx: Int32Array, out: FloatArray, n: number, cols: number): void;
  /** Row accumulation: dTable[idx[i]] += g[i] for i < n (embedding backward). */
  indexAdd(dTable: FloatArray, idx: Int32Array, g: FloatArray, n: number, cols: number): void;

  /** sum of x[i]^2 for i < n, accumulated in float64. */
  sumSquares(x: FloatArray, n: number): number;

  /**
   * One AdamW step in place over n elements (PyTorch 1.13 semantics):
   * p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
   * where bc1 = 1 - b1^t, bc2 = 1 - b2^t.
   */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, b1: number, b2: number, eps: number, wd: number, bc1: number, bc2: number): void;

  /**
   * Causal (or full) scaled dot-product attention for `bh` independent heads:
   * q [bh, t, d], k, v [bh, s, d] → out [bh, t, d]; also writes the row log-sum-exp lse [bh, t] for
   * backward. Query i sees keys j ≤ i + (s - t) when causal.
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    bh: number, t: number, s: number, d: number, scale: number, causal: boolean): void;
  /** Backward of `attention`: writes dq, dk, dv from out, lse and upstream g. */
  attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array,
    bh: number, t: number, s: number, d: number, scale: number, causal: boolean): void;
}
