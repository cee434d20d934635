/**
 * Reverse-mode automatic differentiation. Each differentiable op attaches a `GradNode` to its output
 * (through `record`); `backward()` walks the graph in reverse topological order, calls each node's
 * backward under no-grad, and accumulates gradients of leaf tensors into `.grad` (kept storage).
 */
import { AutogradError, ShapeError, fmtShape } from '../errors.js';
import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../backend/backend.js';
import { type DType, isLowpDtype } from './dtype.js';
import { contiguousStrides, empty, type GradNode, type RowsGradient, Tensor } from './tensor.js';
import { nextStorageSerial } from './storage.js';

let gradEnabled = true;

export function isGradEnabled(): boolean { return gradEnabled; }

/** Runs `fn` without recording operations (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}

/** Runs `fn` with recording switched on or off. */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try { return fn(); } finally { gradEnabled = prev; }
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * Attaches a backward function to `out` when any input requires grad. Returns `out`.
 * `saved` lists the tensors whose buffers `backward` reads (PyTorch's saved tensors); left out, every
 * input and `out` count as saved. A buffer no backward reads may go back to the pool before its scope
 * ends ({@link releaseIfUnsaved}).
 */
export function record(name: string, out: Tensor, inputs: readonly (Tensor | null)[],
  backward: (g: Tensor) => readonly (Tensor | RowsGradient | null | undefined)[], saved?: readonly (Tensor | null | undefined)[]): Tensor {
  if (!needsGrad(...inputs)) return out;
  for (const t of saved ?? inputs) if (t) t.storage.savedForBackward = true;
  if (!saved) out.storage.savedForBackward = true;
  const node: GradNode = { name, inputs, backward };
  out.requiresGrad = true;
  out.gradFn = node;
  return out;
}

/**
 * out = a + b elementwise, same shape, contiguous (no graph); `into` reuses a's buffer. Gradients of
 * a 16-bit tensor used twice (bf16 autocast's activations) add in float32 and round to a's dtype as
 * PyTorch adds two bf16 gradients; a 16-bit and a float32 gradient give a float32 sum (in a's dtype
 * when added into a).
 */
function addInto(a: Tensor, b: Tensor, into = false): Tensor {
  if (isLowpDtype(a.dtype) || isLowpDtype(b.dtype)) {
    const dt = into || a.dtype === b.dtype ? a.dtype : 'float32';
    const a32 = asFloat32(a), b32 = asFloat32(b);
    const sum = addInto(a32, b32, a32 !== a ? true : into);
    if (b32 !== b) b32.storage.free();
    if (!isLowpDtype(dt)) return sum;
    const out = into ? a.contiguous() : empty(a.shape, dt);
    getBackend().castToLowp(dt, sum.data() as Float32Array, out.data() as Uint16Array, sum.numel());
    sum.storage.free();
    return out;
  }
  const ac = a.contiguous(), bc = b.contiguous();
  const out = into ? ac : empty(a.shape, a.dtype);
  const st = contiguousStrides(a.shape);
  getBackend().binary('add', ac.data() as FloatArray, st, bc.data() as FloatArray, st, out.data() as FloatArray, a.shape);
  return out;
}

/**
 * Frees a temporary as soon as it is consumed (as PyTorch frees a tensor nothing refers to any more):
 * returns `t`'s buffer to the pool now, unless a backward function reads it (see `record`'s
 * `saved`), it is kept, it wraps a caller's array, or it is shared with one of `alive`. The caller
 * guarantees that nothing else reads `t` (or a view of its buffer) afterwards — for layers that drop
 * their own intermediate values (a layer norm output once its linear layer has saved a 16-bit copy).
 * Returns whether the buffer went back.
 */
export function releaseIfUnsaved(t: Tensor, ...alive: readonly Tensor[]): boolean {
  const st = t.storage;
  if (st.kept || st.savedForBackward || !st.pooled || st.released) return false;
  for (const a of alive) if (a.storage === st) return false;
  st.release();
  return true;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (default false). */
  retainGraph?: boolean;
}

/**
 * Back-propagates from `root`. A non-scalar root needs `gradient` of the same shape.
 * @throws AutogradError when the root does not require grad, when a non-scalar root has no
 *   gradient, or when the graph was already freed by an earlier backward.
 */
export function backward(root: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new AutogradError('backward(): the tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
  if (!gradient) {
    if (root.numel() !== 1) {
      throw new AutogradError(`backward(): grad can be implicitly created only for scalar outputs; got shape ${fmtShape(root.shape)} — pass a gradient`);
    }
    gradient = empty(root.shape, root.dtype);
    gradient.storage.data.fill(1);
  } else if (gradient.shape.length !== root.shape.length || gradient.shape.some((s, i) => s !== root.shape[i])) {
    throw new ShapeError(`backward(): gradient shape ${fmtShape(gradient.shape)} does not match output shape ${fmtShape(root.shape)}`);
  }
  // Topological order by iterative DFS.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c && c.requiresGrad && !seen.has(c)) { seen.add(c); stack.push([c, 0]); }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  const firstSerial = nextStorageSerial();
  // Pending gradients; an embedding's stays rows (RowsGradient) until something dense meets it.
  const grads = new Map<Tensor, Tensor | RowsGradient>();
  grads.set(root, gradient);
  // Whether a leaf may keep g's buffer as its .grad instead of a copy: a whole, contiguous, pooled
  // buffer allocated during this backward (so not a saved forward value or the caller's tensor),
  // not kept by another leaf, and not shared with a gradient still pending (add returns g twice).
  // Saves one parameter-sized copy per leaf and holding both until the step's scope ends.
  const owned = (g: Tensor): boolean => {
    const st = g.storage;
    if (!st.pooled || st.kept || st.released || st.serial < firstSerial) return false;
    for (const other of grads.values()) if (storageOf(other) === st) return false;
    return true;
  };
  // Whether x's pending partial sum `prev` may take gi in place: a whole contiguous buffer allocated
  // during this backward, not kept, shared with no other pending gradient, with gi, with the
  // current op's upstream gradient g, or with a gradient the op returned (they may be views of one
  // buffer). Saves a buffer and a pass per accumulation (residual branches, q/k/v of one projection).
  const accumulable = (prev: Tensor, x: Tensor, gi: Tensor, g: Tensor, ins: readonly (Tensor | RowsGradient | null | undefined)[]): boolean => {
    const st = prev.storage;
    if (!st.pooled || st.kept || st.released || st.serial < firstSerial || prev.dtype !== gi.dtype || g.storage === st) return false;
    if (prev.offset !== 0 || prev.numel() !== st.length || !prev.isContiguous()) return false;
    for (const [y, other] of grads) if (y !== x && storageOf(other) === st) return false;
    for (const o of ins) if (o && storageOf(o) === st) return false;
    return gi.storage !== st;
  };
  // Whether t (x's pending gradient, or gradient i the op returned for x) may take rows in place: a
  // whole contiguous buffer of this backward's, not kept, shared with no other pending gradient, with
  // the op's upstream gradient g, or with another gradient the op returned.
  const exclusive = (t: Tensor, x: Tensor, g: Tensor, ins: readonly (Tensor | RowsGradient | null | undefined)[], i: number): boolean => {
    const st = t.storage;
    if (!st.pooled || st.kept || st.released || st.serial < firstSerial || g.storage === st) return false;
    if (t.offset !== 0 || t.numel() !== st.length || !t.isContiguous()) return false;
    for (const [y, other] of grads) if (y !== x && storageOf(other) === st) return false;
    for (let j = 0; j < ins.length; j++) { const o = ins[j]; if (j !== i && o && storageOf(o) === st) return false; }
    return true;
  };
  // Rows consumed (added somewhere): their buffer goes back unless it is g (released below) or
  // something pending or returned shares it.
  const dropRows = (r: RowsGradient, g: Tensor | null, ins: readonly (Tensor | RowsGradient | null | undefined)[]): void => {
    const st = r.rows.storage;
    if (g && g.storage === st) return;
    for (const o of ins) if (o && o !== r && storageOf(o) === st) return;
    if (owned(r.rows)) st.release();
  };
  // The dense gradient of rows: zeros, then the rows added (the old embedding backward).
  const densify = (r: RowsGradient, g: Tensor | null, ins: readonly (Tensor | RowsGradient | null | undefined)[]): Tensor => {
    const out = empty(r.shape, r.rows.dtype, true);
    addRows(out, r);
    dropRows(r, g, ins);
    return out;
  };
  const adoptable = (leaf: Tensor, g: Tensor): boolean =>
    g.dtype === leaf.dtype && g.offset === 0 && g.numel() === g.storage.length && g.isContiguous() && owned(g);
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const pending = grads.get(t);
      if (!pending) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (!node && isRows(pending) && t.grad && t.grad.isContiguous() && !t.grad.storage.released && t.grad.dtype === pending.rows.dtype) {
        // Leaf whose only gradient is rows (an untied embedding) and which has a .grad (gradient
        // accumulation): the rows go into .grad, as PyTorch's embedding backward adds into .grad.
        // Otherwise (below) the dense gradient made from them.
        addRows(t.grad, pending);
        dropRows(pending, null, []);
        if (t.postAccumulateGradHooks) for (const h of t.postAccumulateGradHooks) h(t);
        continue;
      }
      const g = isRows(pending) ? densify(pending, null, []) : pending;
      if (!node) {
        // Leaf: accumulate into .grad, in kept storage (it outlives the step's scope).
        // A buffer of its own: g itself when nothing else can see it (see adoptable), else a copy.
        if (t.grad && t.grad.isContiguous() && !t.grad.storage.released) {
          // Accumulate in place, as PyTorch does: the kept buffer is reused step after step.
          addInto(t.grad, g, true);
          // Consumed: back to the pool now rather than at the end of the step's scope.
          if (owned(g)) g.storage.release();
        } else t.grad = (adoptable(t, g) ? g : copyOf(g)).keep();
        // This leaf's gradient of the pass is complete: every op using it came before it.
        if (t.postAccumulateGradHooks) for (const h of t.postAccumulateGradHooks) h(t);
        continue;
      }
      if (!node.backward) {
        throw new AutogradError(`backward(): trying to backward through the graph a second time (node '${node.name}'); its saved values were freed — pass { retainGraph: true } to the first backward`);
      }
      const ins = node.backward(g);
      for (let i = 0; i < node.inputs.length; i++) {
        const x = node.inputs[i];
        const gi = ins[i];
        if (!x || !x.requiresGrad || !gi) continue;
        if (gi.shape.length !== x.shape.length || gi.shape.some((s, j) => s !== x.shape[j])) {
          throw new AutogradError(`internal: op '${node.name}' returned a gradient of shape ${fmtShape(gi.shape)} for an input of shape ${fmtShape(x.shape)}`);
        }
        const prev = grads.get(x);
        if (isRows(gi)) {
          // Rows (an embedding's gradient): added into x's pending gradient when it is this
          // backward's own buffer (a tied LM head's dW: dW + row 0 + row 1 + … in the order of
          // ids), else kept pending as rows, else added into a dense copy.
          if (!prev) { grads.set(x, gi); continue; }
          if (!isRows(prev) && prev.dtype === gi.rows.dtype && prev.storage !== gi.rows.storage && exclusive(prev, x, g, ins, -1)) {
            addRows(prev, gi);
            dropRows(gi, g, ins);
            continue;
          }
          grads.delete(x);
          const sum = isRows(prev) ? densify(prev, g, ins) : copyOf(prev);
          addRows(sum, gi);
          dropRows(gi, g, ins);
          if (!isRows(prev) && prev.storage !== g.storage && !ins.some((o) => o && storageOf(o) === prev.storage) && owned(prev)) prev.storage.release();
          grads.set(x, sum);
          continue;
        }
        if (prev && isRows(prev)) {
          // A dense gradient meets pending rows: the rows go into it when nothing else sees it (gi +
          // rows, in the order of ids), else into a copy.
          const own = gi.dtype === prev.rows.dtype && gi.storage !== prev.rows.storage && exclusive(gi, x, g, ins, i);
          const sum = own ? gi : copyOf(gi);
          addRows(sum, prev);
          grads.set(x, sum);
          dropRows(prev, g, ins);
          continue;
        }
        if (prev && accumulable(prev, x, gi, g, ins)) {
          // The partial sum is this backward's own buffer that nothing else sees: add in place.
          addInto(prev, gi, true);
          if (gi.storage !== g.storage && !ins.some((o, j) => j !== i && o && storageOf(o) === gi.storage) && owned(gi)) gi.storage.release();
          continue;
        }
        grads.set(x, prev ? addInto(prev, gi) : gi);
        // A partial sum replaced by its sum is dead (addInto made a new buffer).
        if (prev && prev.storage !== gi.storage && owned(prev)) prev.storage.release();
      }
      // The upstream gradient is consumed: when nothing pending shares its buffer (the inputs'
      // gradients may be views of it), it goes back to the pool now, so backward's working set
      // stays about one layer of gradients instead of all of them until the scope ends.
      if (owned(g)) g.storage.release();
      if (!opts.retainGraph) node.backward = null;
    }
  });
}


/** t itself when float32, else a contiguous float32 copy of its values (16-bit values widen exactly). */
function asFloat32(t: Tensor): Tensor {
  if (t.dtype === 'float32') return t;
  const c = t.contiguous();
  const out = empty(t.shape, 'float32');
  if (isLowpDtype(c.dtype)) getBackend().castFromLowp(c.dtype, c.data() as Uint16Array, out.data() as Float32Array, out.numel());
  else { const s = c.data(), d = out.data(); for (let i = 0; i < s.length; i++) d[i] = s[i]!; }
  return out;
}

function isRows(v: Tensor | RowsGradient): v is RowsGradient {
  return !(v instanceof Tensor);
}

function storageOf(v: Tensor | RowsGradient) {
  return isRows(v) ? v.rows.storage : v.storage;
}

/** dst[idx[i]] += rows[i], i in order (dst contiguous [V, C], dtype of the rows). */
function addRows(dst: Tensor, r: RowsGradient): void {
  const C = r.shape[1];
  getBackend().indexAdd(dst.data() as FloatArray, r.idx, r.rows.data() as FloatArray, r.idx.length, C);
}

function copyOf(g: Tensor): Tensor {
  const out = empty(g.shape, g.dtype);
  getBackend().copyStrided(g.storage.data, g.offset, g.shape, g.strides, out.storage.data);
  return out;
}
