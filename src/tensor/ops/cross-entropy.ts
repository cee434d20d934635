// The fused log-softmax + NLL op: one backend kernel pair (crossEntropy / crossEntropyBackward)
// under one autograd node. Every class-index loss (crossEntropy, the fused LM head), the z-loss and
// logsumexp are written on top of it (DESIGN.md "Losses compose ops").
import { IndexError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { empty, full, Tensor } from '../tensor.js';
import { sameShape } from '../shape.js';
import { registerOp } from './registry.js';
import { contiguous, narrow } from './views.js';

registerOp('cross-entropy', ['logSoftmaxNll']);
registerOp('cross-entropy', ['logSoftmaxNllGradLowp'], false);

export interface LogSoftmaxNllOptions {
  /** Class weights [C] (float, the logits' dtype or not); default all ones. */
  weight?: Tensor | null;
  /** Target value that counts for nothing (any integer, even a class id). Default -100. */
  ignoreIndex?: number;
  /** Label smoothing ε in [0, 1]; 0 (default) leaves the smoothing term out entirely. */
  labelSmoothing?: number;
}

/** The three rows of {@link logSoftmaxNll}, views of one recorded [3, N] tensor. */
export interface LogSoftmaxNllRows {
  /** [N] per-row loss (1−ε)·(−w[y]·lp[y]) + (ε/C)·(−Σ_c w[c]·lp_c), 0 for ignored rows. Differentiable. */
  loss: Tensor;
  /** [N] torch.logsumexp of each row (±inf / NaN maxima kept). Differentiable (gradient: softmax). */
  lse: Tensor;
  /** [N] w[y] for rows that count, 0 for ignored rows: the weighted mean's denominator terms. No gradient. */
  weight: Tensor;
}

/** The checked arguments of the op's kernels (see logSoftmaxNll's errors). */
function checkArgs(fn: string, logits: Tensor, target: Tensor, options: LogSoftmaxNllOptions) {
  if (logits.ndim !== 2) throw new ShapeError(`${fn}: logits must be [N, C], got ${fmtShape(logits.shape)}`);
  if (logits.dtype !== 'float32' && logits.dtype !== 'float64') throw new ValueError(`${fn}: logits must be float32 or float64, got ${logits.dtype}`);
  const [N, C] = logits.shape;
  if (target.dtype !== 'int32') throw new ValueError(`${fn}: target must be int32, got ${target.dtype}`);
  if (target.ndim !== 1 || target.shape[0] !== N) throw new ShapeError(`${fn}: logits ${fmtShape(logits.shape)} need a target of shape [${N}], got ${fmtShape(target.shape)}`);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`${fn}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`${fn}: labelSmoothing must be in [0, 1], got ${eps}`);
  const dt = logits.dtype;
  let w: FloatArray | null = null;
  if (options.weight) {
    if (options.weight.ndim !== 1 || options.weight.shape[0] !== C) throw new ShapeError(`${fn}: weight must be [${C}], got ${fmtShape(options.weight.shape)}`);
    w = floatCopy(options.weight, dt);
  }
  const td = contiguous(target).data() as Int32Array;
  for (let i = 0; i < N; i++) {
    const y = td[i];
    if (y !== ignoreIndex && (y < 0 || y >= C)) throw new IndexError(`${fn}: target ${y} at row ${i} is out of range: classes are [0, ${C}) and ignoreIndex is ${ignoreIndex}`);
  }
  return { N, C, dt, w, td, ignoreIndex, eps };
}

/** Upstream gradients of {@link logSoftmaxNllGradLowp}'s scalar objective. */
export interface LogSoftmaxNllGradOptions extends LogSoftmaxNllOptions {
  /** d objective / d loss[r], the same for every row (a mean's 1/D). */
  gLoss: number;
  /** d objective / d lse[r] = gLseOfLse·lse[r] (z-loss coef·Σ lse²: 2·coef). Default 0. */
  gLseOfLse?: number;
}

/**
 * No autograd: logSoftmaxNll's loss and lse rows of logits [N, C] (float32, contiguous) and, in the
 * same pass, the gradient of the objective Σ gLoss·loss[r] + (gLseOfLse / 2)·lse[r]² with respect to
 * the logits, rounded to 16 bits into `out` (a contiguous bfloat16 / float16 tensor of logits' size,
 * e.g. rows of a larger buffer): what logSoftmaxNll's backward and toLowp give, without the float32
 * [N, C] gradient, and with one exp per element on the native backend. For the fused LM head under
 * autocast. The logits are consumed: their contents afterwards are unspecified.
 * @throws logSoftmaxNll's errors; ValueError for logits that are not contiguous float32 or an `out`
 *   that is not a contiguous 16-bit tensor of the logits' shape.
 */
export function logSoftmaxNllGradLowp(logits: Tensor, target: Tensor, out: Tensor, options: LogSoftmaxNllGradOptions): { loss: Tensor; lse: Tensor } {
  const fn = 'logSoftmaxNllGradLowp';
  const { N, C, w, td, ignoreIndex, eps } = checkArgs(fn, logits, target, options);
  if (logits.dtype !== 'float32' || !logits.isContiguous()) throw new ValueError(`${fn}: logits must be contiguous float32, got ${logits.dtype}${logits.isContiguous() ? '' : ' (not contiguous)'}`);
  if ((out.dtype !== 'bfloat16' && out.dtype !== 'float16') || !out.isContiguous() || !sameShape(out.shape, logits.shape)) {
    throw new ValueError(`${fn}: out must be a contiguous bfloat16 or float16 tensor of shape ${fmtShape(logits.shape)}, got ${out.dtype} ${fmtShape(out.shape)}${out.isContiguous() ? '' : ' (not contiguous)'}`);
  }
  const res = empty([2, N], 'float32');
  const rd = res.storage.data as Float32Array;
  const loss = rd.subarray(res.offset, res.offset + N), lse = rd.subarray(res.offset + N, res.offset + 2 * N);
  if (N > 0 && C > 0) {
    const xd = (logits.storage.data as Float32Array).subarray(logits.offset, logits.offset + N * C);
    const od = (out.storage.data as Uint16Array).subarray(out.offset, out.offset + N * C);
    getBackend().crossEntropyGradLowp(out.dtype, xd, td, w, loss, lse, od, N, C, ignoreIndex, eps, options.gLoss, options.gLseOfLse ?? 0);
  }
  return { loss: narrow(res, 0, 0, 1).reshape(N), lse: narrow(res, 0, 1, 1).reshape(N) };
}

/**
 * Log-softmax + NLL per row of logits [N, C] (float32 / float64) against class ids `target` int32
 * [N], in one kernel pass, with log-probabilities lp = x − logsumexp(x) (a row whose max is +inf,
 * NaN or −inf has NaN lp, as torch.log_softmax). Backward, one more pass, from the saved row max and
 * log Σ exp(x − max):
 * softmax − one-hot for the loss row, softmax for the lse row (PyTorch 1.13 `cross_entropy`
 * semantics: ../shared/golden/README.md).
 * @throws ShapeError for a logits that is not 2-D, or a target / weight of the wrong shape;
 *   ValueError for a non-int32 target, a non-integer ignoreIndex or ε outside [0, 1];
 *   IndexError for a target outside [0, C) that is not ignoreIndex (row and value named).
 */
export function logSoftmaxNll(logits: Tensor, target: Tensor, options: LogSoftmaxNllOptions = {}): LogSoftmaxNllRows {
  const fn = 'logSoftmaxNll';
  const { N, C, dt, w, td, ignoreIndex, eps } = checkArgs(fn, logits, target, options);
  const xd = contiguous(logits).data() as FloatArray;
  const out = empty([3, N], dt);
  const od = out.storage.data as FloatArray;
  // Saved for backward: each row's max and log Σ exp(x − max).
  const saved = empty([2, N], dt);
  const sd = saved.storage.data as FloatArray;
  const rowMax = sd.subarray(0, N), logSum = sd.subarray(N, 2 * N);
  getBackend().crossEntropy(xd, td, w, od.subarray(0, N), od.subarray(N, 2 * N), od.subarray(2 * N, 3 * N), rowMax, logSum,
    N, C, ignoreIndex, eps);
  const rows = record(fn, out, [logits], (g) => {
    const gd = contiguous(g).data() as FloatArray;
    const gLse = gd.subarray(N, 2 * N);
    let zero = true;
    for (let i = 0; i < N && zero; i++) zero = gLse[i] === 0;
    const dx = empty([N, C], dt);
    getBackend().crossEntropyBackward(xd, td, w, rowMax, logSum, gd.subarray(0, N), zero ? null : gLse,
      dx.storage.data as FloatArray, N, C, ignoreIndex, eps);
    return [dx];
  });
  const row = (i: number): Tensor => narrow(rows, 0, i, 1).reshape(N);
  return { loss: row(0), lse: row(1), weight: row(2).detach() };
}

/** The weight's values in dtype `dt` (a copy: the kernels read it after the caller may change it). */
function floatCopy(t: Tensor, dt: 'float32' | 'float64'): FloatArray {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new ValueError(`logSoftmaxNll: weight must be a float tensor, got dtype ${t.dtype}`);
  const src = contiguous(t).data();
  const out = dt === 'float64' ? new Float64Array(src.length) : new Float32Array(src.length);
  out.set(src);
  return out;
}

/** A target of N ignored rows (logsumexp uses the op for its lse row alone). */
export function ignoredTarget(n: number): Tensor {
  return full([n], -1, 'int32');
}
