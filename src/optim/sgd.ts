/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay
 * (PyTorch 1.13 `torch.optim.SGD`, `_single_tensor_sgd`). Per parameter with a gradient g:
 *   d = g (−g when maximize) + weightDecay·p
 *   momentum ≠ 0: buf = d on the parameter's first update, else buf = momentum·buf + (1 − dampening)·d;
 *                 d = d + momentum·buf (nesterov) or d = buf
 *   p -= lr·d
 * Intermediates that PyTorch keeps in float32 tensors (d, buf) are rounded to float32.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/index.js';
import { gradData, paramData } from './buffers.js';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';

/** SGD options (PyTorch names in camelCase). */
export interface SgdOptions {
  /** Learning rate, >= 0 (required). */
  lr: number;
  /** Momentum factor, >= 0; default 0. */
  momentum: number;
  /** Dampening of the gradient's contribution to the momentum buffer; default 0. */
  dampening: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0); default false. */
  nesterov: boolean;
  /** L2 penalty added to the gradient, >= 0; default 0. */
  weightDecay: number;
  /** Maximise the objective instead (negated gradient); default false. */
  maximize: boolean;
}

const fround = Math.fround;

export class SGD extends Optimizer<SgdOptions> {
  get algorithm(): 'sgd' { return 'sgd'; }

  /**
   * @param params parameters or parameter groups (float32, contiguous leaves; kept by the optimiser).
   * @param options `lr` required; see {@link SgdOptions}.
   * @throws ValueError naming the option (negative lr / momentum / weightDecay, nesterov without
   *   momentum or with dampening) or the bad parameter.
   */
  constructor(params: ParamsArg<SgdOptions>, options: Partial<SgdOptions> & { lr: number }) {
    if (options === null || typeof options !== 'object') throw new ValueError(`SGD: options must be an object with lr, got ${String(options)}`);
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...options });
  }

  protected optimizerName(): string { return 'SGD'; }

  protected bufferNames(): readonly string[] { return ['momentumBuffer']; }

  protected validateOptions(o: SgdOptions, where: string): void {
    checkNumber(o.lr, 'lr', where, (x) => x >= 0, 'a number >= 0 (learning rate)');
    checkNumber(o.momentum, 'momentum', where, (x) => x >= 0, 'a number >= 0');
    checkNumber(o.dampening, 'dampening', where, (x) => Number.isFinite(x), 'a finite number');
    checkNumber(o.weightDecay, 'weightDecay', where, (x) => x >= 0, 'a number >= 0');
    checkBool(o.nesterov, 'nesterov', where);
    checkBool(o.maximize, 'maximize', where);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ValueError(`${where}: nesterov momentum requires a momentum > 0 and zero dampening (momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  }

  protected updateGroup(group: ParamGroup<SgdOptions>): void {
    const { lr, momentum, dampening, nesterov, weightDecay: wd, maximize } = group;
    const sign = maximize ? -1 : 1;
    for (const p of group.params) {
      const g = gradData(p, 'SGD.step');
      if (g === null) continue;
      this.updateParam(p, g, lr, momentum, dampening, nesterov, wd, sign);
    }
  }

  private updateParam(p: Tensor, g: Float32Array, lr: number, momentum: number, dampening: number, nesterov: boolean,
    wd: number, sign: number): void {
    const x = paramData(p, 'SGD.step');
    const n = x.length;
    const s = this.stateOf(p);
    if (momentum === 0) {
      for (let i = 0; i < n; i++) {
        const d = wd !== 0 ? fround(sign * g[i] + wd * x[i]) : sign * g[i];
        x[i] = x[i] - lr * d;
      }
      return;
    }
    const existing = s.buffers.momentumBuffer;
    const first = existing === undefined;
    const buf = first ? this.newBuffer(p, s, 'momentumBuffer') : (existing.data() as Float32Array);
    const keep = 1 - dampening;
    for (let i = 0; i < n; i++) {
      const d = wd !== 0 ? fround(sign * g[i] + wd * x[i]) : sign * g[i];
      const b = first ? d : fround(fround(momentum * buf[i]) + keep * d);
      buf[i] = b;
      const step = nesterov ? fround(d + momentum * b) : b;
      x[i] = x[i] - lr * step;
    }
  }
}
