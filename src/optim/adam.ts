/**
 * Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), PyTorch 1.13
 * `torch.optim.Adam` / `torch.optim.AdamW` (`_single_tensor_adam[w]`). Per parameter with a
 * gradient g, t = its own step count + 1, bc1 = 1 − β1^t, bc2 = 1 − β2^t:
 *   Adam:  g ← g + wd·p                      AdamW: p ← p·(1 − lr·wd)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  amsgrad: v̂ = max(v̂, v), used for v below
 *   p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
 * Sources: Kingma & Ba 2015 (Algorithm 1); Loshchilov & Hutter 2019 (decoupled decay); Reddi et al.
 * 2018 (AMSGrad). The non-amsgrad update runs in the backend's fused `adamw` kernel (with wd 0 and a
 * pre-decayed gradient for Adam's L2 term), so the native backend speeds it up.
 */
import { getBackend } from '../backend/index.js';
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/index.js';
import { gradData, paramData, updateInPlace } from './buffers.js';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';

/** Adam / AdamW options (PyTorch names in camelCase). */
export interface AdamOptions {
  /** Learning rate, >= 0; default 1e-3. */
  lr: number;
  /** Coefficients of the running averages of g and g², each in [0, 1); default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator, >= 0; default 1e-8. */
  eps: number;
  /** Weight decay, >= 0: L2 in the gradient (Adam, default 0) or decoupled (AdamW, default 1e-2). */
  weightDecay: number;
  /** AMSGrad: divide by the running maximum of v; default false. */
  amsgrad: boolean;
  /** Maximise the objective instead (negated gradient); default false. */
  maximize: boolean;
}

const fround = Math.fround;

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** Scratch for gradients rewritten before the fused kernel (L2 term, maximize). */
  private scratch = new Float32Array(0);
  /** Gradient clipping's coefficient handed over by clipGradNorm (deferGradScale), and the gradients it applies to. */
  private deferred: { coef: number; grads: Set<Tensor> } | null = null;

  /**
   * Takes over the scale of gradient clipping (clipGradNorm's `deferTo`): the next step() uses each
   * gradient of `grads` times `coef`, rounded to float32 as an in-place scale rounds it, so the
   * parameters and state come out as after clipping in place; the fused kernel applies it as it
   * reads the gradient, which saves a read and a write of every gradient. The gradients themselves
   * keep their unscaled values. zeroGrad() and a step() with a closure (scaled first, in place)
   * end the hand-over. Returns false, taking nothing over, when a gradient of `grads` is not the
   * `grad` of one of this optimizer's parameters (the caller then scales in place).
   */
  deferGradScale(coef: number, grads: readonly Tensor[]): boolean {
    const own = new Set<Tensor>();
    for (const p of this.parameters()) if (p.grad) own.add(p.grad);
    if (!grads.every((g) => own.has(g))) return false;
    this.deferred = { coef, grads: new Set(grads) };
    return true;
  }

  /** One step (see Optimizer.step); a deferred clipping scale applies to this step only. */
  override step(closure?: () => number): number | undefined {
    // The closure may compute new gradients: the pending scale goes to the current ones first.
    if (closure) this.flushDeferred();
    try {
      return super.step(closure);
    } finally {
      this.deferred = null;
    }
  }

  override zeroGrad(opts?: Parameters<Optimizer<AdamOptions>['zeroGrad']>[0]): void {
    this.deferred = null;
    super.zeroGrad(opts);
  }

  /** Scales the deferred gradients in place now (as clipGradNorm would have). */
  private flushDeferred(): void {
    const d = this.deferred;
    this.deferred = null;
    if (!d) return;
    const be = getBackend();
    for (const g of d.grads) updateInPlace(g, (x) => be.unary('mulScalar', x, x, x.length, d.coef));
  }

  protected abstract decoupled(): boolean;

  protected bufferNames(): readonly string[] { return ['expAvg', 'expAvgSq', 'maxExpAvgSq']; }

  protected validateOptions(o: AdamOptions, where: string): void {
    checkNumber(o.lr, 'lr', where, (x) => x >= 0, 'a number >= 0 (learning rate)');
    checkNumber(o.eps, 'eps', where, (x) => x >= 0, 'a number >= 0');
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new ValueError(`${where}: invalid betas: ${String(o.betas)} (betas must be a pair [beta1, beta2])`);
    }
    checkNumber(o.betas[0], 'betas[0]', where, (x) => x >= 0 && x < 1, 'in [0, 1)');
    checkNumber(o.betas[1], 'betas[1]', where, (x) => x >= 0 && x < 1, 'in [0, 1)');
    checkNumber(o.weightDecay, 'weightDecay', where, (x) => x >= 0, 'a number >= 0');
    checkBool(o.amsgrad, 'amsgrad', where);
    checkBool(o.maximize, 'maximize', where);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>): void {
    for (const p of group.params) {
      const g = gradData(p, `${this.optimizerName()}.step`);
      if (g === null) continue;
      this.updateParam(p, g, group);
    }
  }

  private updateParam(p: Tensor, g: Float32Array, o: ParamGroup<AdamOptions>): void {
    const x = paramData(p, `${this.optimizerName()}.step`);
    const n = x.length;
    const s = this.stateOf(p);
    let m: Float32Array, v: Float32Array;
    if (s.step === undefined) {
      s.step = 0;
      m = this.newBuffer(p, s, 'expAvg');
      v = this.newBuffer(p, s, 'expAvgSq');
    } else {
      m = s.buffers.expAvg.data() as Float32Array;
      v = s.buffers.expAvgSq.data() as Float32Array;
    }
    s.step += 1;
    const t = s.step;
    const { lr, eps, weightDecay: wd, amsgrad, maximize } = o;
    const [b1, b2] = o.betas;
    const bc1 = 1 - Math.pow(b1, t);
    const bc2 = 1 - Math.pow(b2, t);
    const decoupled = this.decoupled();
    let scale = this.deferred && p.grad && this.deferred.grads.has(p.grad) ? this.deferred.coef : 1;
    if (scale !== 1 && (amsgrad || maximize || (!decoupled && wd !== 0))) {
      // Paths outside the fused kernel read the gradient as clipping in place would have left it.
      updateInPlace(p.grad!, (xs) => getBackend().unary('mulScalar', xs, xs, xs.length, scale));
      g = gradData(p, `${this.optimizerName()}.step`)!;
      scale = 1;
    }
    if (amsgrad) {
      const vmax = s.buffers.maxExpAvgSq ? (s.buffers.maxExpAvgSq.data() as Float32Array) : this.newBuffer(p, s, 'maxExpAvgSq');
      amsgradUpdate(x, g, m, v, vmax, n, lr, b1, b2, eps, decoupled ? wd : 0, decoupled ? 0 : wd, maximize, bc1, bc2);
      return;
    }
    let gg = g;
    if (maximize || (!decoupled && wd !== 0)) {
      if (this.scratch.length < n) this.scratch = new Float32Array(n);
      gg = this.scratch.subarray(0, n);
      const sign = maximize ? -1 : 1;
      const l2 = decoupled ? 0 : wd;
      for (let i = 0; i < n; i++) gg[i] = sign * g[i] + l2 * x[i];
    }
    getBackend().adamw(x, gg, m, v, n, lr, b1, b2, eps, decoupled ? wd : 0, bc1, bc2, scale);
  }
}

/**
 * The AMSGrad update (the fused kernel has no running maximum). `decay` is AdamW's decoupled decay,
 * `l2` Adam's gradient term; intermediates PyTorch keeps in float32 tensors are rounded to float32.
 */
function amsgradUpdate(x: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array, n: number,
  lr: number, b1: number, b2: number, eps: number, decay: number, l2: number, maximize: boolean, bc1: number, bc2: number): void {
  const scale = 1 - lr * decay;
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  const sign = maximize ? -1 : 1;
  for (let i = 0; i < n; i++) {
    const gi = l2 !== 0 ? fround(sign * g[i] + l2 * x[i]) : sign * g[i];
    const mi = fround(b1 * m[i] + (1 - b1) * gi);
    const vi = fround(b2 * v[i] + (1 - b2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    // Math.max propagates NaN, as torch.maximum does.
    const vm = Math.max(vmax[i], vi);
    vmax[i] = vm;
    const xi = decay !== 0 ? fround(x[i] * scale) : x[i];
    const denom = fround(fround(Math.sqrt(vm)) / sqrtBc2 + eps);
    x[i] = xi - stepSize * (mi / denom);
  }
}

/** Adam with L2 weight decay added to the gradient (PyTorch `torch.optim.Adam`). */
export class Adam extends AdamBase {
  get algorithm(): 'adam' { return 'adam'; }

  /**
   * @param params parameters or parameter groups (float32, contiguous leaves; kept by the optimiser).
   * @param options defaults lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, amsgrad false.
   * @throws ValueError naming the option (negative lr / eps / weightDecay, betas outside [0, 1)).
   */
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    if (options === null || typeof options !== 'object') throw new ValueError(`Adam: options must be an object, got ${String(options)}`);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }

  protected optimizerName(): string { return 'Adam'; }
  protected decoupled(): boolean { return false; }
}

/** AdamW: Adam with decoupled weight decay `p ← p·(1 − lr·wd)` (PyTorch `torch.optim.AdamW`). */
export class AdamW extends AdamBase {
  get algorithm(): 'adamw' { return 'adamw'; }

  /**
   * @param params parameters or parameter groups (float32, contiguous leaves; kept by the optimiser).
   * @param options defaults lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2, amsgrad false.
   * @throws ValueError naming the option (negative lr / eps / weightDecay, betas outside [0, 1)).
   */
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    if (options === null || typeof options !== 'object') throw new ValueError(`AdamW: options must be an object, got ${String(options)}`);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options });
  }

  protected optimizerName(): string { return 'AdamW'; }
  protected decoupled(): boolean { return true; }
}
