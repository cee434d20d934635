/**
 * `Module` and `Parameter`: the container every layer and model is built from (after PyTorch's
 * `torch.nn.Module`). A module owns named parameters (float tensors that require grad, with kept
 * storage), named buffers (state that is not trained: running statistics, position tables) and named
 * submodules; dotted names (`h.0.attn.c_attn.weight`) address them from the root.
 *
 * Registering a parameter, buffer or submodule also defines an accessor property of that name on the
 * instance, so `this.weight` always reads the registered tensor, even after `to('float64')` replaced it.
 * Subclasses declare those properties with `declare weight: Tensor;`.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';

/** A trainable tensor: float32 (or float64 in gradient checks), `requiresGrad`, storage kept across scopes. */
export type Parameter = T.Tensor;

/**
 * Marks `t` as a parameter: `requiresGrad` and kept storage (no scope releases it). Returns `t`.
 * @throws ValueError when `t` is not a float tensor.
 */
export function parameter(t: T.Tensor): Parameter {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new ValueError(`parameter: needs a float32 or float64 tensor, got dtype ${t.dtype}`);
  return t.requiresGrad_().keep();
}

/**
 * A state-dict value: a tensor, or plain `{shape, data}` with numeric values (e.g. read from a file;
 * int64 data as BigInt64Array is accepted; decode F16 / BF16 bit patterns to float32 first).
 */
export type StateValue = T.Tensor | { shape: readonly number[]; data: ArrayLike<number> | BigInt64Array | BigUint64Array };

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true). Shape mismatches are always errors. */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} reports (keys not loaded, keys not used). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * A state dict that does not fit a module. The message lists every missing key, unexpected key and
 * shape mismatch; the same lists are on the error object. Nothing was loaded when this is thrown.
 */
export class StateDictError extends ValueError {
  constructor(readonly missingKeys: string[], readonly unexpectedKeys: string[],
    readonly mismatchedShapes: Array<{ key: string; expected: number[]; got: number[] }>, context: string) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing keys (${missingKeys.length}): ${missingKeys.join(', ')}`);
    if (unexpectedKeys.length) parts.push(`unexpected keys (${unexpectedKeys.length}): ${unexpectedKeys.join(', ')}`);
    if (mismatchedShapes.length) {
      parts.push(`shape mismatches (${mismatchedShapes.length}): ${mismatchedShapes
        .map((m) => `${m.key}: module has ${fmtShape(m.expected)}, state dict has ${fmtShape(m.got)}`).join('; ')}`);
    }
    super(`${context}: state dict does not fit the module — ${parts.join('; ')}`);
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Base class of layers and models (see the module comment). */
/**
 * The first non-finite value of a state dict (`module.stateDict()`), or null when all are finite: the
 * one check every writer of weights (HF / ONNX export, a distillation teacher) makes before using them.
 */
export function firstNonFinite(state: Record<string, T.Tensor>): { name: string; index: number; value: number } | null {
  for (const [name, t] of Object.entries(state)) {
    const data = t.contiguous().data();
    const index = data.findIndex((x) => !Number.isFinite(x));
    if (index >= 0) return { name, index, value: data[index] };
  }
  return null;
}

export class Module {
  /** Training mode (dropout active, batch statistics); set by `train()` / `eval()`. */
  training = true;
  private readonly _parameters = new Map<string, T.Tensor | null>();
  private readonly _buffers = new Map<string, T.Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module | null>();

  private checkName(name: string, what: string): void {
    if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
      throw new ValueError(`${what} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
    }
    const taken = this._parameters.has(name) || this._buffers.has(name) || this._modules.has(name);
    if (!taken && name in this) throw new ValueError(`${what} name '${name}' clashes with an existing member of ${this.constructor.name}`);
  }

  private defineAccessor(name: string, get: () => unknown, set: (v: unknown) => void): void {
    if (!IDENT.test(name) && !/^\d+$/.test(name)) return;
    Object.defineProperty(this, name, { get, set, enumerable: true, configurable: true });
  }

  /**
   * Registers `t` (or null: an absent optional parameter such as a disabled bias) as parameter `name`;
   * `t` becomes a parameter (requiresGrad, kept). Returns `t`.
   * @throws ValueError for a bad or clashing name or a non-float tensor.
   */
  registerParameter<P extends T.Tensor | null>(name: string, t: P): P {
    this.checkName(name, 'parameter');
    if (t !== null) parameter(t);
    this._buffers.delete(name);
    this._modules.delete(name);
    this._parameters.set(name, t);
    this.defineAccessor(name, () => this._parameters.get(name) ?? null, (v) => {
      if (v !== null && !(v instanceof T.Tensor)) throw new ValueError(`parameter '${name}' must be a Tensor or null`);
      this._parameters.set(name, v === null ? null : parameter(v as T.Tensor));
    });
    return t;
  }

  /**
   * Registers a buffer: a tensor that is part of the module's state but not trained (kept storage).
   * Non-persistent buffers are left out of `stateDict()`. Returns `t`.
   */
  registerBuffer<B extends T.Tensor | null>(name: string, t: B, persistent = true): B {
    this.checkName(name, 'buffer');
    if (t !== null) t.keep();
    this._parameters.delete(name);
    this._modules.delete(name);
    this._buffers.set(name, t);
    if (persistent) this._nonPersistent.delete(name); else this._nonPersistent.add(name);
    this.defineAccessor(name, () => this._buffers.get(name) ?? null, (v) => {
      if (v !== null && !(v instanceof T.Tensor)) throw new ValueError(`buffer '${name}' must be a Tensor or null`);
      this._buffers.set(name, v === null ? null : (v as T.Tensor).keep());
    });
    return t;
  }

  /** Registers a submodule under `name` (its parameters get the prefix `name.`). Returns `m`. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName(name, 'submodule');
    if (m !== null && !(m instanceof Module)) throw new ValueError(`submodule '${name}' must be a Module`);
    this._parameters.delete(name);
    this._buffers.delete(name);
    this._modules.set(name, m);
    this.defineAccessor(name, () => this._modules.get(name) ?? null, (v) => {
      if (v !== null && !(v instanceof Module)) throw new ValueError(`submodule '${name}' must be a Module or null`);
      this._modules.set(name, v as Module | null);
    });
    return m;
  }

  /** Direct submodules with their names (absent ones skipped). */
  namedChildren(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    for (const [n, m] of this._modules) if (m) out.push([n, m]);
    return out;
  }

  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** This module and every descendant with dotted names ('' for this one), depth-first, each once. */
  namedModules(prefix = '', seen = new Set<Module>()): Array<[string, Module]> {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [n, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n, seen));
    return out;
  }

  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /**
   * Parameters with dotted names, in registration order (own first, then each submodule's). A tensor
   * reachable under two names (shared weights) is listed once, under the first.
   */
  namedParameters(): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    const seen = new Set<T.Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, p] of m._parameters) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${n}` : n, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] { return this.namedParameters().map(([, p]) => p); }

  /** Buffers with dotted names (persistent and not). */
  namedBuffers(): Array<[string, T.Tensor]> {
    const out: Array<[string, T.Tensor]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, b] of m._buffers) if (b) out.push([prefix ? `${prefix}.${n}` : n, b]);
    }
    return out;
  }

  /**
   * The state: every parameter and persistent buffer by dotted name, as tensors sharing storage with
   * the module (detached; copy them before changing the module if you need a snapshot).
   */
  stateDict(): Record<string, T.Tensor> {
    const out: Record<string, T.Tensor> = {};
    const seen = new Set<T.Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const pre = prefix ? `${prefix}.` : '';
      for (const [n, p] of m._parameters) if (p && !seen.has(p)) { seen.add(p); out[pre + n] = p.detach(); }
      for (const [n, b] of m._buffers) if (b && !m._nonPersistent.has(n)) out[pre + n] = b.detach();
    }
    return out;
  }

  /** The tensors `loadStateDict` writes into, by dotted name (same keys as `stateDict()`). */
  private stateTargets(): Map<string, T.Tensor> {
    const out = new Map<string, T.Tensor>();
    const seen = new Set<T.Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const pre = prefix ? `${prefix}.` : '';
      for (const [n, p] of m._parameters) if (p && !seen.has(p)) { seen.add(p); out.set(pre + n, p); }
      for (const [n, b] of m._buffers) if (b && !m._nonPersistent.has(n)) out.set(pre + n, b);
    }
    return out;
  }

  /**
   * Copies values from `sd` into the existing parameter and buffer tensors (their identity and dtype
   * stay; values are converted to the target's dtype). Validates everything before copying anything.
   * @returns the missing keys (not in `sd`) and unexpected keys (not in the module).
   * @throws StateDictError when a shape differs, or (strict, the default) a key is missing or unexpected.
   */
  loadStateDict(sd: Record<string, StateValue> | Map<string, StateValue>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const entries = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const targets = this.stateTargets();
    const missingKeys = [...targets.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !targets.has(k));
    const mismatched: Array<{ key: string; expected: number[]; got: number[] }> = [];
    for (const [k, t] of targets) {
      const v = entries.get(k);
      if (v === undefined) continue;
      const shape = [...v.shape];
      const n = shape.reduce((a, b) => a * b, 1);
      if (shape.length !== t.ndim || shape.some((s, i) => s !== t.shape[i])) mismatched.push({ key: k, expected: [...t.shape], got: shape });
      else if (!(v instanceof T.Tensor) && v.data.length !== n) {
        throw new ShapeError(`loadStateDict: '${k}' has shape ${fmtShape(shape)} but ${v.data.length} values`);
      }
    }
    if (mismatched.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(strict ? missingKeys : [], strict ? unexpectedKeys : [], mismatched, `${this.constructor.name}.loadStateDict`);
    }
    for (const [k, t] of targets) {
      const v = entries.get(k);
      if (v === undefined) continue;
      const src: ArrayLike<number | bigint> = v instanceof T.Tensor ? v.contiguous().data() : v.data;
      const dst = t.data();
      for (let i = 0; i < dst.length; i++) { const e = src[i]; dst[i] = typeof e === 'bigint' ? Number(e) : e; }
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this { return this.train(false); }

  /**
   * Activation checkpointing (Hugging Face's `gradient_checkpointing_enable()`): every descendant
   * that supports it (each `TransformerBlock`, which has a `gradientCheckpointing` flag) recomputes
   * its activations in backward instead of keeping them, in training mode with recording on.
   * @returns the number of modules switched (0: the model has no checkpointable blocks).
   */
  gradientCheckpointingEnable(enabled = true): number {
    let n = 0;
    for (const m of this.modules()) {
      if (typeof (m as { gradientCheckpointing?: unknown }).gradientCheckpointing === 'boolean') {
        (m as unknown as { gradientCheckpointing: boolean }).gradientCheckpointing = enabled;
        n++;
      }
    }
    return n;
  }

  /** Switches activation checkpointing off again (Hugging Face's `gradient_checkpointing_disable()`). */
  gradientCheckpointingDisable(): void { this.gradientCheckpointingEnable(false); }

  /** Whether any descendant checkpoints its activations (Hugging Face's `is_gradient_checkpointing`). */
  get isGradientCheckpointing(): boolean {
    return this.modules().some((m) => (m as { gradientCheckpointing?: unknown }).gradientCheckpointing === true);
  }

  /** Clears `.grad` of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Number of parameter elements (shared tensors counted once).
   * @param opts.exclude dotted names to leave out (e.g. `['wpe.weight']`).
   * @param opts.trainableOnly count only parameters with requiresGrad.
   */
  numParameters(opts: { exclude?: readonly string[]; trainableOnly?: boolean } = {}): number {
    const ex = new Set(opts.exclude ?? []);
    let n = 0;
    for (const [name, p] of this.namedParameters()) {
      if (ex.has(name) || (opts.trainableOnly && !p.requiresGrad)) continue;
      n += p.numel();
    }
    return n;
  }

  /** Calls `fn` on every module (descendants first, as PyTorch's `apply`). Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Converts every float parameter and float buffer to `dtype` ('float32' | 'float64'), replacing the
   * tensors (so take `parameters()` again afterwards). Gradients are dropped. Used for float64
   * finite-difference gradient checks. Returns this.
   */
  to(dtype: 'float32' | 'float64'): this {
    for (const m of this.modules()) {
      const swap = new Map<T.Tensor, T.Tensor>();
      const conv = (t: T.Tensor): T.Tensor => {
        if (t.dtype !== 'float32' && t.dtype !== 'float64') return t;
        if (t.dtype === dtype) return t;
        let c = swap.get(t);
        if (!c) {
          c = T.empty(t.shape, dtype);
          const src = t.contiguous().data(), dst = c.data();
          for (let i = 0; i < dst.length; i++) dst[i] = src[i];
          swap.set(t, c);
        }
        return c;
      };
      for (const [n, p] of m._parameters) {
        if (p) { const c = conv(p); if (c !== p) { parameter(c).requiresGrad = p.requiresGrad; m._parameters.set(n, c); } }
      }
      for (const [n, b] of m._buffers) {
        if (b) { const c = conv(b); if (c !== b) m._buffers.set(n, c.keep()); }
      }
    }
    return this;
  }

  /** The submodule at a dotted path ('' = this). @throws ValueError when absent. */
  getSubmodule(path: string): Module {
    let m: Module = this;
    if (path === '') return m;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (!next) throw new ValueError(`getSubmodule: '${path}' not found (no submodule '${part}' in ${m.constructor.name})`);
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path. @throws ValueError when absent. */
  getParameter(path: string): Parameter {
    const i = path.lastIndexOf('.');
    const m = this.getSubmodule(i < 0 ? '' : path.slice(0, i));
    const p = m._parameters.get(path.slice(i + 1));
    if (!p) throw new ValueError(`getParameter: '${path}' is not a parameter of ${this.constructor.name}`);
    return p;
  }

  /** Sets `requiresGrad` on every parameter (freezing with false). Returns this. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }
}

/** An indexable list of submodules named '0', '1', ... (PyTorch `ModuleList`). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get length(): number { return this.items.length; }
  at(i: number): M { return this.items[i < 0 ? i + this.items.length : i]; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}
