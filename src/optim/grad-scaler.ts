/**
 * `GradScaler`: dynamic loss scaling for mixed precision, with `torch.cuda.amp.GradScaler`
 * semantics (PyTorch 1.13; the `capScaleGrowthAtFp32Max` option adds the PyTorch >= 2.1 rule).
 *
 * Use per optimizer step:
 *   backward(scaler.scale(loss)); scaler.unscale_(opt); clipGradNorm(params, 1); scaler.step(opt); scaler.update();
 * The scale is a float32 value (arithmetic rounded with Math.fround): `scale(loss)` = float32(loss·S);
 * `unscale_` multiplies every gradient by float32(1/S) in place and records whether any scaled
 * gradient was NaN/±inf; `step` skips the optimizer step when one was; `update` halves S
 * (backoffFactor) after an overflow and resets the growth tracker, otherwise counts clean steps and
 * multiplies S by growthFactor after `growthInterval` of them.
 * Source: Micikevicius et al. 2018, "Mixed Precision Training" §3.2; PyTorch `torch/cuda/amp/grad_scaler.py`.
 */
import { ValueError } from '../errors.js';
import { mulScalar, type Tensor } from '../tensor/index.js';
import { updateInPlace } from './buffers.js';
import type { Optimizer } from './optimizer.js';

/** GradScaler options (PyTorch names in camelCase). */
export interface GradScalerOptions {
  /** Initial scale S, > 0; default 65536 (2^16). */
  initScale?: number;
  /** Factor S grows by after `growthInterval` clean steps, > 1; default 2. */
  growthFactor?: number;
  /** Factor S shrinks by after an overflow, in (0, 1); default 0.5. */
  backoffFactor?: number;
  /** Clean steps between growths, an integer >= 1; default 2000. */
  growthInterval?: number;
  /** Keep S when growing would overflow float32 (PyTorch >= 2.1); default false (1.13: S becomes inf). */
  capScaleGrowthAtFp32Max?: boolean;
  /** false: scale/unscale_ do nothing and step always steps; default true. */
  enabled?: boolean;
}

/** The scaler's state for checkpoints (`trainer_state.json`); `scale` may be Infinity (JSON: use a replacer). */
export interface GradScalerState {
  scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  growthTracker: number;
  capScaleGrowthAtFp32Max: boolean;
}

type Stage = 'unscaled' | 'stepped';
interface PerOptimizer { stage: Stage; foundInf: boolean }

const fround = Math.fround;

function positive(v: unknown, name: string, ok: (x: number) => boolean, rule: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new ValueError(`GradScaler: invalid ${name}: ${String(v)} (${name} must be ${rule})`);
  return v;
}

export class GradScaler {
  private scaleValue: number;
  private growthTracker = 0;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  capScaleGrowthAtFp32Max: boolean;
  readonly enabled: boolean;
  private perOptimizer = new Map<Optimizer<{ lr: number }>, PerOptimizer>();

  /** @throws ValueError naming the option when an option is out of range. */
  constructor(opts: GradScalerOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new ValueError(`GradScaler: options must be an object, got ${String(opts)}`);
    this.scaleValue = fround(positive(opts.initScale ?? 65536, 'initScale', (x) => x > 0, 'a number > 0'));
    this.growthFactor = positive(opts.growthFactor ?? 2, 'growthFactor', (x) => x > 1, 'a number > 1');
    this.backoffFactor = positive(opts.backoffFactor ?? 0.5, 'backoffFactor', (x) => x > 0 && x < 1, 'in (0, 1)');
    this.growthInterval = positive(opts.growthInterval ?? 2000, 'growthInterval', (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
    const cap = opts.capScaleGrowthAtFp32Max ?? false;
    const enabled = opts.enabled ?? true;
    if (typeof cap !== 'boolean') throw new ValueError(`GradScaler: invalid capScaleGrowthAtFp32Max: ${String(cap)} (must be true or false)`);
    if (typeof enabled !== 'boolean') throw new ValueError(`GradScaler: invalid enabled: ${String(enabled)} (must be true or false)`);
    this.capScaleGrowthAtFp32Max = cap;
    this.enabled = enabled;
  }

  /** The current scale S (float32 value); 1 when disabled. */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }

  /** Clean steps counted towards the next growth. */
  getGrowthTracker(): number {
    return this.growthTracker;
  }

  /**
   * The loss multiplied by S, float32 (differentiable: backward of it gives S·gradients).
   * A number gives `float32(loss·S)`. Disabled: the loss unchanged.
   */
  scale(loss: Tensor): Tensor;
  scale(loss: number): number;
  scale(loss: Tensor | number): Tensor | number {
    if (!this.enabled) return loss;
    if (typeof loss === 'number') return fround(loss * this.scaleValue);
    return mulScalar(loss, this.scaleValue);
  }

  /**
   * Divides the gradients of the optimizer's parameters by S in place (multiplies by float32(1/S))
   * and records whether any gradient was NaN or ±inf before unscaling. Call it before clipping;
   * `step` calls it when you have not.
   * @throws ValueError when called twice for one optimizer before `update()`, or after `step()`.
   */
  unscale_(optimizer: Optimizer<{ lr: number }>): void {
    if (!this.enabled) return;
    const st = this.perOptimizer.get(optimizer);
    if (st?.stage === 'unscaled') throw new ValueError('GradScaler.unscale_: unscale_() has already been called on this optimizer since the last update()');
    if (st?.stage === 'stepped') throw new ValueError('GradScaler.unscale_: unscale_() is being called after step(); call update() first');
    const inv = fround(1 / this.scaleValue);
    let foundInf = false;
    for (const p of optimizer.parameters()) {
      if (p.grad === null) continue;
      updateInPlace(p.grad, (x) => {
        for (let i = 0; i < x.length; i++) {
          const v = x[i];
          if (!Number.isFinite(v)) foundInf = true;
          x[i] = v * inv;
        }
      });
    }
    this.perOptimizer.set(optimizer, { stage: 'unscaled', foundInf });
  }

  /**
   * Whether `unscale_` found a NaN or ±inf gradient of `optimizer` since the last `update()` (the
   * step that `step` skips); null when the optimizer has not been unscaled since. Disabled: false.
   */
  foundInf(optimizer: Optimizer<{ lr: number }>): boolean | null {
    if (!this.enabled) return false;
    return this.perOptimizer.get(optimizer)?.foundInf ?? null;
  }

  /**
   * Unscales (unless `unscale_` already did) and runs `optimizer.step()` unless a gradient was
   * NaN/±inf. Disabled: always steps.
   * @returns true when the optimizer stepped, false when the step was skipped.
   * @throws ValueError when called twice for one optimizer before `update()`.
   */
  step(optimizer: Optimizer<{ lr: number }>): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    let st = this.perOptimizer.get(optimizer);
    if (st?.stage === 'stepped') throw new ValueError('GradScaler.step: step() has already been called since the last update()');
    if (!st) {
      this.unscale_(optimizer);
      st = this.perOptimizer.get(optimizer)!;
    }
    st.stage = 'stepped';
    if (st.foundInf) return false;
    optimizer.step();
    return true;
  }

  /**
   * Updates S after the iteration's steps: backoff and tracker reset when any optimizer saw
   * NaN/inf, otherwise tracker + 1 and growth at `growthInterval`. `newScale` sets S directly.
   * @throws ValueError when no optimizer was unscaled or stepped since the last update, or
   *   `newScale` is not a number > 0.
   */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this.scaleValue = fround(positive(newScale, 'newScale', (x) => x > 0, 'a number > 0'));
      this.perOptimizer.clear();
      return;
    }
    if (this.perOptimizer.size === 0) {
      throw new ValueError('GradScaler.update: no inf checks were recorded prior to update() (call step() or unscale_() first)');
    }
    const foundInf = [...this.perOptimizer.values()].some((s) => s.foundInf);
    this.perOptimizer.clear();
    if (foundInf) {
      this.scaleValue = fround(this.scaleValue * this.backoffFactor);
      this.growthTracker = 0;
      return;
    }
    const successful = this.growthTracker + 1;
    if (successful === this.growthInterval) {
      const grown = fround(this.scaleValue * this.growthFactor);
      if (Number.isFinite(grown) || !this.capScaleGrowthAtFp32Max) this.scaleValue = grown;
      this.growthTracker = 0;
    } else {
      this.growthTracker = successful;
    }
  }

  /** A plain copy of the scaler's state. */
  stateDict(): GradScalerState {
    return {
      scale: this.scaleValue,
      growthFactor: this.growthFactor,
      backoffFactor: this.backoffFactor,
      growthInterval: this.growthInterval,
      growthTracker: this.growthTracker,
      capScaleGrowthAtFp32Max: this.capScaleGrowthAtFp32Max,
    };
  }

  /**
   * Restores a state written by `stateDict()`: scale, growth tracker, factors and interval (like
   * PyTorch's `load_state_dict`, the saved settings replace the constructor's).
   * @throws ValueError naming the field for a malformed state.
   */
  loadStateDict(state: GradScalerState): void {
    if (state === null || typeof state !== 'object') throw new ValueError(`GradScaler.loadStateDict: state must be an object, got ${String(state)}`);
    const scale = positive(state.scale, 'state.scale', (x) => x > 0, 'a number > 0');
    const tracker = positive(state.growthTracker, 'state.growthTracker', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    const gf = positive(state.growthFactor ?? this.growthFactor, 'state.growthFactor', (x) => x > 1, 'a number > 1');
    const bf = positive(state.backoffFactor ?? this.backoffFactor, 'state.backoffFactor', (x) => x > 0 && x < 1, 'in (0, 1)');
    const gi = positive(state.growthInterval ?? this.growthInterval, 'state.growthInterval', (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
    const cap = state.capScaleGrowthAtFp32Max ?? this.capScaleGrowthAtFp32Max;
    if (typeof cap !== 'boolean') throw new ValueError(`GradScaler.loadStateDict: invalid state.capScaleGrowthAtFp32Max: ${String(cap)} (must be true or false)`);
    this.scaleValue = fround(scale);
    this.growthTracker = tracker;
    this.growthFactor = gf;
    this.backoffFactor = bf;
    this.growthInterval = gi;
    this.capScaleGrowthAtFp32Max = cap;
    this.perOptimizer.clear();
  }
}
