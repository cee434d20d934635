// View ops: reshape, transpose, permute, narrow, squeeze, unsqueeze — no copies — and contiguous(),
// the one copy. Each records its backward. (expand, the broadcasting view, is in broadcast.ts.)
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { record } from '../autograd.js';
import { contiguousStrides, empty, normDim, numel, provideTensorMethods, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';

registerOp('views', ['reshape', 'transpose', 'permute', 'narrow', 'squeeze', 'unsqueeze', 'contiguous']);

function view(t: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(t.storage, shape, strides, offset, t.dtype);
}

/** A contiguous copy (or `t` itself when already contiguous). */
export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous()) return t;
  const out = empty(t.shape, t.dtype);
  getBackend().copyStrided(t.storage.data, t.offset, t.shape, t.strides, out.storage.data);
  return record('contiguous', out, [t], (g) => [g], []);
}

/** Same elements in a new shape (one size may be -1). Copies only when `t` is not contiguous. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  const sh = [...shape];
  const neg = sh.indexOf(-1);
  if (neg >= 0) {
    const rest = numel(sh.filter((_, i) => i !== neg));
    if (rest === 0 || t.numel() % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${fmtShape(t.shape)} into ${fmtShape(shape)}`);
    sh[neg] = t.numel() / rest;
  }
  if (numel(sh) !== t.numel() || sh.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(t.shape)} (${t.numel()} elements) into ${fmtShape(shape)}`);
  }
  const c = contiguous(t);
  const out = view(c, sh, contiguousStrides(sh), c.offset);
  const inShape = c.shape;
  return record('reshape', out, [c], (g) => [reshape(g, inShape)], []);
}

export function transpose(t: Tensor, d0: number, d1: number): Tensor {
  const a = normDim(d0, t.ndim, 'dim0'), b = normDim(d1, t.ndim, 'dim1');
  const dims = [...Array(t.ndim).keys()];
  dims[a] = b;
  dims[b] = a;
  return permute(t, dims);
}

export function permute(t: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== t.ndim) throw new ShapeError(`permute: got ${dims.length} dims for a tensor of shape ${fmtShape(t.shape)}`);
  const nd = dims.map((d) => normDim(d, t.ndim));
  if (new Set(nd).size !== nd.length) throw new ValueError(`permute: dims ${fmtShape(dims)} repeat a dimension`);
  const out = view(t, nd.map((d) => t.shape[d]), nd.map((d) => t.strides[d]), t.offset);
  const inv = new Array<number>(nd.length);
  nd.forEach((d, i) => { inv[d] = i; });
  return record('permute', out, [t], (g) => [permute(g, inv)], []);
}

/** Elements [start, start+length) of dimension `dim`, as a view. */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, t.ndim);
  const size = t.shape[d];
  if (start < 0) start += size;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new ShapeError(`narrow: range [${start}, ${start + length}) is outside dimension ${d} of size ${size} (shape ${fmtShape(t.shape)})`);
  }
  const shape = [...t.shape];
  shape[d] = length;
  const out = view(t, shape, t.strides, t.offset + start * t.strides[d]);
  return record('narrow', out, [t], (g) => {
    const full = empty(t.shape, g.dtype, true);
    writeInto(narrowRaw(full, d, start, length), g);
    return [full];
  }, []);
}

function narrowRaw(t: Tensor, d: number, start: number, length: number): Tensor {
  const shape = [...t.shape];
  shape[d] = length;
  return view(t, shape, t.strides, t.offset + start * t.strides[d]);
}

/** Copies src (any layout, same shape) into the possibly strided view dst, elementwise. */
export function writeInto(dst: Tensor, src: Tensor): void {
  const s = contiguous(src).data();
  const buf = dst.storage.data;
  const shape = dst.shape, strides = dst.strides, nd = shape.length;
  const n = dst.numel();
  if (n === 0) return;
  if (nd === 0) { buf[dst.offset] = s[0]; return; }
  if (dst.isContiguous() && buf.constructor === s.constructor) {
    // One block (a narrow along the first non-unit dim of a contiguous tensor): one typed-array set.
    (buf as Float32Array).set((s as Float32Array).subarray(0, n), dst.offset);
    return;
  }
  const idx = new Array<number>(nd).fill(0);
  let o = dst.offset;
  const last = shape[nd - 1], ls = strides[nd - 1];
  // Unit-stride rows (cat along any dim but the last is such a case) copy as one typed-array set.
  const rowSet = ls === 1 && last > 8;
  for (let i = 0; i < n; i += last) {
    if (rowSet) (buf as Float32Array).set((s as Float32Array).subarray(i, i + last), o);
    else for (let j = 0; j < last; j++) buf[o + j * ls] = s[i + j];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      o += strides[d];
      if (idx[d] < shape[d]) break;
      o -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export function squeeze(t: Tensor, dim?: number): Tensor {
  let keepDims: number[];
  if (dim === undefined) keepDims = t.shape.map((_, i) => i).filter((i) => t.shape[i] !== 1);
  else {
    const d = normDim(dim, t.ndim);
    keepDims = t.shape.map((_, i) => i).filter((i) => i !== d || t.shape[i] !== 1);
  }
  const out = view(t, keepDims.map((i) => t.shape[i]), keepDims.map((i) => t.strides[i]), t.offset);
  return record('squeeze', out, [t], (g) => [reshape(g, t.shape)], []);
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normDim(dim, t.ndim + 1);
  const sh = [...t.shape], st = [...t.strides];
  sh.splice(d, 0, 1);
  st.splice(d, 0, d < t.ndim ? t.strides[d] * t.shape[d] : 1);
  const out = view(t, sh, st, t.offset);
  return record('unsqueeze', out, [t], (g) => [reshape(g, t.shape)], []);
}

provideTensorMethods({ reshape, transpose, permute, narrow, squeeze, unsqueeze, contiguous });
