/**
 * safetensors read / write on plain typed arrays (independent of the Tensor class).
 *
 * Format (https://github.com/huggingface/safetensors, "Format" section of its README):
 *   bytes [0, 8)        N: unsigned 64-bit little-endian header length
 *   bytes [8, 8+N)      UTF-8 JSON object, possibly right-padded with spaces:
 *                       { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
 *                         "__metadata__": { "<key>": "<string value>" } }        (metadata optional)
 *   bytes [8+N, end)    the byte buffer; each tensor is bytes [begin, end) of it, row-major,
 *                       little-endian.
 *
 * Files are untrusted: the reader checks every field and reports each violation as a
 * FileFormatError naming the source, the tensor and the problem. Like the reference implementation
 * it requires the tensors to tile the buffer exactly (no overlaps, no gaps, no trailing bytes).
 * It never allocates more than the file's size for tensor data.
 */
import fs from 'node:fs';
import { FileFormatError, ShapeError, ValueError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { readFailure } from './read-failure.js';

/** Element types of the safetensors format that this module reads and writes. */
export type SafeDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/** The typed arrays that hold tensor elements (see {@link SAFE_DTYPES} for which goes with which dtype). */
export type SafeData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * One tensor: row-major elements in `data`, `data.length === product(shape)` (1 for shape `[]`).
 * F16 and BF16 elements are raw IEEE / bfloat16 bit patterns in a Uint16Array; F8_* are raw bytes in
 * a Uint8Array; BOOL is a Uint8Array of 0 / 1. Use {@link toFloat32} to decode the float formats.
 */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeData;
}

/** What a safetensors file holds: its tensors by name and its string → string `__metadata__`. */
export interface SafetensorsContents {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** A header entry, validated: where the tensor's bytes are, relative to the start of the buffer. */
export interface SafeTensorInfo {
  dtype: SafeDType;
  shape: number[];
  dataOffsets: [number, number];
}

/** A validated header: entries by name, metadata, and the file offset where the buffer starts (8 + N). */
export interface SafetensorsHeader {
  tensors: Record<string, SafeTensorInfo>;
  metadata: Record<string, string>;
  dataStart: number;
}

interface TypedArrayCtor {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafeData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** Element size in bytes and the typed array class for each dtype. */
export const SAFE_DTYPES: Readonly<Record<SafeDType, { size: number; array: TypedArrayCtor }>> = {
  BOOL: { size: 1, array: Uint8Array },
  U8: { size: 1, array: Uint8Array },
  I8: { size: 1, array: Int8Array },
  F8_E5M2: { size: 1, array: Uint8Array },
  F8_E4M3: { size: 1, array: Uint8Array },
  I16: { size: 2, array: Int16Array },
  U16: { size: 2, array: Uint16Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  I32: { size: 4, array: Int32Array },
  U32: { size: 4, array: Uint32Array },
  F32: { size: 4, array: Float32Array },
  F64: { size: 8, array: Float64Array },
  I64: { size: 8, array: BigInt64Array },
  U64: { size: 8, array: BigUint64Array },
};

/** Upper bound on the JSON header, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isSafeDType(s: unknown): s is SafeDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFE_DTYPES, s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Short, never-throwing rendering of an untrusted value for error messages. */
function show(v: unknown, max = 60): string {
  let s: string;
  try {
    s = typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    s = Array.isArray(v) ? 'an array' : typeof v;
  }
  return s.length > max ? s.slice(0, max) + '…' : s;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * Parses and validates the header of a safetensors file.
 *
 * @param prefix the file's first bytes: at least `8 + N` of them (the whole file is fine).
 * @param fileLength the length of the whole file in bytes (offsets are checked against it).
 * @param source a name for messages (usually the path).
 * @throws FileFormatError for any violation of the format (see the module comment).
 */
export function parseSafetensorsHeader(
  prefix: Uint8Array,
  fileLength: number,
  source = '<buffer>',
): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new FileFormatError(`${source}: safetensors: ${msg}`);
  };
  if (fileLength < 8 || prefix.length < 8) {
    fail(`file is ${fileLength} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 < 2n) fail(`header length ${n64} is less than 2 (the smallest JSON object, "{}")`);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const n = Number(n64);
  if (n > fileLength - 8) {
    fail(`header length ${n} runs past the end of the file (${fileLength - 8} bytes after the length field)`);
  }
  if (prefix.length < 8 + n) fail(`only ${prefix.length} of the ${8 + n} header bytes were supplied`);

  const headerBytes = prefix.subarray(8, 8 + n);
  if (headerBytes[0] !== 0x7b /* '{' */) {
    fail(`header does not start with '{' (first byte 0x${headerBytes[0]!.toString(16).padStart(2, '0')})`);
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid JSON: ${show((err as Error).message, 120)}`);
  }
  if (!isPlainObject(json)) fail(`header is JSON ${show(json)}, not an object`);
  const header = json as Record<string, unknown>;

  const bufferLength = fileLength - 8 - n;
  const metadata = parseMetadata(header[METADATA_KEY], fail);
  const entries: [string, SafeTensorInfo][] = [];
  for (const name of Object.keys(header)) {
    if (name === METADATA_KEY) continue;
    entries.push([name, parseEntry(name, header[name], bufferLength, fail)]);
  }
  checkTiling(entries, bufferLength, fail);
  // fromEntries defines own properties, so a tensor named "__proto__" stays an ordinary entry.
  return { tensors: Object.fromEntries(entries), metadata, dataStart: 8 + n };
}

function parseMetadata(raw: unknown, fail: (msg: string) => never): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) fail(`"${METADATA_KEY}" is ${show(raw)}, not an object of strings`);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`"${METADATA_KEY}" key ${show(k)} has value ${show(v)}, not a string`);
    out.push([k, v as string]);
  }
  return Object.fromEntries(out);
}

function parseEntry(
  name: string,
  raw: unknown,
  bufferLength: number,
  failFile: (msg: string) => never,
): SafeTensorInfo {
  const fail = (msg: string): never => failFile(`tensor ${show(name)}: ${msg}`);
  if (!isPlainObject(raw)) fail(`entry is ${show(raw)}, not an object`);
  const e = raw as Record<string, unknown>;

  const dtype = e.dtype;
  if (!isSafeDType(dtype)) {
    fail(`unknown dtype ${show(dtype)} (known: ${Object.keys(SAFE_DTYPES).join(', ')})`);
  }
  const size = SAFE_DTYPES[dtype as SafeDType].size;

  const shape = e.shape;
  if (!Array.isArray(shape)) fail(`shape is ${show(shape)}, not a list`);
  for (const d of shape as unknown[]) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      fail(`shape ${show(shape)} has entry ${show(d)}, not a non-negative integer`);
    }
  }
  const dims = shape as number[];

  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2) fail(`data_offsets is ${show(off)}, not [begin, end]`);
  const [begin, end] = off as unknown[];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < 0) {
    fail(`data_offsets ${show(off)} are not two non-negative integers`);
  }
  const b = begin as number;
  const en = end as number;
  if (b > en) fail(`data_offsets [${b}, ${en}] have begin after end`);
  if (en > bufferLength) fail(`data_offsets [${b}, ${en}] run past the end of the ${bufferLength}-byte buffer`);

  // Expected byte count, stopping as soon as it exceeds the span so nothing overflows.
  const span = en - b;
  let bytes = dims.includes(0) ? 0 : size;
  let exact = true;
  for (const d of dims) {
    if (bytes > span) {
      exact = false;
      break;
    }
    bytes *= d;
  }
  if (bytes !== span) {
    const need = exact && Number.isSafeInteger(bytes) ? `${bytes}` : `more than ${span}`;
    fail(
      `dtype ${dtype} with shape ${show(dims)} needs ${need} bytes but data_offsets [${b}, ${en}] span ${span}`,
    );
  }
  return { dtype: dtype as SafeDType, shape: dims.slice(), dataOffsets: [b, en] };
}

/** Requires the tensors to cover [0, bufferLength) exactly, in some order, like the reference. */
function checkTiling(
  entries: [string, SafeTensorInfo][],
  bufferLength: number,
  fail: (msg: string) => never,
): void {
  const sorted = entries
    .slice()
    .sort((x, y) => x[1].dataOffsets[0] - y[1].dataOffsets[0] || x[1].dataOffsets[1] - y[1].dataOffsets[1]);
  let pos = 0;
  let prev = '';
  for (const [name, info] of sorted) {
    const [b, e] = info.dataOffsets;
    if (b < pos) {
      fail(`tensor ${show(name)}: data_offsets [${b}, ${e}] overlap tensor ${show(prev)}, which ends at ${pos}`);
    }
    if (b > pos) fail(`tensor ${show(name)}: data_offsets [${b}, ${e}] leave a gap of ${b - pos} bytes before it`);
    pos = e;
    prev = name;
  }
  if (pos !== bufferLength) {
    fail(`the tensors cover ${pos} bytes but the buffer after the header has ${bufferLength} (trailing bytes)`);
  }
}

/** Options of {@link parseSafetensors}. */
export interface ParseOptions {
  /**
   * true (default): every tensor gets its own ArrayBuffer. false: tensors whose bytes are suitably
   * aligned are views into `bytes.buffer` (no copy; they share memory with `bytes` and keep it alive);
   * misaligned ones are still copied.
   */
  copy?: boolean;
}

/**
 * Parses a complete safetensors file held in memory.
 *
 * @param bytes the whole file.
 * @param source a name for error messages, usually the path.
 * @returns the tensors (in header order, except that JavaScript lists integer-like names first) and
 *   the metadata (empty if absent).
 * @throws FileFormatError (naming `source`, the tensor and the problem) for any format violation.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source = '<buffer>',
  options: ParseOptions = {},
): SafetensorsContents {
  const copy = options.copy ?? true;
  const header = parseSafetensorsHeader(bytes, bytes.length, source);
  const tensors: [string, SafeTensor][] = [];
  for (const [name, info] of Object.entries(header.tensors)) {
    const { size, array } = SAFE_DTYPES[info.dtype];
    const [b, e] = info.dataOffsets;
    const start = header.dataStart + b;
    const count = (e - b) / size;
    let data: SafeData;
    if (!copy && IS_LITTLE_ENDIAN && (bytes.byteOffset + start) % size === 0) {
      data = new array(bytes.buffer, bytes.byteOffset + start, count);
    } else {
      // Copy into a fresh (hence aligned) buffer: typed arrays cannot view misaligned offsets.
      const buf = new ArrayBuffer(e - b);
      const u8 = new Uint8Array(buf);
      u8.set(bytes.subarray(start, start + (e - b)));
      if (!IS_LITTLE_ENDIAN) swapBytes(u8, size);
      data = new array(buf, 0, count);
    }
    tensors.push([name, { dtype: info.dtype, shape: info.shape, data }]);
  }
  return { tensors: Object.fromEntries(tensors), metadata: header.metadata };
}

/**
 * Reads and parses a safetensors file. The file is read into one buffer of its own size; aligned
 * tensors are views into it (see {@link ParseOptions}, default `copy: false` here).
 *
 * @throws FileFormatError if the file cannot be read (message names the path and the OS error) or
 *   violates the format.
 */
export function readSafetensorsFile(path: string, options: ParseOptions = {}): SafetensorsContents {
  const bytes = readWholeFile(path);
  return parseSafetensors(bytes, path, { copy: options.copy ?? false });
}

/**
 * Reads only the header of a safetensors file (8 + N bytes), validated against the file's size:
 * names, dtypes, shapes and offsets without loading any tensor data.
 *
 * @throws FileFormatError as {@link readSafetensorsFile}.
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withFile(path, (fd, size) => {
    const first = readAt(fd, path, 8, 0, Math.min(size, 8));
    let want = 8;
    if (first.length === 8) {
      const n = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
      // Read the claimed header only when it can be valid; otherwise the parser reports why.
      if (n >= 2n && n <= BigInt(MAX_HEADER_BYTES) && Number(n) <= size - 8) want = 8 + Number(n);
    }
    const prefix = want === 8 ? first : readAt(fd, path, want, 0, want);
    return parseSafetensorsHeader(prefix, size, path);
  });
}

function ioError(path: string, what: string, err: unknown): FileFormatError {
  const e = new FileFormatError(`${path}: ${readFailure(err, `cannot ${what}`)}`);
  (e as { cause?: unknown }).cause = err;
  return e;
}

function withFile<T>(path: string, fn: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw ioError(path, 'open safetensors file', err);
  }
  try {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (err) {
      throw ioError(path, 'stat safetensors file', err);
    }
    if (!st.isFile()) throw new FileFormatError(`${path}: safetensors: not a regular file`);
    return fn(fd, st.size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `length` bytes at `position` into a fresh buffer of `capacity` bytes; stops early at EOF. */
function readAt(fd: number, path: string, capacity: number, position: number, length: number): Uint8Array {
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(capacity);
  } catch (err) {
    throw ioError(path, `allocate ${capacity} bytes for safetensors file`, err);
  }
  let got = 0;
  while (got < length) {
    let k: number;
    try {
      k = fs.readSync(fd, buf, got, length - got, position + got);
    } catch (err) {
      throw ioError(path, 'read safetensors file', err);
    }
    if (k === 0) break; // the file shrank while reading: parse what is there, which will fail cleanly
    got += k;
  }
  return got === capacity ? buf : buf.subarray(0, got);
}

function readWholeFile(path: string): Uint8Array {
  // A buffer of our own (offset 0, not Node's shared pool), so zero-copy views are safe to hand out.
  return withFile(path, (fd, size) => readAt(fd, path, size, 0, size));
}

function swapBytes(u8: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < u8.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = u8[a]!;
      u8[a] = u8[b]!;
      u8[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes.
 *
 * Layout follows the reference writer: compact JSON header with keys in the order `dtype`, `shape`,
 * `data_offsets`, `__metadata__` first when given, padded with spaces so the buffer starts at a
 * multiple of 8; tensors laid out largest element size first, then by name (UTF-8 byte order), so
 * every tensor is aligned to its element size with no gaps.
 *
 * @param tensors by name; `data` must be the typed array of the dtype (see {@link SAFE_DTYPES}).
 * @param metadata string → string; written as `__metadata__` when given.
 * @throws ValueError for an unknown dtype, a wrong array type, a bad shape entry, a BOOL element
 *   other than 0 / 1, a tensor named `__metadata__`, a non-string metadata value or a header over
 *   {@link MAX_HEADER_BYTES} (readers refuse it); ShapeError when `data.length !== product(shape)`.
 */
export function serializeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const items = Object.entries(tensors).map(([name, t]) => {
    checkTensor(name, t);
    const size = SAFE_DTYPES[t.dtype].size;
    return { name, t, size, key: UTF8.encode(name) };
  });
  items.sort((x, y) => y.size - x.size || compareBytes(x.key, y.key));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new ValueError(`serializeSafetensors: metadata must be an object of strings`);
    const kv = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') {
        throw new ValueError(`serializeSafetensors: metadata[${show(k)}] is ${show(v)}, expected a string`);
      }
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${kv.join(',')}}`);
  }
  let offset = 0;
  for (const it of items) {
    const begin = offset;
    offset += it.t.data.byteLength;
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":${JSON.stringify(it.t.dtype)},` +
        `"shape":[${it.t.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  const json = UTF8.encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  // A file the readers (this one and the reference) refuse must not be written (issue 19).
  if (n > MAX_HEADER_BYTES) {
    throw new ValueError(`serializeSafetensors: the header would be ${n} bytes (${items.length} tensors${metadata ? ' and metadata' : ''}), over the ${MAX_HEADER_BYTES}-byte limit readers accept; use fewer tensors or less metadata`);
  }
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const it of items) {
    const d = it.t.data;
    const src = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    out.set(src, pos);
    if (!IS_LITTLE_ENDIAN) swapBytes(out.subarray(pos, pos + d.byteLength), it.size);
    pos += d.byteLength;
  }
  return out;
}

const UTF8 = new TextEncoder();

/** Lexicographic byte order (the order of Rust's String comparison, used by the reference writer). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function checkTensor(name: string, t: SafeTensor): void {
  const where = `serializeSafetensors: tensor ${show(name)}`;
  if (name === METADATA_KEY) throw new ValueError(`${where}: the name is reserved for metadata`);
  if (!isPlainObject(t)) throw new ValueError(`${where}: expected {dtype, shape, data}, got ${show(t)}`);
  if (!isSafeDType(t.dtype)) {
    throw new ValueError(`${where}: unknown dtype ${show(t.dtype)} (known: ${Object.keys(SAFE_DTYPES).join(', ')})`);
  }
  const { array } = SAFE_DTYPES[t.dtype];
  if (!(t.data instanceof array)) {
    const got = (t.data as object | undefined)?.constructor?.name ?? typeof t.data;
    throw new ValueError(`${where}: dtype ${t.dtype} needs data as ${array.name}, got ${got}`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ValueError(`${where}: shape ${show(t.shape)} must be a list of non-negative integers`);
  }
  const numel = t.shape.reduce((a, d) => a * d, 1);
  if (numel !== t.data.length) {
    throw new ShapeError(`${where}: shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
  }
  if (t.dtype === 'BOOL') {
    const i = (t.data as Uint8Array).findIndex((v) => v > 1);
    if (i >= 0) throw new ValueError(`${where}: BOOL element ${i} is ${t.data[i]}, expected 0 or 1`);
  }
}

/**
 * Writes tensors to a safetensors file atomically (see {@link serializeSafetensors} and
 * writeFileAtomic in ./atomic.ts).
 *
 * @throws as {@link serializeSafetensors}; file-system errors from writeFileAtomic unchanged.
 */
export function writeSafetensorsFile(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Decoding to float32
// ---------------------------------------------------------------------------------------------

/**
 * Decodes a floating-point tensor to float32 (e.g. to load Hugging Face weights).
 *
 * F32: returns `t.data` itself (no copy). F64: rounded to nearest float32. BF16: the upper 16 bits of
 * a float32, so exact. F16 (IEEE 754 binary16: 1 sign, 5 exponent bits with bias 15, 10 fraction
 * bits; subnormals, ±inf, NaN): exact. F8_E5M2 (the top byte of a binary16) and F8_E4M3 (the "FN"
 * variant: bias 7, no infinities, S.1111.111 is NaN; Micikevicius et al. 2022, arXiv:2209.05433): exact.
 *
 * @returns Float32Array of `product(t.shape)` elements, row-major.
 * @throws ValueError for integer and BOOL dtypes (convert those explicitly).
 */
export function toFloat32(t: SafeTensor): Float32Array {
  const spec = isSafeDType(t.dtype) ? SAFE_DTYPES[t.dtype] : undefined;
  if (spec !== undefined && !(t.data instanceof spec.array)) {
    throw new ValueError(`toFloat32: dtype ${t.dtype} needs data as ${spec.array.name}`);
  }
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'BF16': {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
      return out;
    }
    case 'F16': {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      const table = f16Table_();
      for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
      return out;
    }
    case 'F8_E5M2': {
      const src = t.data as Uint8Array;
      const out = new Float32Array(src.length);
      const table = f16Table_();
      for (let i = 0; i < src.length; i++) out[i] = table[src[i]! << 8]!;
      return out;
    }
    case 'F8_E4M3': {
      const src = t.data as Uint8Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = e4m3ToNumber(src[i]!);
      return out;
    }
    default:
      throw new ValueError(`toFloat32: dtype ${show(t.dtype)} is not a floating-point dtype`);
  }
}

/** Decodes one IEEE binary16 bit pattern to a number (exactly). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals: frac · 2^-14 · 2^-10
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25); // (1 + frac/1024) · 2^(exp-15)
}

/** Decodes one bfloat16 bit pattern to a number (exactly). */
export function bf16BitsToNumber(b: number): number {
  BF16_SCRATCH_U32[0] = (b & 0xffff) << 16;
  return BF16_SCRATCH_F32[0]!;
}

const BF16_SCRATCH_F32 = new Float32Array(1);
const BF16_SCRATCH_U32 = new Uint32Array(BF16_SCRATCH_F32.buffer);

let f16Table: Float32Array | undefined;
/** All 65,536 binary16 values as float32, built on first use (256 KB). */
function f16Table_(): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
}

function e4m3ToNumber(v: number): number {
  const sign = v & 0x80 ? -1 : 1;
  const exp = (v >> 3) & 0xf;
  const frac = v & 0x7;
  if (exp === 0xf && frac === 0x7) return NaN;
  if (exp === 0) return sign * frac * 2 ** -9; // frac/8 · 2^(1-7)
  return sign * (8 + frac) * 2 ** (exp - 10); // (1 + frac/8) · 2^(exp-7)
}
