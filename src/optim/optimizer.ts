/**
 * `Optimizer`: the base of SGD, Adam and AdamW — parameter groups with their own options, per-
 * parameter state, `zeroGrad`, and a state dict for checkpoints (PyTorch `torch.optim.Optimizer`).
 *
 * Parameters are updated IN PLACE in their own storage (`p.data()` views); parameters and state
 * tensors are `keep()`-ed, so a training step run inside `scope()` releases only its temporaries.
 * A parameter whose `grad` is null is skipped entirely by `step()`: no update, no weight decay,
 * state (including its own step count) unchanged — PyTorch 1.13 semantics.
 */
import { ValueError, fmtShape } from '../errors.js';
import { noGrad, Tensor, withGrad, zeros } from '../tensor/index.js';
import { paramData, releaseOwned, updateInPlace } from './buffers.js';

/** Algorithms with a state dict; a state dict only loads into the optimiser that wrote it. */
export type Algorithm = 'sgd' | 'adam' | 'adamw';

/** A parameter group as given by the user: its parameters plus options overriding the defaults. */
export type ParamGroupSpec<O> = Partial<O> & {
  params: Iterable<Tensor>;
  /** Optional label (e.g. 'decay' / 'no_decay'), kept in the state dict. */
  name?: string;
  /** Learning rate schedules scale from (PyTorch `initial_lr`); defaults to `lr`. */
  initialLr?: number;
};

/** A parameter group inside an optimiser: every option filled in. Change `lr` between steps freely. */
export type ParamGroup<O> = O & { params: Tensor[]; name?: string; initialLr: number };

/** What an optimiser is built from: parameters (one group), or a list of group specs. */
export type ParamsArg<O> = Iterable<Tensor> | readonly ParamGroupSpec<O>[];

/** Per-parameter state: step count (Adam, AdamW) and named float32 buffers shaped like the parameter. */
export interface ParamState {
  step?: number;
  buffers: Record<string, Tensor>;
}

/** One parameter's state in a state dict (buffers are copies, row-major, shaped `shape`). */
export interface ParamStateDict {
  step?: number;
  shape: number[];
  buffers: Record<string, Float32Array>;
}

/**
 * An optimiser's state dict: plain JSON-able values plus Float32Arrays (see `splitStateDict` for a
 * JSON part and a tensor map, for safetensors). `state[i]` belongs to the i-th parameter counting
 * through the groups in order; null before the parameter's first update.
 */
export interface OptimizerStateDict {
  algorithm: Algorithm;
  state: (ParamStateDict | null)[];
  paramGroups: Array<Record<string, unknown> & { params: number[]; initialLr: number; name?: string }>;
}

/** Options of `zeroGrad`. */
export interface ZeroGradOptions {
  /**
   * true (default, PyTorch >= 2.0): set `grad` to null and return its buffer to the pool (a grad
   * tensor you still hold becomes unreadable); false (PyTorch 1.13 default): fill with zeros in place.
   */
  setToNone?: boolean;
}

const GROUP_KEYS = new Set(['params', 'name', 'initialLr']);

export abstract class Optimizer<O extends { lr: number }> {
  /** The algorithm's name, checked by `loadStateDict`. */
  abstract readonly algorithm: Algorithm;
  /** Options of groups that do not override them (validated). */
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** State by parameter; absent until the parameter's first update. */
  readonly state = new Map<Tensor, ParamState>();

  /**
   * @param params parameters (one group) or group specs `{params, lr?, weightDecay?, ...}`.
   * @param defaults every option of the algorithm (validated).
   * @throws ValueError for an empty parameter list, a parameter in two groups, a parameter that is
   *   not a contiguous float32 leaf, an unknown group option, or an option out of range.
   */
  protected constructor(params: ParamsArg<O>, defaults: O) {
    this.validateOptions(defaults, this.optimizerName());
    this.defaults = Object.freeze(copyOptions(defaults));
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new ValueError(`${this.optimizerName()}: params must be an iterable of tensors or of parameter groups, got ${String(params)}`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupSpec<O>>)];
    if (list.length === 0) throw new ValueError(`${this.optimizerName()}: optimizer got an empty parameter list (params)`);
    if (list.every((x) => x instanceof Tensor)) {
      this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<O>);
    } else {
      for (const g of list) {
        if (g instanceof Tensor) throw new ValueError(`${this.optimizerName()}: params mixes tensors and parameter groups; give one or the other`);
        this.addParamGroup(g);
      }
    }
  }

  /** Human name for messages ('AdamW'). */
  protected abstract optimizerName(): string;
  /** @throws ValueError naming the option when `o` is out of range. */
  protected abstract validateOptions(o: O, where: string): void;
  /** Names of the state buffers this algorithm may hold (for `loadStateDict`). */
  protected abstract bufferNames(): readonly string[];
  /** Updates the parameters of one group that have a gradient. */
  protected abstract updateGroup(group: ParamGroup<O>): void;

  /**
   * Adds a parameter group; options not given come from `defaults`.
   * @throws ValueError as described for the constructor.
   */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const where = `${this.optimizerName()} param group ${this.paramGroups.length}`;
    if (spec === null || typeof spec !== 'object' || !('params' in spec)) {
      throw new ValueError(`${where}: a parameter group must be an object {params, ...options}, got ${String(spec)}`);
    }
    const raw = spec as Record<string, unknown>;
    const allowed = Object.keys(this.defaults);
    for (const k of Object.keys(raw)) {
      if (!GROUP_KEYS.has(k) && !allowed.includes(k)) {
        throw new ValueError(`${where}: unknown option '${k}' (options: ${[...allowed, 'name', 'initialLr'].join(', ')})`);
      }
    }
    const ps = raw.params;
    if (ps === null || typeof ps !== 'object' || typeof (ps as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new ValueError(`${where}: params must be an iterable of tensors, got ${String(ps)}`);
    }
    const params = [...(ps as Iterable<unknown>)];
    const seen = new Set(this.parameters());
    const mine = new Set<Tensor>();
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ValueError(`${where}: params[${i}] is not a Tensor`);
      if (p.gradFn !== null) throw new ValueError(`${where}: params[${i}] (shape ${fmtShape(p.shape)}) is not a leaf tensor; can't optimize a non-leaf Tensor`);
      paramData(p, `${where} params[${i}]`);
      if (seen.has(p)) throw new ValueError(`${where}: params[${i}] also appears in an earlier parameter group; some parameters appear in more than one parameter group`);
      if (mine.has(p)) throw new ValueError(`${where}: params[${i}] appears twice in the group`);
      mine.add(p);
    });
    const opts = copyOptions(this.defaults) as Record<string, unknown>;
    for (const k of allowed) if (raw[k] !== undefined) opts[k] = Array.isArray(raw[k]) ? [...(raw[k] as unknown[])] : raw[k];
    this.validateOptions(opts as O, where);
    const initialLr = raw.initialLr ?? opts.lr;
    if (typeof initialLr !== 'number' || !(initialLr >= 0)) throw new ValueError(`${where}: initialLr must be a number >= 0, got ${String(initialLr)}`);
    if (raw.name !== undefined && typeof raw.name !== 'string') throw new ValueError(`${where}: name must be a string, got ${String(raw.name)}`);
    for (const p of params as Tensor[]) p.keep();
    const group = { ...opts, params: params as Tensor[], initialLr } as ParamGroup<O>;
    if (raw.name !== undefined) group.name = raw.name as string;
    this.paramGroups.push(group);
  }

  /** Every parameter, group by group, in order (the order state dicts index). */
  parameters(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * One optimisation step over every parameter that has a gradient.
   * @param closure optional: re-evaluates the model and returns the loss (run with grad enabled
   *   before the update, as PyTorch does); its value is returned.
   */
  step(closure?: () => number): number | undefined {
    const loss = closure ? withGrad(true, closure) : undefined;
    noGrad(() => {
      for (const g of this.paramGroups) this.updateGroup(g);
    });
    return loss;
  }

  /** Sets the learning rate of every group (a schedule's value for the next step). */
  setLr(lr: number): void {
    if (typeof lr !== 'number' || !(lr >= 0)) throw new ValueError(`${this.optimizerName()}.setLr: Invalid learning rate: ${lr} (lr must be >= 0)`);
    for (const g of this.paramGroups) g.lr = lr;
  }

  /**
   * Clears the gradients of every parameter (see {@link ZeroGradOptions}). With `setToNone` the
   * gradient's buffer goes back to the pool when it is a whole pooled buffer of its own (what
   * backward allocates); gradients that are views of shared buffers are only dropped.
   */
  zeroGrad(opts: ZeroGradOptions = {}): void {
    const setToNone = opts.setToNone ?? true;
    const params = this.parameters();
    const paramStorages = new Set(params.map((p) => p.storage));
    const released = new Set<unknown>();
    for (const p of params) {
      const g = p.grad;
      if (g === null) continue;
      if (!setToNone) {
        updateInPlace(g, (x) => x.fill(0));
        continue;
      }
      p.grad = null;
      const st = g.storage;
      if (st.pooled && !st.released && !released.has(st) && !paramStorages.has(st) && g.offset === 0 && g.numel() === st.length) {
        released.add(st);
        releaseOwned(g);
      }
    }
  }

  /** The state for a parameter, created (step 0, no buffers) on its first update. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { buffers: {} };
      this.state.set(p, s);
    }
    return s;
  }

  /** A zero-initialised kept float32 buffer shaped like `p`, registered as `name` in its state. */
  protected newBuffer(p: Tensor, s: ParamState, name: string): Float32Array {
    const t = zeros(p.shape, 'float32').keep();
    s.buffers[name] = t;
    return t.data() as Float32Array;
  }

  /** A plain copy of the optimiser's state (see {@link OptimizerStateDict}). */
  stateDict(): OptimizerStateDict {
    const state: (ParamStateDict | null)[] = [];
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        ids.push(index++);
        const s = this.state.get(p);
        if (!s) { state.push(null); continue; }
        const buffers: Record<string, Float32Array> = {};
        for (const [k, t] of Object.entries(s.buffers)) buffers[k] = (t.data() as Float32Array).slice();
        const entry: ParamStateDict = { shape: [...p.shape], buffers };
        if (s.step !== undefined) entry.step = s.step;
        state.push(entry);
      }
      const opts = copyOptions(pickOptions(g, Object.keys(this.defaults)));
      const out = { ...opts, params: ids, initialLr: g.initialLr } as OptimizerStateDict['paramGroups'][number];
      if (g.name !== undefined) out.name = g.name;
      paramGroups.push(out);
    }
    return { algorithm: this.algorithm, state, paramGroups };
  }

  /**
   * Restores a state dict written by `stateDict()` of the same algorithm over parameters of the
   * same shapes in the same groups: group options (lr, betas, ...) and per-parameter state are
   * replaced; parameter values are not touched (load them from the model checkpoint). Buffers may
   * be Float32Arrays or plain number arrays (a JSON round trip); values are copied.
   * @throws ValueError (nothing changed) when the dict does not fit this optimiser.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = `${this.optimizerName()}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new ValueError(`${where}: state dict must be an object, got ${String(sd)}`);
    if (sd.algorithm !== this.algorithm) throw new ValueError(`${where}: state dict of algorithm '${String(sd.algorithm)}', this optimizer is '${this.algorithm}'`);
    if (!Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(`${where}: loaded state dict has ${Array.isArray(sd.paramGroups) ? sd.paramGroups.length : 'no'} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    const params = this.parameters();
    if (!Array.isArray(sd.state) || sd.state.length !== params.length) {
      throw new ValueError(`${where}: state dict has state for ${Array.isArray(sd.state) ? sd.state.length : 'no'} parameters, this optimizer has ${params.length}`);
    }
    const keys = Object.keys(this.defaults);
    const newOpts: Record<string, unknown>[] = [];
    let index = 0;
    sd.paramGroups.forEach((sg, gi) => {
      const g = this.paramGroups[gi];
      const w = `${where}: paramGroups[${gi}]`;
      if (!Array.isArray(sg.params) || sg.params.length !== g.params.length) {
        throw new ValueError(`${w} has ${Array.isArray(sg.params) ? sg.params.length : 'no'} parameters, this optimizer's group has ${g.params.length}`);
      }
      sg.params.forEach((id, k) => {
        if (id !== index + k) throw new ValueError(`${w}.params[${k}] is ${id}, expected ${index + k} (parameters are numbered in group order)`);
      });
      index += g.params.length;
      const opts: Record<string, unknown> = {};
      for (const k of keys) {
        if (sg[k] === undefined) throw new ValueError(`${w}: option '${k}' is missing`);
        opts[k] = Array.isArray(sg[k]) ? [...(sg[k] as unknown[])] : sg[k];
      }
      this.validateOptions(opts as O, w);
      if (typeof sg.initialLr !== 'number') throw new ValueError(`${w}: initialLr must be a number, got ${String(sg.initialLr)}`);
      opts.initialLr = sg.initialLr;
      newOpts.push(opts);
    });
    const names = this.bufferNames();
    sd.state.forEach((e, i) => {
      if (e === null) return;
      const p = params[i];
      const w = `${where}: state[${i}]`;
      if (typeof e !== 'object' || !Array.isArray(e.shape) || e.shape.length !== p.ndim || e.shape.some((s, d) => s !== p.shape[d])) {
        throw new ValueError(`${w} has shape ${e && Array.isArray(e.shape) ? fmtShape(e.shape) : 'missing'}, its parameter has shape ${fmtShape(p.shape)}`);
      }
      if (e.step !== undefined && (!Number.isInteger(e.step) || e.step < 0)) throw new ValueError(`${w}.step must be an integer >= 0, got ${String(e.step)}`);
      if (e.buffers === null || typeof e.buffers !== 'object') throw new ValueError(`${w}.buffers must be an object`);
      for (const [k, b] of Object.entries(e.buffers)) {
        if (!names.includes(k)) throw new ValueError(`${w}: unknown buffer '${k}' (${this.optimizerName()} keeps ${names.join(', ') || 'none'})`);
        const len = b && typeof (b as ArrayLike<number>).length === 'number' ? (b as ArrayLike<number>).length : -1;
        if (len !== p.numel()) throw new ValueError(`${w}.buffers.${k} has ${len < 0 ? 'no' : len} values, its parameter has ${p.numel()}`);
      }
    });
    // Everything checked: apply.
    newOpts.forEach((o, gi) => Object.assign(this.paramGroups[gi], o));
    sd.state.forEach((e, i) => {
      const p = params[i];
      const old = this.state.get(p);
      if (e === null) {
        if (old) for (const t of Object.values(old.buffers)) releaseOwned(t);
        this.state.delete(p);
        return;
      }
      const s: ParamState = { buffers: {} };
      if (e.step !== undefined) s.step = e.step;
      for (const [k, b] of Object.entries(e.buffers)) {
        const t = old?.buffers[k] ?? zeros(p.shape, 'float32').keep();
        (t.data() as Float32Array).set(b as ArrayLike<number>);
        s.buffers[k] = t;
      }
      if (old) for (const [k, t] of Object.entries(old.buffers)) if (!(k in s.buffers)) releaseOwned(t);
      this.state.set(p, s);
    });
  }
}

function copyOptions<T>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) out[k] = Array.isArray(v) ? [...v] : v;
  return out as T;
}

function pickOptions(g: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = g[k];
  return out;
}

/** Throws ValueError `${where}: Invalid <label>: <v>` unless `v` is a number satisfying `ok`. */
export function checkNumber(v: unknown, option: string, where: string, ok: (x: number) => boolean, rule: string): void {
  if (typeof v !== 'number' || !ok(v)) {
    throw new ValueError(`${where}: invalid ${option}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)} (${option} must be ${rule})`);
  }
}

/** Throws ValueError unless `v` is a boolean. */
export function checkBool(v: unknown, option: string, where: string): void {
  if (typeof v !== 'boolean') throw new ValueError(`${where}: invalid ${option}: ${String(v)} (${option} must be true or false)`);
}
