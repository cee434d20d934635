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

import { ENUMS, KERNELS, type ArgKind, type KernelName } from './spec.js';

/** Elementwise unary maps (spec.ts UNARY_OPS): p0/p1 carry parameters — powScalar x^p0, clamp [p0, p1]
 * (NaN bound = none), addScalar x + p0, mulScalar x·p0, rsubScalar p0 − x, heaviside (p0 at 0; 0 for
 * x < 0 and NaN, as torch.heaviside), geluDerivative / geluTanhDerivative the GELUs' derivatives (the
 * op layer's GELU backward: derivative rules live in src/tensor/ops, never in a backend). */
export type UnaryOp = (typeof ENUMS.unaryOp)[number];
/** Elementwise binary maps with broadcasting by strides. */
export type BinaryOp = (typeof ENUMS.binaryOp)[number];
export type ReduceOp = (typeof ENUMS.reduceOp)[number];
/** The 16-bit operand formats of mixed precision (src/amp). */
export type LowpDtype = (typeof ENUMS.lowpDtype)[number];
/** A low-precision operand: float32 values (rounded by the kernel) or 16-bit patterns of the LowpDtype. */
export type LowpArray = Float32Array | Uint16Array;

/** The TypeScript type of each argument kind of spec.ts. */
interface KindTypes {
  floats: FloatArray; 'floats?': FloatArray | null; f32: Float32Array; ints: Int32Array; 'ints?': Int32Array;
  any: AnyArray; dims: readonly number[]; lowp: LowpArray; u16: Uint16Array;
  int: number; int32: number; float: number; double: number; 'float?': number; bool: boolean;
  unaryOp: UnaryOp; binaryOp: BinaryOp; reduceOp: ReduceOp; lowpDtype: LowpDtype;
}
/** Kinds a caller may omit (they come last in their rows). */
type OptionalKind = 'ints?' | 'float?';
/** The parameter tuple of a spec row's arguments. */
type Params<A> = A extends readonly [readonly [string, infer K extends ArgKind, ...unknown[]], ...infer R]
  ? K extends OptionalKind ? [KindTypes[K]?, ...Params<R>] : [KindTypes[K], ...Params<R>]
  : [];
type Returns<S> = S extends { returns: 'double' } ? number : void;

/** One method per row of spec.ts KERNELS, its parameters in the row's order. */
export type KernelFunctions = {
  [K in KernelName]: (...args: Params<(typeof KERNELS)[K]['args']>) => Returns<(typeof KERNELS)[K]>;
};

/**
 * The kernel interface every backend implements: derived from the kernel specification
 * (src/backend/spec.ts), so the js backend, the native wrapper and the addon cannot disagree on a
 * kernel's arguments. What each kernel computes:
 * - `unary`: out[i] = op(x[i]) for i < n.
 * - `unaryMul`: out[i] = g[i] · op(x[i]) for i < n, in one pass (op(x[i]) rounded to the array's dtype first, so the result is that of `unary` then `binary` mul). The op layer's backward rules use it for upstream × local derivative (e.g. GELU: op = geluDerivative).
 * - `binary`: out[idx] = op(a[aOff(idx)], b[bOff(idx)]) over `shape` (row-major, out contiguous); the operand offsets come from element strides (0 on broadcast dimensions).
 * - `copyStrided`: Gathers a strided view into the contiguous `out` (`shape` row-major). Works on any array type.
 * - `reduce`: Reduces the middle axis of x viewed as [outer, len, inner] into out [outer, inner]. For max/min, `argOut` (if given) receives the index along `len` of the first extreme value; NaN propagates.
 * - `matmul`: Batched GEMM: for each batch i, C_i = alpha * op(A_i) @ op(B_i) + beta * C_i, with op(A_i) [m, k], op(B_i) [k, n], C_i [m, n] contiguous. A_i starts at i*aBatchStride (row-major [m,k], or [k,m] when transA), likewise B_i; a batch stride of 0 broadcasts that operand. C_i starts at i*m*n. beta = 0 must ignore C's old contents (even NaN).
 * - `matmulLowp`: Mixed-precision batched GEMM, as `matmul` but every operand element is first rounded to `dtype` (round to nearest even; a Uint16Array operand already holds `dtype` bit patterns), products are exact and sums float32 (or wider). The js backend rounds copies of the operands and runs its float32 product: that is the reference. The native one runs bfloat16 on the CPU's bf16 dot-product instructions (oneDNN or its own kernel), and emulates (rounds, then float32 products) where the CPU lacks them and for float16. A Uint16Array `c` (beta must be 0) receives C rounded to `dtype` (as `castToLowp`; oneDNN rounds the float32 sums as it stores them, flushing values below 2^-126 in magnitude to ±0): bf16 autocast's input gradient of a linear layer whose input is bfloat16.
 * - `linearLowp`: The linear layer's forward under mixed precision: out [rows, outFeatures] = x·weightᵀ + bias, x [rows, inFeatures] and weight [outFeatures, inFeatures] rounded to `dtype` as in `matmulLowp`, bias [outFeatures] (float32, or null) added to the float32 sums. The native backend adds the bias as oneDNN stores the product, so no second pass over `out`. A Uint16Array `out` receives those float32 values rounded to `dtype` (as `castToLowp`; oneDNN rounds them as it stores them, so no float32 output is written, and flushes values below 2^-126 in magnitude to ±0 where castToLowp keeps bf16 subnormals).
 * - `castToLowp`: out[i] = `dtype` bits of x[i] (round to nearest even, NaN stays NaN, overflow → ±inf), i < n.
 * - `castToLowpColumnSums`: x [rows, cols] float32 → out = `dtype` bits of x (as `castToLowp`) and sums[j] = Σ_i x[i, j] of the float32 values: float32 sums of blocks of 256 rows in row order, then of the block sums in order, so the same on every backend and thread count (the linear backward's rounded output gradient and bias gradient from one read).
 * - `columnSumsBf16`: sums[j] = Σ_i x[i, j] of x [rows, cols] bfloat16 bits, float32 sums in `castToLowpColumnSums`'s order (blocks of 256 rows in row order, then the blocks in order): the bias gradient of a linear layer whose output gradient is bfloat16.
 * - `geluBf16`: out[i] = bfloat16 bits of GELU(x[i]) for bfloat16 bits x (tanh: GPT-2's tanh approximation, else the exact erf form), i < n: the float64 value rounded to float32, then to bfloat16 (nearest even); NaN in → 0x7fc0, GELU(-inf) = NaN (0·inf, as the float32 op and PyTorch). Every one of the 65536 inputs gives the same bits on every backend (test/backend/gelu-bf16.test.ts checks all of them).
 * - `geluBf16Backward`: dx[i] = bfloat16 bits of g[i]·GELU'(x[i]) (all bfloat16 bits): GELU'(x) is the float64 derivative rounded to float32, the product float32, then rounded to nearest even (a NaN → 0x7fc0). As PyTorch's gelu_backward on bfloat16 tensors (float32 inside, bf16 out).
 * - `castFromLowp`: out[i] = float32 value of the `dtype` bits x[i] (exact), i < n.
 * - `softmax`: Row-wise softmax (or log-softmax when `log`) of x [rows, cols]; -inf entries get probability 0, a row of all -inf gives NaN.
 * - `softmaxBackward`: Backward of row-wise softmax/log-softmax from its output y and upstream g.
 * - `crossEntropy`: Fused log-softmax + NLL over rows of x [rows, C] against class ids `target` [rows] (class weights [C] or null, label smoothing ε): writes per row the loss, the log-sum-exp and the counted weight w[y] (0 where target = ignoreIndex), and for backward the row max and log Σ exp(x − max). Formulas: src/backend/js/cross-entropy.ts.
 * - `crossEntropyBackward`: Backward of crossEntropy from its rowMax / logSum and the upstream gradients of loss and (or null) lse: writes dx [rows, C].
 * - `crossEntropyGradLowp`: crossEntropy's loss and lse rows of x [rows, C] and, in the same call, crossEntropyBackward's dx for the upstream gradients gLoss (every row) and gLseOfLse·lse[r] (a z-loss), rounded to `dtype` (as castToLowp) into dx [rows, C]: the fused LM head's 16-bit dlogits without a float32 [rows, C] gradient. x is scratch: its contents afterwards are unspecified (native keeps exp(x − max) there, one exp per element).
 * - `layerNorm`: LayerNorm over the last axis of x [rows, cols]: out = (x-mean)*rstd*w + b; also writes mean and rstd [rows] (kept for backward). w, b may be null (identity affine).
 * - `layerNormBackward`: Backward of layerNorm: writes dx; accumulates (+=) into dw, db when non-null.
 * - `gather`: Gathers along the middle axis: x [outer, len, inner], idx [outer, idxLen, inner] → out [outer, idxLen, inner]. Indices are assumed in range (the tensor layer validates).
 * - `scatterAdd`: out [outer, len, inner] += src [outer, idxLen, inner] scattered by idx along the middle axis.
 * - `indexSelect`: Row lookup: out [n, cols] = table[idx[i]] (embedding).
 * - `indexAdd`: Row accumulation: dTable[idx[i]] += g[i] for i < n (embedding backward).
 * - `sumSquares`: sum of x[i]^2 for i < n, accumulated in float64.
 * - `adamw`: One AdamW step in place over n elements (PyTorch 1.13 semantics), on the gradient g·gradScale (float32 product; g itself unchanged; 1 = g as it is, gradient clipping's coefficient otherwise): p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) where bc1 = 1 - b1^t, bc2 = 1 - b2^t.
 * - `attention`: Scaled dot-product attention for `bh` independent heads: q [bh, t, d], k, v [bh, s, d] → out [bh, t, d]; also writes the row log-sum-exp lse [bh, t] for backward. Query i sees key j when: j ≤ i + (s - t) if causal; j > i + (s - t) - window if window > 0; keyPad[⌊h / heads⌋ · s + j] == 0 if keyPad ([bh / heads, s]) is given. ropeCos / ropeSin ([s, d/2], d even) rotate q and k (rotate-half RoPE) before the product: key j by row j, query i by row i + s - t (needs s ≥ t). A query that sees no key gets out 0 and lse -inf. No [t, s] array is materialised.
 * - `attentionBackward`: Backward of `attention` (same masks and RoPE): writes dq, dk, dv (w.r.t. the unrotated q, k) from out, lse and upstream g.
 * - `attentionLowp`: `attention` on 16-bit q, k, v (`dtype` bit patterns, used as they are; mixed precision). The js backend widens them to float32 (exact) and runs `attention`: the reference. The native one runs bfloat16 on its bf16 tile kernel where the CPU has AMX or AVX512_BF16 (products of bf16 operands with float32 sums; the probabilities are rounded to bf16 before P·V, RoPE-rotated q, k once after rotation; max, sum and lse stay float32), else (and for float16) as the js backend does.
 * - `attentionLowpBackward`: Backward of `attentionLowp` (g, dq, dk, dv float32). On the bf16 tile kernel (AMX or AVX512_BF16), dO, P and dS are rounded to bf16 before their products; delta = Σ dO·O uses the rounded dO.
 * - `attentionLowpPacked`: `attentionLowp` for GPT-2's self-attention read straight from its packed projection: qkv [b, t, 3, h, d] (16-bit; q, k, v of head hi of row ti at ((ti·3 + p)·h + hi)·d of batch bi's [t, 3·h·d] block) → out [b, t, h, d] float32 (the heads merged), lse [b·h, t]; keyPad [b, t] (per batch; heads = h), ropeCos / ropeSin [t, d/2]; s = t. The same values as `attentionLowp` on the gathered planes [b·h, t, d], no copies: the kernels read rows 3·h·d elements apart.
 * - `attentionLowpPackedBackward`: Backward of `attentionLowpPacked`: from out, lse and g [b, t, h, d] (float32) writes dqkv [b, t, 3, h, d] (float32, every element), the gradient of the packed projection.
 * - `attentionLowpPacked16`: `attentionLowpPacked` writing out as `dtype` bits: the float32 values rounded to nearest even (as castToLowp), as PyTorch's autocast returns attention's output in bf16.
 * - `attentionLowpPacked16Backward`: Backward of `attentionLowpPacked16`, everything 16-bit but lse: out and g [b, t, h, d] read as `dtype` bits (delta = Σ g·out of those values), dqkv [b, t, 3, h, d] written as `dtype` bits (the float32 gradient rounded to nearest even): the values of `attentionLowpPackedBackward` on the widened out and g, rounded.
 */
export interface Backend extends KernelFunctions {
  readonly name: 'js' | 'native';
  /**
   * Bytes from the start of `buffer`'s memory to its first 64-byte (cache-line) boundary; absent on
   * backends that cannot tell (js). The tensor buffer pool starts its large typed arrays there: Node's
   * own ArrayBuffers start 16 bytes past a cache line, which made oneDNN's bf16 products up to 2.7x
   * slower (native/src/aligned-buffer.cc).
   */
  readonly alignOffset?: (buffer: ArrayBuffer) => number;
}
