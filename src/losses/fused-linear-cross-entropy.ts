/**
 * Fused LM head + cross-entropy: logits = hidden · weightᵀ and the loss computed in chunks of tokens,
 * so the [N, V] logits never exist whole (DESIGN.md "Losses"; the idea of Liger-Kernel's and
 * Apple's cut-cross-entropy: recompute instead of store).
 *
 * Forward: per chunk of rows, logits_chunk = h_chunk · Wᵀ (one GEMM into a reused [chunk, V] buffer),
 * then the row kernel of class-kernel.ts gives log-sum-exp and the loss terms; only the per-row
 * log-sum-exp and loss terms (a few numbers per token) are kept. Backward: per chunk of tokens,
 * the logits are recomputed, turned in place into dlogits (softmax − one-hot, smoothing and z-loss
 * terms), and two GEMMs write dHidden_chunk = dlogits · W and accumulate dW += dlogitsᵀ · h_chunk.
 * When N ≤ V, backward instead walks blocks of classes over all tokens (the row log-sum-exp saved by
 * forward makes each block independent): logits_block = h · W_blockᵀ, dW_block = dlogitsᵀ · h is
 * written once and dHidden += dlogits · W_block accumulated, which moves far less memory than
 * accumulating the [V, C] dW once per token chunk. Peak memory grows with the chunk, not with N·V.
 *
 * For a scalar loss ('mean', 'sum') the upstream gradient is one number, so by default forward
 * already turns each chunk's logits into dlogits for g = 1 and runs the two gradient GEMMs there;
 * backward only scales (3 GEMMs in all, like the unfused path, instead of 4). 'none', a second
 * backward (retainGraph) or `precomputeGradients: false` use the recomputing backward above.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import type { FloatArray } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import * as T from '../tensor/index.js';
import { backwardBlock, backwardRows, type ClassSpec, forwardRows, newRowTerms, type RowFactors, rowConstants, sumOf, validateTargets } from './class-kernel.js';
import { fastForwardRows, fastRowsApply, fastUnitBackwardRows } from './class-kernel-fast.js';
import { type ClassLossCommon, checkIndexTarget, parseClassOptions, parseSmoothing } from './class-loss-op.js';
import { checkFloat, checkNumber, floatData, fromValues, scalarOf } from './common.js';
import { notePeak } from './peak.js';

export interface FusedLinearCrossEntropyOptions extends ClassLossCommon {
  /** Label smoothing ε in [0, 1] (as crossEntropy). Default 0. */
  labelSmoothing?: number;
  /** z-loss coefficient (PaLM): adds coef·lse² per token, averaged over ALL N tokens (ignored ones
   *  included, as the golden `z_objective` cases) for 'mean', summed for 'sum'. Default 0 (off). */
  zLossCoef?: number;
  /** Tokens per chunk. Default: as many as fit in about 8 M logits (32 MB in float32; 166 tokens at V = 50257, where the GEMMs run at full speed), at least 1. */
  chunkSize?: number;
  /**
   * How backward walks the logits: 'tokens' (chunks of chunkSize tokens: dW is accumulated once per
   * chunk), 'vocab' (blocks of vocabChunkSize classes over all tokens: dW is written once per block
   * and dHidden accumulated instead), or 'auto' (default): 'vocab' when N ≤ V, where it moves less
   * memory (the accumulated gradient is the smaller one).
   */
  backwardBlocking?: 'auto' | 'tokens' | 'vocab';
  /** Classes per block for backwardBlocking 'vocab'. Default: about 8 M logits / N, at least 1. */
  vocabChunkSize?: number;
  /**
   * For 'mean' and 'sum' (a scalar loss, so the upstream gradient is one number g), compute the
   * gradients for g = 1 during forward, while each chunk's logits are at hand, and only scale them
   * in backward: three GEMMs instead of four (no recomputation), at the price of holding dHidden and
   * dW from forward to backward, and of wasted work if backward never runs. Used on the first
   * backward only (a second one, with retainGraph, recomputes). Default true when an input
   * requires grad and grad mode is on; ignored for 'none'.
   */
  precomputeGradients?: boolean;
  /**
   * When `weight` is a leaf that requires grad, add its gradient straight into `weight.grad` during
   * backward (what autograd would do) instead of returning it, which saves one [V, C] buffer and a
   * copy. Default true.
   */
  accumulateWeightGradInPlace?: boolean;
}

/** Default chunk budget in logits elements. */
const CHUNK_ELEMENTS = 8 * 1024 * 1024;

/**
 * The same loss as `crossEntropy(matmul(hidden, weightᵀ), target, { layout: 'BTV', … })` (plus
 * zLossCoef·z-loss), with the same gradients for hidden and weight, without materialising the logits.
 *
 * Shapes: hidden [N, C] or [..., C] (float32 / float64); weight [V, C] (same dtype); target int32
 * [N] or [...] (hidden's leading shape); option weight: class weights [V]. Output: scalar ('mean',
 * 'sum') or target's shape ('none'). Semantics of ignoreIndex, labelSmoothing, class weights and
 * reductions are crossEntropy's (mean divides the cross-entropy by Σ w[y] over counted tokens).
 * @throws ShapeError for mismatched shapes (both named); ValueError for bad options or dtypes;
 *   IndexError for a target outside [0, V) that is not ignoreIndex (position and value named).
 */
export function fusedLinearCrossEntropy(hidden: T.Tensor, weight: T.Tensor, target: T.Tensor,
  options: FusedLinearCrossEntropyOptions = {}): T.Tensor {
  return fusedLinearCrossEntropyWithParts(hidden, weight, target, options).loss;
}

/** The loss and, detached, its two parts (for logging each objective term separately). */
export interface FusedLinearCrossEntropyParts {
  /** What fusedLinearCrossEntropy returns: cross-entropy + z-loss, differentiable. */
  loss: T.Tensor;
  /** The cross-entropy part (for 'none': summed over tokens). */
  crossEntropy: number;
  /** The z-loss part, coefficient included (for 'none': summed over tokens); 0 when zLossCoef is 0. */
  zLoss: number;
}

/**
 * fusedLinearCrossEntropy, also returning the values of its cross-entropy and z-loss parts, e.g.
 * `objective.compute({ lm: parts.loss })` plus logging `parts.crossEntropy` and `parts.zLoss`.
 * Same arguments, shapes and errors as {@link fusedLinearCrossEntropy}.
 */
export function fusedLinearCrossEntropyWithParts(hidden: T.Tensor, weight: T.Tensor, target: T.Tensor,
  options: FusedLinearCrossEntropyOptions = {}): FusedLinearCrossEntropyParts {
  const fn = 'fusedLinearCrossEntropy';
  checkFloat(fn, 'hidden', hidden);
  checkFloat(fn, 'weight', weight);
  if (hidden.dtype !== weight.dtype) throw new ValueError(`${fn}: 'hidden' (${hidden.dtype}) and 'weight' (${weight.dtype}) must have the same dtype`);
  if (hidden.ndim < 1 || weight.ndim !== 2) {
    throw new ShapeError(`${fn}: expected hidden [..., C] and weight [V, C], got ${fmtShape(hidden.shape)} and ${fmtShape(weight.shape)}`);
  }
  const Cin = hidden.shape[hidden.ndim - 1];
  const [V, Cw] = weight.shape;
  if (Cw !== Cin) throw new ShapeError(`${fn}: hidden ${fmtShape(hidden.shape)} and weight ${fmtShape(weight.shape)} disagree on C (${Cin} vs ${Cw})`);
  const tShape = hidden.shape.slice(0, -1);
  if (!T.sameShape(target.shape, tShape)) {
    throw new ShapeError(`${fn}: hidden ${fmtShape(hidden.shape)} needs a target of shape ${fmtShape(tShape)}, got ${fmtShape(target.shape)}`);
  }
  const eps = parseSmoothing(fn, options.labelSmoothing);
  const o = parseClassOptions(fn, options, V);
  const zCoef = checkNumber(fn, 'zLossCoef', options.zLossCoef ?? 0);
  const N = tShape.reduce((a, b) => a * b, 1);
  let chunk = options.chunkSize ?? Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(V, 1)));
  if (!Number.isInteger(chunk) || chunk < 1) throw new ValueError(`${fn}: option 'chunkSize' must be a positive integer, got ${String(options.chunkSize)}`);
  chunk = Math.min(chunk, Math.max(N, 1));
  const blocking = options.backwardBlocking ?? 'auto';
  if (blocking !== 'auto' && blocking !== 'tokens' && blocking !== 'vocab') {
    throw new ValueError(`${fn}: option 'backwardBlocking' must be 'auto', 'tokens' or 'vocab', got ${JSON.stringify(blocking)}`);
  }
  const byVocab = blocking === 'vocab' || (blocking === 'auto' && N <= V);
  let vChunk = options.vocabChunkSize ?? Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(N, 1)));
  if (!Number.isInteger(vChunk) || vChunk < 1) throw new ValueError(`${fn}: option 'vocabChunkSize' must be a positive integer, got ${String(options.vocabChunkSize)}`);
  vChunk = Math.min(vChunk, Math.max(V, 1));
  const td = checkIndexTarget(fn, target);
  validateTargets(fn, td, tShape, V, o.ignoreIndex);

  const dt = hidden.dtype === 'float64' ? 'float64' : 'float32';
  const hd = floatData(hidden), wd = floatData(weight);
  const spec: ClassSpec = { C: V, inner: 1, weight: o.weight, ignoreIndex: o.ignoreIndex, eps, logits: true };
  const terms = newRowTerms(N, spec, zCoef !== 0);
  const be = getBackend();
  const logitsInto = (buf: FloatArray, r0: number, n: number) =>
    be.matmul(hd.subarray(r0 * Cin), wd, buf, 1, n, V, Cin, false, true, 0, 0, 1, 0);

  // Precomputed gradients for upstream g = 1 (see the option); null when not used or consumed.
  const nllScale = eps > 0 ? 1 - eps : 1;
  let pre: { dH: T.Tensor | null; dW: T.Tensor | null } | null = null;
  let D = 0;
  for (let r = 0; r < N; r++) { const y = td[r]; if (y !== o.ignoreIndex) D += o.weight ? o.weight[y] : 1; }
  const usePre = o.reduction !== 'none' && (options.precomputeGradients ?? true) && T.needsGrad(hidden, weight);
  let unit: RowFactors | null = null;
  let unitA = 0;
  if (usePre) {
    pre = { dH: hidden.requiresGrad ? T.empty(hidden.shape, dt) : null, dW: weight.requiresGrad ? T.empty(weight.shape, dt) : null };
    const mean = o.reduction === 'mean';
    const a = mean ? nllScale / D : nllScale, b = mean ? (eps / V) / D : eps / V, z = mean ? zCoef / N : zCoef;
    unitA = a;
    unit = { a: () => a, b: () => b, z: zCoef !== 0 ? () => z : null };
  }
  T.scope(() => {
    const buf = T.empty([chunk, V], dt).storage.data as FloatArray;
    notePeak();
    const dHd = pre?.dH ? (pre.dH.storage.data as FloatArray) : null;
    const dWd = pre?.dW ? (pre.dW.storage.data as FloatArray) : null;
    // Vectorised float32 row kernels in the common case (class-kernel-fast.ts), float64 JS loops otherwise.
    const fast = fastRowsApply(be, buf, spec, terms);
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const n = Math.min(chunk, N - r0);
      logitsInto(buf, r0, n);
      if (fast) fastForwardRows(be, buf as Float32Array, V, td, r0, n, o.ignoreIndex, terms);
      else forwardRows(buf, spec, td, r0, n, terms);
      if (!unit) continue;
      if (fast) fastUnitBackwardRows(be, buf as Float32Array, V, td, r0, n, o.ignoreIndex, unitA);
      else backwardRows(buf, buf, spec, td, r0, n, terms, unit);
      if (dHd) be.matmul(buf, wd, dHd.subarray(r0 * Cin), 1, n, Cin, V, false, false, 0, 0, 1, 0);
      if (dWd) be.matmul(buf, hd.subarray(r0 * Cin), dWd, 1, V, Cin, n, true, false, 0, 0, 1, r0 === 0 ? 0 : 1);
    }
    if (dWd && N === 0) dWd.fill(0);
  });

  const zl = terms.zlse;
  let out: T.Tensor;
  let cePart = 0, zPart = 0;
  if (o.reduction === 'none') {
    const vals = new Float64Array(N);
    for (let r = 0; r < N; r++) {
      const ce = terms.smooth ? (1 - eps) * terms.nll[r] + terms.smooth[r] * (eps / V) : terms.nll[r];
      const z = zl ? zCoef * (zl[r] * zl[r]) : 0;
      cePart += ce;
      zPart += z;
      vals[r] = zl ? ce + z : ce;
    }
    out = fromValues(tShape, dt, vals);
  } else {
    const nll = sumOf(terms.nll), sm = terms.smooth ? sumOf(terms.smooth) : 0;
    if (o.reduction === 'sum') cePart = terms.smooth ? (1 - eps) * nll + sm * (eps / V) : nll;
    else cePart = terms.smooth ? (1 - eps) * (nll / D) + (sm / D) * (eps / V) : nll / D;
    if (zl) {
      let z = 0;
      for (let r = 0; r < N; r++) z += zl[r] * zl[r];
      zPart = o.reduction === 'sum' ? zCoef * z : zCoef * (z / N);
    }
    out = scalarOf(zl ? cePart + zPart : cePart, dt);
  }

  // Backward from precomputed unit gradients: scale by g; dW goes into weight.grad as in the
  // recompute path (adopting the buffer when there is no gradient yet and g = 1).
  const inPlaceW = (options.accumulateWeightGradInPlace ?? true) && weight.gradFn === null;
  const scaled = (t: T.Tensor, g: number): T.Tensor => {
    if (g === 1) return t;
    const out = T.empty(t.shape, dt);
    const od = out.storage.data as FloatArray, td2 = t.storage.data as FloatArray;
    if (od instanceof Float32Array) be.unary('mulScalar', td2, od, od.length, g);
    else for (let i = 0; i < od.length; i++) od[i] = g * td2[i];
    return out;
  };
  const usePrecomputed = (p: { dH: T.Tensor | null; dW: T.Tensor | null }, g: number): (T.Tensor | null)[] => {
    notePeak();
    const dH = p.dH && hidden.requiresGrad ? scaled(p.dH, g) : null;
    let dW: T.Tensor | null = null;
    if (p.dW && weight.requiresGrad) {
      const gOld = weight.grad;
      if (inPlaceW && !gOld) {
        weight.grad = scaled(p.dW, g).keep();
      } else if (inPlaceW && gOld && gOld.dtype === dt && T.sameShape(gOld.shape, weight.shape) && gOld.isContiguous()) {
        const gd = gOld.data() as FloatArray, wd2 = p.dW.storage.data as FloatArray;
        for (let i = 0; i < gd.length; i++) gd[i] += g * wd2[i];
      } else dW = scaled(p.dW, g);
    }
    notePeak();
    return [dH, dW];
  };

  const loss = T.record(fn, out, [hidden, weight], (g) => {
    const gd = floatData(g);
    if (pre) {
      const p = pre;
      pre = null;
      return usePrecomputed(p, gd[0]);
    }
    let f: RowFactors;
    if (o.reduction === 'none') {
      f = { a: (r) => (eps > 0 ? gd[r] * nllScale : gd[r]), b: (r) => gd[r] * (eps / V), z: zl ? (r) => gd[r] * zCoef : null };
    } else {
      const g0 = gd[0], mean = o.reduction === 'mean';
      const a = mean ? (eps > 0 ? g0 * nllScale : g0) / D : eps > 0 ? g0 * nllScale : g0;
      const b = mean ? (g0 * (eps / V)) / D : g0 * (eps / V);
      const z = mean ? (g0 * zCoef) / N : g0 * zCoef;
      f = { a: () => a, b: () => b, z: zl ? () => z : null };
    }
    const needH = hidden.requiresGrad, needW = weight.requiresGrad;
    notePeak();
    const dH = needH ? T.empty(hidden.shape, dt) : null;
    const dHd = dH ? (dH.storage.data as FloatArray) : null;
    // dW: straight into weight.grad when allowed (see the option), else a returned buffer.
    let dW: T.Tensor | null = null;
    let dWd: FloatArray | null = null;
    let fresh = false;
    if (needW) {
      const inPlace = (options.accumulateWeightGradInPlace ?? true) && weight.gradFn === null;
      const gOld = weight.grad;
      if (inPlace && gOld && gOld.dtype === dt && T.sameShape(gOld.shape, weight.shape) && gOld.isContiguous()) {
        dWd = gOld.data() as FloatArray;
      } else if (inPlace && !gOld) {
        weight.grad = T.empty(weight.shape, dt).keep();
        dWd = weight.grad.storage.data as FloatArray;
        fresh = true;
      } else {
        dW = T.empty(weight.shape, dt);
        dWd = dW.storage.data as FloatArray;
        fresh = true;
      }
    }
    if (byVocab) {
      T.scope(() => {
        const buf = T.empty([N, vChunk], dt).storage.data as FloatArray;
        notePeak();
        const k = rowConstants(spec, td, 0, N, terms, f);
        for (let v0 = 0; v0 < V; v0 += vChunk) {
          const vb = Math.min(vChunk, V - v0);
          const wBlock = wd.subarray(v0 * Cin);
          be.matmul(hd, wBlock, buf, 1, N, vb, Cin, false, true, 0, 0, 1, 0);
          backwardBlock(buf, N, vb, v0, spec, td, 0, terms, k);
          if (dHd) be.matmul(buf, wBlock, dHd, 1, N, Cin, vb, false, false, 0, 0, 1, v0 === 0 ? 0 : 1);
          if (dWd) be.matmul(buf, hd, dWd.subarray(v0 * Cin), 1, vb, Cin, N, true, false, 0, 0, 1, fresh ? 0 : 1);
        }
        if (dHd && V === 0) dHd.fill(0);
        if (dWd && fresh && N === 0) dWd.fill(0);
      });
      return [dH, dW];
    }
    T.scope(() => {
      const buf = T.empty([chunk, V], dt).storage.data as FloatArray;
      notePeak();
      for (let r0 = 0; r0 < N; r0 += chunk) {
        const n = Math.min(chunk, N - r0);
        logitsInto(buf, r0, n);
        backwardRows(buf, buf, spec, td, r0, n, terms, f);
        if (dHd) be.matmul(buf, wd, dHd.subarray(r0 * Cin), 1, n, Cin, V, false, false, 0, 0, 1, 0);
        if (dWd) be.matmul(buf, hd.subarray(r0 * Cin), dWd, 1, V, Cin, n, true, false, 0, 0, 1, fresh && r0 === 0 ? 0 : 1);
      }
      if (dWd && fresh && N === 0) dWd.fill(0);
    });
    return [dH, dW];
  });
  return { loss, crossEntropy: cePart, zLoss: zPart };
}
