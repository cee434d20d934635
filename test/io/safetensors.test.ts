import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { FileFormatError, ShapeError, TrainformerError, ValueError } from '../../src/errors.js';
import {
  MAX_HEADER_BYTES,
  SAFE_DTYPES,
  type SafeDType,
  type SafeTensor,
  f16BitsToNumber,
  bf16BitsToNumber,
  parseSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  serializeSafetensors,
  toFloat32,
  writeSafetensorsFile,
} from '../../src/io/safetensors.js';

const ALL_DTYPES = Object.keys(SAFE_DTYPES) as SafeDType[];
const enc = new TextEncoder();

/** Little-endian u64 as 8 bytes. */
function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of arrs) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A file from a header (object or raw text) and a data buffer; `n` overrides the length field. */
function makeFile(header: unknown, buffer: Uint8Array | number = 0, n?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = enc.encode(text);
  const buf = typeof buffer === 'number' ? new Uint8Array(buffer) : buffer;
  return concat(u64le(n ?? BigInt(h.length)), h, buf);
}

function bytesOf(d: ArrayBufferView): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** A tensor of `dtype` and `shape` with a deterministic byte pattern (BOOL gets 0/1). */
function patterned(dtype: SafeDType, shape: number[], salt = 0): SafeTensor {
  const { size, array } = SAFE_DTYPES[dtype];
  const numel = shape.reduce((a, d) => a * d, 1);
  const buf = new ArrayBuffer(numel * size);
  const u8 = new Uint8Array(buf);
  for (let i = 0; i < u8.length; i++) u8[i] = dtype === 'BOOL' ? (i + salt) & 1 : (i * 37 + salt * 11 + 5) & 0xff;
  return { dtype, shape, data: new array(buf, 0, numel) };
}

function assertSameTensor(actual: SafeTensor | undefined, expected: SafeTensor, name: string): void {
  assert.ok(actual, `tensor ${name} missing`);
  assert.equal(actual.dtype, expected.dtype, name);
  assert.deepEqual(actual.shape, expected.shape, name);
  assert.equal(actual.data.constructor, expected.data.constructor, name);
  assert.equal(actual.data.length, expected.data.length, name);
  assert.deepEqual(bytesOf(actual.data), bytesOf(expected.data), name);
}

function expectFormatError(bytes: Uint8Array, ...patterns: (RegExp | string)[]): void {
  assert.throws(
    () => parseSafetensors(bytes, 'model.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${String(e)}`);
      assert.match(e.message, /model\.safetensors/);
      for (const p of patterns) {
        if (typeof p === 'string') assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
        else assert.match(e.message, p);
      }
      return true;
    },
  );
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-safetensors-'));
  tmpDirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('safetensors round trip', () => {
  test('every dtype, including empty tensors and shape []', () => {
    const tensors: Record<string, SafeTensor> = {};
    ALL_DTYPES.forEach((dt, i) => {
      tensors[`${dt}.matrix`] = patterned(dt, [2, 3], i);
      tensors[`${dt}.scalar`] = patterned(dt, [], i + 1);
      tensors[`${dt}.empty`] = patterned(dt, [0, 4], i);
      tensors[`${dt}.vec1`] = patterned(dt, [1], i + 2);
    });
    const meta = { format: 'pt', note: 'ünïcødé ✓', empty: '' };
    const bytes = serializeSafetensors(tensors, meta);
    for (const copy of [true, false]) {
      const back = parseSafetensors(bytes, 'mem', { copy });
      assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) assertSameTensor(back.tensors[name], t, name);
      assert.deepEqual(back.metadata, meta);
    }
  });

  test('special values survive bit-exactly (NaN payloads, -0, ±inf, int extremes)', () => {
    const f32 = new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]);
    new Uint32Array(f32.buffer)[0] = 0x7fc00123; // NaN with a payload
    const tensors: Record<string, SafeTensor> = {
      f32: { dtype: 'F32', shape: [6], data: f32 },
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([-0, Number.MIN_VALUE, Number.MAX_VALUE]) },
      i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n]) },
      u64: { dtype: 'U64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
      i32: { dtype: 'I32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
      i8: { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
    };
    const back = parseSafetensors(serializeSafetensors(tensors));
    for (const [name, t] of Object.entries(tensors)) assertSameTensor(back.tensors[name], t, name);
    assert.deepEqual(back.metadata, {});
    assert.equal((back.tensors.i64!.data as BigInt64Array)[0], -(2n ** 63n));
  });

  test('no tensors at all, with and without metadata', () => {
    assert.deepEqual(parseSafetensors(serializeSafetensors({})), { tensors: {}, metadata: {} });
    assert.deepEqual(parseSafetensors(serializeSafetensors({}, { a: 'b' })), { tensors: {}, metadata: { a: 'b' } });
  });

  test('names that are special in JavaScript stay ordinary entries', () => {
    const tensors: Record<string, SafeTensor> = Object.fromEntries([
      ['__proto__', patterned('F32', [2])],
      ['constructor', patterned('I32', [1])],
      ['', patterned('U8', [3])],
      ['h.0.attn.c_attn.weight', patterned('F16', [2, 2])],
    ]);
    const back = parseSafetensors(serializeSafetensors(tensors, Object.fromEntries([['__proto__', 'x']])));
    assert.equal(Object.getPrototypeOf(back.tensors), Object.prototype);
    for (const name of Object.keys(tensors)) {
      assert.ok(Object.prototype.hasOwnProperty.call(back.tensors, name), name);
      assertSameTensor(back.tensors[name], tensors[name]!, name);
    }
    assert.equal(Object.getOwnPropertyDescriptor(back.metadata, '__proto__')?.value, 'x');
  });

  test('misaligned input buffer: copy and zero-copy modes both read correctly', () => {
    const t: SafeTensor = { dtype: 'F64', shape: [3], data: new Float64Array([1.5, -2.25, 1e300]) };
    const bytes = serializeSafetensors({ t });
    for (const shift of [1, 3, 4, 7]) {
      const big = new Uint8Array(bytes.length + shift);
      big.set(bytes, shift);
      const view = big.subarray(shift);
      for (const copy of [true, false]) {
        const back = parseSafetensors(view, 'shifted', { copy });
        assert.deepEqual(Array.from(back.tensors.t!.data as Float64Array), [1.5, -2.25, 1e300]);
      }
    }
  });

  test('copy: false on aligned input gives views into the same memory; copy: true does not', () => {
    const bytes = serializeSafetensors({ w: patterned('F32', [4]) });
    const view = parseSafetensors(bytes, 'm', { copy: false }).tensors.w!.data;
    const copied = parseSafetensors(bytes, 'm').tensors.w!.data;
    assert.equal(view.buffer, bytes.buffer);
    assert.notEqual(copied.buffer, bytes.buffer);
  });

  test('serialised layout: 8-byte aligned buffer start, every tensor aligned to its element size, no gaps', () => {
    const tensors = {
      a: patterned('U8', [3]),
      b: patterned('F64', [1]),
      c: patterned('F16', [3]),
      d: patterned('I32', [1]),
      e: patterned('I64', [2]),
    };
    const bytes = serializeSafetensors(tensors, { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const spans = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([k, v]) => ({ k, o: (v as { data_offsets: [number, number] }).data_offsets }))
      .sort((x, y) => x.o[0] - y.o[0]);
    let pos = 0;
    for (const { k, o } of spans) {
      assert.equal(o[0], pos, k);
      assert.equal(o[0] % SAFE_DTYPES[tensors[k as keyof typeof tensors].dtype].size, 0, k);
      pos = o[1];
    }
    assert.equal(8 + n + pos, bytes.length);
  });

  test('writeSafetensorsFile / readSafetensorsFile / readSafetensorsHeader', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'model.safetensors');
    const tensors = { wte: patterned('F32', [5, 3]), ids: patterned('I64', [4]), s: patterned('BF16', []) };
    writeSafetensorsFile(p, tensors, { format: 'pt' });
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
    const back = readSafetensorsFile(p);
    for (const [name, t] of Object.entries(tensors)) assertSameTensor(back.tensors[name], t, name);
    assert.deepEqual(back.metadata, { format: 'pt' });

    const h = readSafetensorsHeader(p);
    assert.deepEqual(h.metadata, { format: 'pt' });
    assert.deepEqual(h.tensors.wte, { dtype: 'F32', shape: [5, 3], dataOffsets: [32, 92] });
    assert.deepEqual(h.tensors.ids, { dtype: 'I64', shape: [4], dataOffsets: [0, 32] });
    assert.equal(h.dataStart + 32 + 60 + 2, fs.statSync(p).size);
  });
});

describe('safetensors byte-exact layout (laid out by hand from the published format)', () => {
  // {"a": F32 [2] = [1, -2]}, metadata {"format": "pt"}. The header JSON is 85 bytes, padded with
  // 3 spaces to 88 = 0x58; float32 1.0 = 0x3F800000, -2.0 = 0xC0000000, stored little-endian.
  const header1 = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' + '   ';
  const file1 = concat(
    [0x58, 0, 0, 0, 0, 0, 0, 0],
    enc.encode(header1),
    [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0],
  );

  // {"n": I64 [] = 7, "w": F16 [2, 1] = [1, -2]}: 8-byte elements first, so n at [0, 8], w at [8, 12].
  // Header JSON 109 bytes + 3 spaces = 112 = 0x70; F16 1.0 = 0x3C00, -2.0 = 0xC000.
  const header2 =
    '{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]}}' +
    '   ';
  const file2 = concat(
    [0x70, 0, 0, 0, 0, 0, 0, 0],
    enc.encode(header2),
    [7, 0, 0, 0, 0, 0, 0, 0],
    [0x00, 0x3c, 0x00, 0xc0],
  );

  test('the hand-laid headers have the lengths stated', () => {
    assert.equal(header1.length, 88);
    assert.equal(header2.length, 112);
  });

  test('serializeSafetensors produces exactly these bytes', () => {
    const out1 = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) } }, { format: 'pt' });
    assert.deepEqual(out1, file1);
    const out2 = serializeSafetensors({
      w: { dtype: 'F16', shape: [2, 1], data: new Uint16Array([0x3c00, 0xc000]) },
      n: { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) },
    });
    assert.deepEqual(out2, file2);
  });

  test('parseSafetensors reads them back', () => {
    const r1 = parseSafetensors(file1);
    assert.deepEqual(r1.metadata, { format: 'pt' });
    assert.deepEqual(Array.from(toFloat32(r1.tensors.a!)), [1, -2]);
    const r2 = parseSafetensors(file2);
    assert.deepEqual(r2.tensors.n, { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) });
    assert.deepEqual(Array.from(toFloat32(r2.tensors.w!)), [1, -2]);
  });

  test('an unpadded odd-length header puts data at unaligned file offsets; still read correctly', () => {
    // Header order differs from buffer order, no padding: N = 109, so the buffer starts at byte 117
    // (odd): "a" (BF16) sits at 117 and "bb" (F32) at 119, neither aligned to its element size.
    const h = '{"bb":{"dtype":"F32","shape":[1],"data_offsets":[2,6]},"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}';
    assert.equal(h.length, 109);
    const file = concat(u64le(109n), enc.encode(h), [0xc0, 0x3f, 0x00, 0x00, 0x20, 0x41]);
    for (const copy of [true, false]) {
      const r = parseSafetensors(file, 'odd', { copy });
      assert.deepEqual(Array.from(toFloat32(r.tensors.a!)), [1.5]); // BF16 0x3FC0 = 1.5
      assert.deepEqual(Array.from(r.tensors.bb!.data as Float32Array), [10]); // 0x41200000 = 10
    }
  });

  test('header padded with many spaces (and other JSON whitespace) is accepted', () => {
    const h = '{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}' + ' '.repeat(29) + '\n\t';
    const r = parseSafetensors(concat(u64le(BigInt(h.length)), enc.encode(h), [9, 8]));
    assert.deepEqual(r.tensors.x!.data, Uint8Array.from([9, 8]));
  });
});

describe('toFloat32 and the 16-bit / 8-bit float decoders', () => {
  test('F16: all 65,536 bit patterns against the IEEE 754 binary16 definition', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = toFloat32({ dtype: 'F16', shape: [65536], data: all });
    for (let h = 0; h < 65536; h++) {
      const s = h >> 15;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const want =
        e === 31
          ? m === 0
            ? s
              ? -Infinity
              : Infinity
            : NaN
          : (s ? -1 : 1) * (e === 0 ? Math.pow(2, -14) * (m / 1024) : Math.pow(2, e - 15) * (1 + m / 1024));
      assert.ok(Object.is(got[h], want), `0x${h.toString(16)}: ${got[h]} vs ${want}`);
      assert.ok(Object.is(f16BitsToNumber(h), want));
    }
  });

  test('F16 known values', () => {
    const data = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555, 0x8000]);
    const got = Array.from(toFloat32({ dtype: 'F16', shape: [7], data }));
    assert.deepEqual(got, [1, -2, 65504, 2 ** -24, 2 ** -14, 0.333251953125, -0]);
    assert.ok(Object.is(got[6], -0));
  });

  test('BF16 known values', () => {
    const data = new Uint16Array([0x3f80, 0xc000, 0x7f80, 0xff80, 0x0001, 0x4049, 0x8000, 0x7fc0]);
    const got = toFloat32({ dtype: 'BF16', shape: [8], data });
    assert.deepEqual(Array.from(got.subarray(0, 6)), [1, -2, Infinity, -Infinity, 2 ** -133, 3.140625]);
    assert.ok(Object.is(got[6], -0));
    assert.ok(Number.isNaN(got[7]));
    assert.equal(bf16BitsToNumber(0x3f80), 1);
  });

  test('F8_E4M3 (FN) and F8_E5M2 known values', () => {
    const e4m3 = toFloat32({ dtype: 'F8_E4M3', shape: [7], data: new Uint8Array([0x38, 0x7e, 0x01, 0xb8, 0x7f, 0x08, 0x00]) });
    assert.deepEqual(Array.from(e4m3.subarray(0, 4)), [1, 448, 2 ** -9, -1]);
    assert.ok(Number.isNaN(e4m3[4]));
    assert.deepEqual([e4m3[5], e4m3[6]], [2 ** -6, 0]);
    const e5m2 = toFloat32({ dtype: 'F8_E5M2', shape: [5], data: new Uint8Array([0x3c, 0x7b, 0x7c, 0x01, 0xc0]) });
    assert.deepEqual(Array.from(e5m2), [1, 57344, Infinity, 2 ** -16, -2]);
  });

  test('F32 is returned as is; F64 is rounded to float32', () => {
    const f32 = new Float32Array([1, 2]);
    assert.equal(toFloat32({ dtype: 'F32', shape: [2], data: f32 }), f32);
    const got = toFloat32({ dtype: 'F64', shape: [2], data: new Float64Array([0.1, 1 + 2 ** -30]) });
    assert.deepEqual(Array.from(got), [Math.fround(0.1), 1]);
  });

  test('integer dtypes and mismatched arrays are ValueErrors', () => {
    assert.throws(() => toFloat32(patterned('I32', [2])), ValueError);
    assert.throws(() => toFloat32(patterned('BOOL', [2])), ValueError);
    assert.throws(() => toFloat32({ dtype: 'BF16', shape: [1], data: new Float32Array(1) }), ValueError);
  });
});

describe('safetensors reader rejects every violation with FileFormatError', () => {
  const entry = (dtype: unknown, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });

  test('header length field', () => {
    expectFormatError(new Uint8Array(0), /too short/);
    expectFormatError(new Uint8Array(7), /7 bytes, too short/);
    expectFormatError(makeFile('{}', 0, 0n), /less than 2/);
    expectFormatError(makeFile('{}', 0, 1n), /less than 2/);
    expectFormatError(makeFile('{}', 0, 3n), /runs past the end/);
    expectFormatError(makeFile('{}', 0, 2n ** 64n - 1n), /exceeds the 100000000-byte limit/);
    expectFormatError(makeFile('{}', 0, BigInt(MAX_HEADER_BYTES) + 1n), /limit/);
    expectFormatError(makeFile('{}', 0, 2n ** 53n + 1n), /limit/);
  });

  test('header text: must start with {, be UTF-8, be JSON', () => {
    expectFormatError(makeFile(' {}'), /start with '\{'/);
    expectFormatError(makeFile('[]'), /start with '\{'/);
    expectFormatError(makeFile('{"a":1}'), 'tensor "a"', /not an object/);
    const badUtf8 = concat(u64le(6n), enc.encode('{"'), [0xff, 0xfe], enc.encode('"}'));
    expectFormatError(badUtf8, /not valid UTF-8/);
    expectFormatError(makeFile('{"a":'), /not valid JSON/);
    expectFormatError(makeFile('{}}'), /not valid JSON/);
    expectFormatError(makeFile('{}\0\0'), /not valid JSON/);
  });

  test('entry must be an object', () => {
    for (const bad of [5, 'x', null, [1, 2], true]) {
      expectFormatError(makeFile({ wte: bad }), 'tensor "wte"', /not an object/);
    }
  });

  test('dtype must be known', () => {
    for (const bad of ['F128', 'f32', '', 5, null, ['F32'], undefined]) {
      expectFormatError(makeFile({ wte: entry(bad, [1], [0, 4]) }, 4), 'tensor "wte"', /unknown dtype/);
    }
    expectFormatError(makeFile({ wte: { shape: [1], data_offsets: [0, 4] } }, 4), 'tensor "wte"', /unknown dtype/);
  });

  test('shape must be a list of non-negative safe integers', () => {
    for (const bad of [2, '2', null, { 0: 2 }, undefined]) {
      expectFormatError(makeFile({ w: entry('U8', bad, [0, 2]) }, 2), 'tensor "w"', /shape .* not a list/);
    }
    for (const bad of [[-1], [1.5], ['2'], [null], [2 ** 53], [1e300], [[2]]]) {
      expectFormatError(makeFile({ w: entry('U8', bad, [0, 2]) }, 2), 'tensor "w"', /not a non-negative integer/);
    }
  });

  test('data_offsets must be two integers inside the buffer, begin <= end', () => {
    for (const bad of [undefined, null, 4, [0], [0, 4, 8], '0,4', { 0: 0, 1: 4 }]) {
      expectFormatError(makeFile({ w: entry('F32', [1], bad) }, 4), 'tensor "w"', /not \[begin, end\]/);
    }
    for (const bad of [[-4, 0], [0, -4], [0.5, 4.5], ['0', '4'], [0, 2 ** 53], [null, 4]]) {
      expectFormatError(makeFile({ w: entry('F32', [1], bad) }, 4), 'tensor "w"', /two non-negative integers/);
    }
    expectFormatError(makeFile({ w: entry('F32', [0], [4, 0]) }, 4), 'tensor "w"', /begin after end/);
    expectFormatError(makeFile({ w: entry('F32', [2], [0, 8]) }, 4), 'tensor "w"', /past the end of the 4-byte buffer/);
    expectFormatError(makeFile({ w: entry('F32', [1], [1e15, 1e15 + 4]) }, 4), 'tensor "w"', /past the end/);
  });

  test('byte length must equal product(shape) × element size', () => {
    expectFormatError(makeFile({ w: entry('F32', [3], [0, 8]) }, 8), 'tensor "w"', /needs 12 bytes .* span 8/);
    expectFormatError(makeFile({ w: entry('F64', [], [0, 4]) }, 4), 'tensor "w"', /needs 8 bytes/);
    expectFormatError(makeFile({ w: entry('I64', [0], [0, 8]) }, 8), 'tensor "w"', /needs 0 bytes/);
    expectFormatError(makeFile({ w: entry('U8', [2 ** 52, 2 ** 52, 2 ** 52], [0, 8]) }, 8), 'tensor "w"', /more than 8/);
    expectFormatError(makeFile({ w: entry('F16', [3], [0, 5]) }, 5), 'tensor "w"', /needs 6 bytes/);
  });

  test('tensors must tile the buffer: no overlap, no gap, no trailing bytes', () => {
    const two = (a: [number, number], b: [number, number], len: number) =>
      makeFile({ first: entry('U8', [a[1] - a[0]], a), second: entry('U8', [b[1] - b[0]], b) }, len);
    expectFormatError(two([0, 8], [4, 12], 12), /tensor "second".*overlap tensor "first"/);
    expectFormatError(two([0, 8], [0, 8], 8), /overlap/);
    expectFormatError(two([0, 4], [8, 12], 12), /tensor "second".*gap of 4 bytes/);
    expectFormatError(two([4, 8], [8, 12], 12), /tensor "first".*gap of 4 bytes/);
    expectFormatError(two([0, 4], [4, 8], 9), /cover 8 bytes .* has 9/);
    expectFormatError(makeFile({}, 3), /cover 0 bytes .* has 3/);
    // An empty tensor inside another one's span also counts as an overlap (as in the reference).
    expectFormatError(two([0, 8], [4, 4], 8), /overlap/);
  });

  test('__metadata__ must be an object of strings', () => {
    for (const bad of [5, 'x', [['a', 'b']], true]) {
      expectFormatError(makeFile({ __metadata__: bad }), /__metadata__.*not an object of strings/);
    }
    for (const bad of [{ a: 1 }, { a: null }, { a: ['x'] }, { a: { b: 'c' } }]) {
      expectFormatError(makeFile({ __metadata__: bad }), /__metadata__" key "a" has value .* not a string/);
    }
    assert.deepEqual(parseSafetensors(makeFile({ __metadata__: null })).metadata, {});
  });

  test('file errors name the path', () => {
    const dir = tmpDir();
    const missing = path.join(dir, 'nope.safetensors');
    for (const fn of [readSafetensorsFile, readSafetensorsHeader]) {
      assert.throws(() => fn(missing), (e: unknown) => e instanceof FileFormatError && e.message.includes(missing));
      assert.throws(() => fn(dir), (e: unknown) => e instanceof FileFormatError && e.message.includes(dir));
    }
    const trunc = path.join(dir, 'trunc.safetensors');
    fs.writeFileSync(trunc, serializeSafetensors({ w: patterned('F32', [8]) }).subarray(0, 50));
    for (const fn of [readSafetensorsFile, readSafetensorsHeader]) {
      assert.throws(() => fn(trunc), (e: unknown) => e instanceof FileFormatError && e.message.includes(trunc));
    }
    const tiny = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(tiny, Uint8Array.from([1, 2, 3]));
    assert.throws(() => readSafetensorsHeader(tiny), /tiny\.safetensors.*3 bytes, too short/);
  });
});

describe('serializeSafetensors rejects bad tensors', () => {
  test('wrong array type, bad shape, element count, reserved name, BOOL values, metadata', () => {
    const f = (t: unknown, m?: unknown) =>
      () => serializeSafetensors({ w: t as SafeTensor }, m as Record<string, string> | undefined);
    assert.throws(f({ dtype: 'F32', shape: [2], data: new Float64Array(2) }), /tensor "w".*Float32Array.*Float64Array/);
    assert.throws(f({ dtype: 'F16', shape: [2], data: new Float32Array(2) }), ValueError);
    assert.throws(f({ dtype: 'X', shape: [2], data: new Float32Array(2) }), /unknown dtype "X"/);
    assert.throws(f({ dtype: 'F32', shape: [-2], data: new Float32Array(2) }), ValueError);
    assert.throws(f({ dtype: 'F32', shape: [3], data: new Float32Array(2) }), ShapeError);
    assert.throws(f({ dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 2]) }), /BOOL element 1 is 2/);
    assert.throws(f(null), ValueError);
    assert.throws(f(patterned('U8', [1]), { a: 3 }), /metadata\["a"\]/);
    assert.throws(() => serializeSafetensors({ __metadata__: patterned('U8', [1]) }), /reserved/);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

const tensorSpec = fc.record({
  name: fc.string({ maxLength: 6 }),
  dtype: fc.constantFrom(...ALL_DTYPES),
  shape: fc.array(fc.nat(4), { maxLength: 3 }),
  salt: fc.nat(255),
});
const validFile = fc
  .record({
    specs: fc.uniqueArray(tensorSpec, { maxLength: 5, selector: (s) => s.name }),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }), {
      nil: undefined,
    }),
  })
  .filter(({ specs }) => specs.every((s) => s.name !== '__metadata__'))
  .map(({ specs, metadata }) => {
    const tensors: Record<string, SafeTensor> = Object.fromEntries(
      specs.map((s) => [s.name, patterned(s.dtype, s.shape, s.salt)]),
    );
    return { tensors, metadata, bytes: serializeSafetensors(tensors, metadata) };
  });

/**
 * Applies a header-level edit to a file that still has a readable JSON object header; a file that
 * an earlier mutation already broke is returned unchanged.
 */
function editHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>, buffer: Uint8Array) => Uint8Array): Uint8Array {
  let header: unknown;
  let buffer: Uint8Array;
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    buffer = bytes.subarray(8 + n);
  } catch {
    return bytes;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return bytes;
  return edit(header as Record<string, unknown>, buffer);
}

const weirdValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...ALL_DTYPES, 'F128', 'bf16', '', '__proto__'),
  fc.integer({ min: -10, max: 100 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, -0, 0.5, Number.MAX_SAFE_INTEGER),
  fc.array(fc.integer({ min: -3, max: 40 }), { maxLength: 4 }),
  fc.array(fc.constantFrom(0, 1, 2 ** 26, 2 ** 40, 2 ** 53, -1, 1.5), { maxLength: 5 }),
  fc.tuple(fc.nat(80), fc.nat(80)),
);

type Mutation = (bytes: Uint8Array) => Uint8Array;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // bit flips anywhere
  fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 6 }).map((flips) => (b: Uint8Array) => {
    const c = b.slice();
    for (const [p, bit] of flips) if (c.length) c[p % c.length]! ^= 1 << bit;
    return c;
  }),
  // random bytes written into the header region (breaks UTF-8, JSON, numbers)
  fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }).map((edits) => (b: Uint8Array) => {
    const c = b.slice();
    if (c.length < 8) return c;
    const n = Number(new DataView(c.buffer).getBigUint64(0, true));
    for (const [p, v] of edits) c[8 + (p % n)] = v;
    return c;
  }),
  // random bytes written into the data buffer (the file stays valid; values change)
  fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }).map((edits) => (b: Uint8Array) => {
    const c = b.slice();
    if (c.length < 8) return c;
    const start = 8 + Number(new DataView(c.buffer).getBigUint64(0, true));
    if (start >= c.length) return c;
    for (const [p, v] of edits) c[start + (p % (c.length - start))] = v;
    return c;
  }),
  // truncation
  fc.nat().map((k) => (b: Uint8Array) => b.slice(0, k % (b.length + 1))),
  // extension with junk
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (b: Uint8Array) => concat(b, extra)),
  // a new header length field: near the true one, or anything up to 2^64 - 1
  fc
    .oneof(fc.integer({ min: -16, max: 16 }).map((d) => ({ delta: d })), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ value: v })))
    .map((m) => (b: Uint8Array) => {
      const c = b.slice();
      if (c.length < 8) return c;
      const dv = new DataView(c.buffer);
      const n = dv.getBigUint64(0, true);
      let v = 'value' in m ? m.value : n + BigInt(m.delta);
      if (v < 0n) v = 0n;
      dv.setBigUint64(0, v, true);
      return c;
    }),
  // header edit: set one field of one entry (or the metadata, or a new key) to a strange value
  fc
    .record({
      which: fc.nat(),
      field: fc.constantFrom('dtype', 'shape', 'data_offsets', '<entry>', '__metadata__', '<new>'),
      value: weirdValue,
      pad: fc.nat(9),
    })
    .map(({ which, field, value, pad }) => (b: Uint8Array) =>
      editHeader(b, (header, buffer) => {
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const name = names.length ? names[which % names.length]! : 'x';
      if (field === '__metadata__') header.__metadata__ = value;
      else if (field === '<new>') header[`new${which % 3}`] = { dtype: 'F32', shape: [1], data_offsets: value };
      else if (field === '<entry>' || !names.length) header[name] = value;
      else if (typeof header[name] === 'object' && header[name] !== null) {
        (header[name] as Record<string, unknown>)[field] = value;
      }
      return makeFile(JSON.stringify(header) + ' '.repeat(pad), buffer);
    })),
  // every tensor gets random offsets / shapes
  fc
    .array(fc.record({ o: fc.tuple(fc.nat(64), fc.nat(64)), s: fc.array(fc.nat(6), { maxLength: 3 }) }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((rs) => (b: Uint8Array) =>
      editHeader(b, (header, buffer) => {
        Object.keys(header)
          .filter((k) => k !== '__metadata__')
          .forEach((k, i) => {
            const r = rs[i % rs.length]!;
            header[k] = { ...(header[k] as object), data_offsets: r.o, ...(i % 2 ? { shape: r.s } : {}) };
          });
        return makeFile(header, buffer);
      })),
  // total garbage, sometimes behind a plausible length field
  fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.boolean()).map(([junk, plausible]) => () =>
    plausible ? concat(u64le(BigInt(Math.max(2, junk.length - 4))), junk) : junk,
  ),
);

describe('safetensors property tests', () => {
  test('serialise → parse is the identity on random tensor sets (300 cases)', () => {
    fc.assert(
      fc.property(validFile, ({ tensors, metadata, bytes }) => {
        const back = parseSafetensors(bytes);
        assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) assertSameTensor(back.tensors[name], t, name);
        assert.deepEqual(back.metadata, { ...metadata }); // fast-check's dictionaries have no prototype
      }),
      { numRuns: 300 },
    );
  });

  test('2,000 mutated files: each parses to a consistent result or throws FileFormatError', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ bytes }, muts) => {
        let b = bytes;
        for (const m of muts) b = m(b);
        let result;
        try {
          result = parseSafetensors(b, 'fuzz.safetensors');
        } catch (e) {
          assert.ok(e instanceof TrainformerError, `non-Trainformer error: ${(e as Error)?.stack ?? String(e)}`);
          assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${(e as Error).name}`);
          assert.match(e.message, /^fuzz\.safetensors: /);
          rejected++;
          return;
        }
        accepted++;
        let total = 0;
        for (const [name, t] of Object.entries(result.tensors)) {
          const { size, array } = SAFE_DTYPES[t.dtype];
          assert.ok(t.data instanceof array, name);
          assert.equal(t.data.length, t.shape.reduce((a, d) => a * d, 1), name);
          total += t.data.length * size;
        }
        assert.ok(total <= b.length);
        for (const v of Object.values(result.metadata)) assert.equal(typeof v, 'string');
      }),
      { numRuns: Number(process.env.SAFETENSORS_FUZZ_RUNS ?? 2000) },
    );
    // Both outcomes must occur, or the property says little (typically ~110 accepted, ~1,890 rejected).
    assert.ok(accepted > 40, `only ${accepted} mutated files were accepted`);
    assert.ok(rejected > 1000, `only ${rejected} mutated files were rejected`);
    if (process.env.SAFETENSORS_FUZZ_STATS) console.log({ accepted, rejected });
  });
});
