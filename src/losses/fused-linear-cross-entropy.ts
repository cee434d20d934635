/**
 * Fused LM head + cross-entropy: logits = hidden · weightᵀ and the loss computed in chunks of tokens,
 * so the [N, V] logits never exist whole (DESIGN.md "Losses"; the idea of Liger-Kernel's and
 * Apple's cut-cross-entropy: recompute instead of store). Written with tensor ops: per chunk, one
 * matmul for the logits and the fused log-softmax + NLL op (`T.logSoftmaxNll`) for the loss terms;
 * only its per-row loss and log-sum-exp (a few numbers per token) are kept.
 *
 * Backward, per chunk of tokens: the logits are recomputed, the op's backward turns them into
 * dlogits (softmax − one-hot, smoothing and z-loss terms), and two GEMMs write dHidden_chunk =
 * dlogits · W and accumulate dW += dlogitsᵀ · h_chunk (`T.addmmInPlace`). Peak memory grows with
 * the chunk, not with N·V.
 *
 * For a scalar loss ('mean', 'sum') the upstream gradient is one number, so by default forward
 * already turns each chunk's logits into dlogits for g = 1 and runs the two gradient GEMMs there;
 * backward only scales (3 GEMMs in all, like the unfused path, instead of 4). 'none', a second
 * backward (retainGraph) or `precomputeGradients: false` use the recomputing backward above.
 * Under autocast that forward computes each chunk's loss rows and 16-bit dlogits in one kernel
 * (`T.logSoftmaxNllGradLowp`: no float32 gradient, one exp per logit), gathers the dlogits of several
 * chunks (`lowpGroupSize`) and runs the two gradient GEMMs once per group.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { classTargets, type ClassLossCommon, parseClassOptions, parseSmoothing, splitIgnored } from './class-options.js';
import { checkFloat, checkNumber } from './common.js';
import { notePeak } from './peak.js';

export interface FusedLinearCrossEntropyOptions extends ClassLossCommon {
  /** Label smoothing ε in [0, 1] (as crossEntropy). Default 0. */
  labelSmoothing?: number;
  /** z-loss coefficient (PaLM): adds coef·lse² per token, averaged over ALL N tokens (ignored ones
   *  included, as the golden `z_objective` cases) for 'mean', summed for 'sum'. Default 0 (off). */
  zLossCoef?: number;
  /** Tokens per chunk. Default: as many as fit in about 8 M logits (32 MB in float32; 166 tokens at V = 50257, where the GEMMs run at full speed), at least 1, then evened out over the chunks. */
  chunkSize?: number;
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
   * Under autocast with precomputed gradients: the 16-bit dlogits of this many tokens (rounded down
   * to a multiple of the chunk, at least one chunk) are gathered, and the two gradient products run
   * once per group instead of once per chunk: dW's product sums over the group's tokens instead of
   * reading and writing the float32 [V, C] dW once per chunk, and dH's has the group's rows.
   * The group's 16-bit dlogits ([group, V]) are held until its products have run. Default C
   * (hidden's last dim); when all N tokens make one group, W's 16-bit copy lives in the bytes of dW
   * until dW's one product (see README "Mixed precision" for the measured effect on gpt2). Ignored
   * otherwise.
   */
  lowpGroupSize?: number;
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
  if (options.lowpGroupSize !== undefined && (!Number.isInteger(options.lowpGroupSize) || options.lowpGroupSize < 1)) {
    throw new ValueError(`${fn}: option 'lowpGroupSize' must be a positive integer, got ${String(options.lowpGroupSize)}`);
  }
  if (!Number.isInteger(chunk) || chunk < 1) throw new ValueError(`${fn}: option 'chunkSize' must be a positive integer, got ${String(options.chunkSize)}`);
  chunk = Math.min(chunk, Math.max(N, 1));
  // The default budget split evenly (512 tokens at V = 50257: 4 × 128, not 3 × 166 + 14, whose
  // 14-row tail product reads all of W for little work).
  if (options.chunkSize === undefined && N > 0) chunk = Math.ceil(N / Math.ceil(N / chunk));
  const t = classTargets(fn, target, tShape, V, o.ignoreIndex);

  const dt = hidden.dtype === 'float64' ? 'float64' : 'float32';
  const h = T.contiguous(T.reshape(hidden.detach(), [N, Cin])).detach();
  const W = T.contiguous(weight.detach()).detach();
  const Wt = T.transpose(W, 0, 1);
  const ceOpts = { weight: o.weight, ignoreIndex: o.ignoreIndex, labelSmoothing: eps };
  const mean = o.reduction === 'mean';
  // Σ w[y] over counted tokens (the 'mean' denominator), known before any chunk runs.
  const D = mean ? T.noGrad(() => countedWeight(t, o.weight, o.ignoreIndex, dt)) : 0;
  // Under autocast the product operands are rounded to 16 bits once per pass over the chunks (h, W)
  // and once per chunk (dlogits), not once per product: W is read by every chunk's products.
  const lowp = dt === 'float32' ? T.lowpFor('matmul') : null;
  interface Operands {
    h: T.Tensor; W: T.Tensor;
    /** [rows, V] 16-bit buffer for gathered dlogits (lowp only; null when `groupRows` is 0). */
    d16: T.Tensor | null;
    free(): void;
  }
  /**
   * The operands of one pass over the chunks; free() hands back their 16-bit copies at once.
   * `wHost`, when given, is a contiguous float32 [V, C] buffer whose bytes are not needed until
   * every product that reads W has run (the precomputed dW when its one product comes last): W's
   * 16-bit copy is written into its first half instead of a buffer of its own, so under autocast
   * the LM head adds only the gathered dlogits (`groupRows` × V 16-bit) to a step's memory.
   */
  const operands = (groupRows: number, wHost: T.Tensor | null): Operands => {
    if (!lowp) return { h, W, d16: null, free: () => {} };
    const h16 = T.toLowp(h, lowp);
    const W16 = T.toLowp(W, lowp, wHost ? T.lowpViewsOf(wHost, lowp, [[V, Cin]])[0] : undefined);
    const d16 = groupRows > 0 ? T.empty([groupRows, V], lowp) : null;
    return { h: h16, W: W16, d16, free: () => { h16.storage.free(); W16.storage.free(); d16?.storage.free(); } };
  };
  /** Per chunk: the logits [n, V] (a leaf when `grad`) and the op's rows. */
  const chunkRows = (ops: Operands, r0: number, n: number, grad: boolean) => {
    const logits = T.empty([n, V], dt);
    T.addmmInPlace(logits, T.narrow(ops.h, 0, r0, n), T.transpose(ops.W, 0, 1), 0);
    if (grad) logits.requiresGrad_();
    notePeak();
    const rows = T.withGrad(grad, () => T.logSoftmaxNll(logits, T.narrow(t, 0, r0, n), ceOpts));
    return { logits, rows };
  };
  /** The chunk's share of the scalar loss for upstream 1 (ce: 1/D or 1; z: zCoef/N or zCoef). */
  const ceScale = mean ? 1 / D : 1, zScale = mean ? zCoef / N : zCoef;
  const chunkObjective = (rows: T.LogSoftmaxNllRows): T.Tensor => {
    const ce = T.mulScalar(T.sum(rows.loss), ceScale);
    return zCoef !== 0 ? T.add(ce, T.mulScalar(T.sum(T.square(rows.lse)), zScale)) : ce;
  };
  /** dH rows and dW (accumulated with beta) from a chunk's dlogits. */
  const gemms = (ops: Operands, dlogits: T.Tensor, r0: number, n: number, dH: T.Tensor | null, dW: T.Tensor | null, beta: number): void => {
    const d = lowp && dH && dW && dlogits.dtype === 'float32' ? T.toLowp(dlogits, lowp) : dlogits;
    // dH first: ops.W may live in dW's bytes (operands' wHost), which dW's product overwrites.
    if (dH) T.addmmInPlace(T.narrow(dH, 0, r0, n), d, ops.W, 0);
    if (dW) T.addmmInPlace(dW, T.transpose(d, 0, 1), T.narrow(ops.h, 0, r0, n), beta);
  };

  // Forward: per-row loss and lse of every token; gradients for g = 1 when precomputing.
  const lossRows = T.empty([N], dt), lseRows = T.empty([N], dt);
  const usePre = o.reduction !== 'none' && (options.precomputeGradients ?? true) && T.needsGrad(hidden, weight);
  let pre: { dH: T.Tensor | null; dW: T.Tensor | null } | null = usePre
    ? { dH: hidden.requiresGrad ? T.empty([N, Cin], dt) : null, dW: weight.requiresGrad ? T.empty([V, Cin], dt) : null }
    : null;
  // Under autocast with precomputed gradients, chunks are gathered into groups (lowpGroupSize).
  const groupTokens = options.lowpGroupSize ?? Cin;
  const gather = lowp !== null && pre !== null;
  const group = Math.min(gather ? chunk * Math.max(1, Math.floor(groupTokens / chunk)) : chunk, Math.max(N, 1));
  // One group: dW's single product (beta 0) runs after the last product reading W16, so W16 can
  // borrow dW's bytes until then.
  const fwdOps = operands(gather ? group : 0, gather && pre?.dW && N <= group ? pre.dW : null);
  for (let g0 = 0; g0 < N; g0 += group) {
    const gn = Math.min(group, N - g0);
    const d16 = fwdOps.d16 ? T.narrow(fwdOps.d16, 0, 0, gn) : null;
    for (let r0 = g0; r0 < g0 + gn; r0 += chunk) {
      const n = Math.min(chunk, g0 + gn - r0);
      if (d16) {
        // Under autocast: loss rows and 16-bit dlogits for g = 1 in one kernel, written into the
        // group's rows; the float32 logits are its scratch (no float32 gradient, no autograd).
        T.scope(() => T.noGrad(() => {
          const logits = T.empty([n, V], dt);
          T.addmmInPlace(logits, T.narrow(fwdOps.h, 0, r0, n), T.transpose(fwdOps.W, 0, 1), 0);
          notePeak();
          const rows = T.logSoftmaxNllGradLowp(logits, T.narrow(t, 0, r0, n), T.narrow(d16, 0, r0 - g0, n),
            { ...ceOpts, gLoss: ceScale, gLseOfLse: 2 * zScale });
          T.writeInto(T.narrow(lossRows, 0, r0, n), rows.loss);
          T.writeInto(T.narrow(lseRows, 0, r0, n), rows.lse);
        }));
        continue;
      }
      T.scope(() => T.withGrad(pre !== null, () => {
        const { logits, rows } = chunkRows(fwdOps, r0, n, pre !== null);
        T.writeInto(T.narrow(lossRows, 0, r0, n), rows.loss.detach());
        T.writeInto(T.narrow(lseRows, 0, r0, n), rows.lse.detach());
        if (!pre) return;
        T.backward(chunkObjective(rows));
        notePeak();
        gemms(fwdOps, logits.grad!, r0, n, pre.dH, pre.dW, r0 === 0 ? 0 : 1);
        logits.clearGrad();
      }));
    }
    if (d16 && pre) gemms(fwdOps, d16, g0, gn, pre.dH, pre.dW, g0 === 0 ? 0 : 1);
  }
  fwdOps.free();
  if (pre?.dW && N === 0) pre.dW.data().fill(0);

  const { out, cePart, zPart } = T.noGrad(() => {
    const zRows = zCoef !== 0 ? T.mulScalar(T.square(lseRows), zCoef) : null;
    const ceSum = T.sum(lossRows).item(), zSum = zRows ? T.sum(zRows).item() : 0;
    if (o.reduction === 'none') {
      return { out: T.reshape(zRows ? T.add(lossRows, zRows) : lossRows, tShape), cePart: ceSum, zPart: zSum };
    }
    // D = 0: NaN, as crossEntropy's reduceRows (PyTorch 1.13).
    const ce = mean ? (D === 0 ? NaN : ceSum / D) : ceSum, z = !zRows ? 0 : mean ? zSum / N : zSum;
    return { out: T.full([], zRows ? ce + z : ce, dt), cePart: ce, zPart: z };
  });

  const inPlaceW = (options.accumulateWeightGradInPlace ?? true) && weight.gradFn === null;
  /** dW → weight.grad (accumulated in place, or adopted when there is none), or returned. */
  const deliverW = (dW: T.Tensor, g: number): T.Tensor | null => {
    const gOld = weight.grad;
    if (inPlaceW && !gOld) {
      weight.grad = (g === 1 ? dW : T.mulScalar(dW, g)).keep();
      return null;
    }
    if (inPlaceW && gOld && gOld.dtype === dt && T.sameShape(gOld.shape, weight.shape) && gOld.isContiguous()) {
      T.addInPlace(gOld, dW, g);
      return null;
    }
    return g === 1 ? dW : T.mulScalar(dW, g);
  };

  const loss = T.record(fn, out, [hidden, weight], (g) => {
    if (pre) {
      // Precomputed unit gradients: scale by g.
      const p = pre;
      pre = null;
      const g0 = g.item();
      notePeak();
      const dH = p.dH && hidden.requiresGrad ? T.reshape(g0 === 1 ? p.dH : T.mulScalar(p.dH, g0), hidden.shape) : null;
      const dW = p.dW && weight.requiresGrad ? deliverW(p.dW, g0) : null;
      return [dH, dW];
    }
    const needH = hidden.requiresGrad, needW = weight.requiresGrad;
    const dH = needH ? T.empty([N, Cin], dt) : null;
    const dW = needW ? T.empty([V, Cin], dt) : null;
    const gRows = o.reduction === 'none' ? T.reshape(T.contiguous(g), [N]) : null;
    const g0 = gRows ? 0 : g.item();
    const ops = operands(0, null);
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const n = Math.min(chunk, N - r0);
      T.scope(() => T.withGrad(true, () => {
        const { logits, rows } = chunkRows(ops, r0, n, true);
        if (gRows) {
          // 'none': per-row upstream gradients for the loss and, through coef·lse², the lse.
          const gr = T.narrow(gRows, 0, r0, n);
          const obj = zCoef !== 0 ? T.add(T.sum(T.mul(rows.loss, gr)), T.sum(T.mul(T.mulScalar(T.square(rows.lse), zCoef), gr)))
            : T.sum(T.mul(rows.loss, gr));
          T.backward(obj);
        } else T.backward(T.mulScalar(chunkObjective(rows), g0));
        notePeak();
        gemms(ops, logits.grad!, r0, n, dH, dW, r0 === 0 ? 0 : 1);
        logits.clearGrad();
      }));
    }
    ops.free();
    if (dW && N === 0) dW.data().fill(0);
    if (dH && V === 0) dH.data().fill(0);
    return [dH ? T.reshape(dH, hidden.shape) : null, dW ? deliverW(dW, 1) : null];
  });
  return { loss, crossEntropy: cePart, zLoss: zPart };
}

/** Σ w[y] over counted targets (the number of counted targets when unweighted). */
function countedWeight(t: T.Tensor, weight: T.Tensor | null, ignoreIndex: number, dt: 'float32' | 'float64'): number {
  const { safe, ignored } = splitIgnored(t, ignoreIndex);
  const w = weight ? T.cast(T.indexSelect(weight, safe), dt) : T.ones([t.numel()], dt);
  return T.sum(T.maskedFill(w, ignored, 0)).item();
}
