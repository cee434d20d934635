/**
 * The kernel specification: one row per kernel (name, array and scalar arguments in order). It is
 * the one source of
 *   - the `Backend` type (backend.ts derives every method's parameters from it),
 *   - the native wrapper (native/index.ts builds each method from its row: float64 calls go to js,
 *     op names become codes),
 *   - the addon's argument unpacking and the C++ declarations and op enums (native/src/kernels.gen.h
 *     and native/src/unpack.gen.inc, written by `npm run gen:native` from native-glue.ts; a test
 *     fails when they are stale).
 * Adding a kernel: one row here, one js function (js/), one C++ function (native/src/), one op
 * (src/tensor/ops/). Rows marked `native: 'manual'` keep hand-written unpacking (strided shapes,
 * the 16-bit operands of amp) and a hand-written wrapper method.
 */

/** Op names of the elementwise unary maps, in the order of their native codes. */
export const UNARY_OPS = [
  'neg', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'relu', 'gelu', 'geluTanh', 'silu',
  'square', 'reciprocal', 'powScalar', 'clamp', 'addScalar', 'mulScalar', 'rsubScalar', 'heaviside', 'geluDerivative',
  'geluTanhDerivative',
] as const;
/** Op names of the broadcasting binary maps, in the order of their native codes. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
/** Reductions, in the order of their native codes. */
export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
/** The 16-bit operand formats of mixed precision, in the order of their native codes. */
export const LOWP_DTYPES = ['bfloat16', 'float16'] as const;

/** Enumerations a kernel argument may take (passed natively as the name's index). */
export const ENUMS = { unaryOp: UNARY_OPS, binaryOp: BINARY_OPS, reduceOp: REDUCE_OPS, lowpDtype: LOWP_DTYPES } as const;

/**
 * Argument kinds. Arrays: 'floats' (Float32Array, or Float64Array which the native backend hands
 * to js), 'floats?' (the same or null), 'f32' (Float32Array only), 'ints' (Int32Array), 'ints?'
 * (Int32Array or omitted), 'any' (any typed array), 'dims' (a number[] of shape / strides), 'lowp'
 * (Float32Array or Uint16Array bit patterns), 'u16' (Uint16Array; generated rows unpack it too). Scalars (JS numbers): 'int' (C++ int64_t),
 * 'int32' (int32_t), 'float' (float), 'double' (double), 'float?' (float, omitted = 0), 'bool', and
 * the enumerations of ENUMS (C++ int).
 */
export type ArgKind =
  | 'floats' | 'floats?' | 'f32' | 'ints' | 'ints?' | 'any' | 'dims' | 'lowp' | 'u16'
  | 'int' | 'int32' | 'float' | 'double' | 'float?' | 'bool' | keyof typeof ENUMS;

/**
 * One argument: [name, kind] for scalars; [name, kind, length, 'w'?] for arrays, where length is a
 * C++ expression over the scalar arguments (the addon checks the array has at least that many
 * elements) and 'w' marks an array the kernel writes.
 */
export type ArgSpec = readonly [string, ArgKind] | readonly [string, ArgKind, string] | readonly [string, ArgKind, string, 'w'];

export interface KernelSpec {
  readonly args: readonly ArgSpec[];
  /** 'double': returns a number; 'bool': the C++ kernel returns false for an op code it lacks (the addon throws). */
  readonly returns?: 'double' | 'bool';
  /** C++ condition under which the kernel has nothing to do (checked before the lengths). */
  readonly skipIf?: string;
  /** Hand-written unpacking and wrapper (see the file comment). */
  readonly native?: 'manual';
}

export const KERNELS = {
  unary: { returns: 'bool', args: [['op', 'unaryOp'], ['x', 'floats', 'n'], ['out', 'floats', 'n', 'w'], ['n', 'int'], ['p0', 'float?'], ['p1', 'float?']] },
  unaryMul: { returns: 'bool', args: [['op', 'unaryOp'], ['x', 'floats', 'n'], ['g', 'floats', 'n'], ['out', 'floats', 'n', 'w'], ['n', 'int'], ['p0', 'float?'], ['p1', 'float?']] },
  binary: { native: 'manual', args: [['op', 'binaryOp'], ['a', 'floats', ''], ['aStrides', 'dims'], ['b', 'floats', ''], ['bStrides', 'dims'], ['out', 'floats', '', 'w'], ['shape', 'dims']] },
  copyStrided: { native: 'manual', args: [['src', 'any', ''], ['srcOffset', 'int'], ['shape', 'dims'], ['strides', 'dims'], ['out', 'any', '', 'w']] },
  reduce: { returns: 'bool', args: [['op', 'reduceOp'], ['x', 'floats', 'outer * len * inner'], ['out', 'floats', 'outer * inner', 'w'], ['outer', 'int'], ['len', 'int'], ['inner', 'int'], ['argOut', 'ints?', 'outer * inner', 'w']] },
  matmul: {
    skipIf: 'batch <= 0 || m <= 0 || n <= 0',
    args: [['a', 'floats', 'k > 0 ? (batch - 1) * aBatchStride + m * k : 0'], ['b', 'floats', 'k > 0 ? (batch - 1) * bBatchStride + k * n : 0'], ['c', 'floats', 'batch * m * n', 'w'],
      ['batch', 'int'], ['m', 'int'], ['n', 'int'], ['k', 'int'], ['transA', 'bool'], ['transB', 'bool'], ['aBatchStride', 'int'], ['bBatchStride', 'int'], ['alpha', 'float'], ['beta', 'float']],
  },
  matmulLowp: {
    native: 'manual',
    args: [['dtype', 'lowpDtype'], ['a', 'lowp', ''], ['b', 'lowp', ''], ['c', 'lowp', '', 'w'], ['batch', 'int'], ['m', 'int'], ['n', 'int'], ['k', 'int'],
      ['transA', 'bool'], ['transB', 'bool'], ['aBatchStride', 'int'], ['bBatchStride', 'int'], ['alpha', 'float'], ['beta', 'float']],
  },
  linearLowp: {
    native: 'manual',
    args: [['dtype', 'lowpDtype'], ['x', 'lowp', ''], ['weight', 'lowp', ''], ['bias', 'floats?', ''], ['out', 'lowp', '', 'w'],
      ['rows', 'int'], ['outFeatures', 'int'], ['inFeatures', 'int']],
  },
  castToLowp: { native: 'manual', args: [['dtype', 'lowpDtype'], ['x', 'f32', ''], ['out', 'u16', '', 'w'], ['n', 'int']] },
  castToLowpColumnSums: {
    native: 'manual',
    args: [['dtype', 'lowpDtype'], ['x', 'f32', ''], ['out', 'u16', '', 'w'], ['sums', 'f32', '', 'w'], ['rows', 'int'], ['cols', 'int']],
  },
  columnSumsBf16: { args: [['x', 'u16', 'rows * cols'], ['sums', 'f32', 'cols', 'w'], ['rows', 'int'], ['cols', 'int']] },
  geluBf16: { args: [['tanh', 'bool'], ['x', 'u16', 'n'], ['out', 'u16', 'n', 'w'], ['n', 'int']] },
  geluBf16Backward: { args: [['tanh', 'bool'], ['x', 'u16', 'n'], ['g', 'u16', 'n'], ['dx', 'u16', 'n', 'w'], ['n', 'int']] },
  castFromLowp: { native: 'manual', args: [['dtype', 'lowpDtype'], ['x', 'u16', ''], ['out', 'f32', '', 'w'], ['n', 'int']] },
  softmax: { args: [['x', 'floats', 'rows * cols'], ['out', 'floats', 'rows * cols', 'w'], ['rows', 'int'], ['cols', 'int'], ['log', 'bool']] },
  softmaxBackward: { args: [['y', 'floats', 'rows * cols'], ['g', 'floats', 'rows * cols'], ['dx', 'floats', 'rows * cols', 'w'], ['rows', 'int'], ['cols', 'int'], ['log', 'bool']] },
  crossEntropy: {
    args: [['x', 'floats', 'rows * cols'], ['target', 'ints', 'rows'], ['weight', 'floats?', 'cols'], ['loss', 'floats', 'rows', 'w'], ['lse', 'floats', 'rows', 'w'],
      ['wy', 'floats', 'rows', 'w'], ['rowMax', 'floats', 'rows', 'w'], ['logSum', 'floats', 'rows', 'w'], ['rows', 'int'], ['cols', 'int'], ['ignoreIndex', 'int32'], ['labelSmoothing', 'double']],
  },
  crossEntropyBackward: {
    args: [['x', 'floats', 'rows * cols'], ['target', 'ints', 'rows'], ['weight', 'floats?', 'cols'], ['rowMax', 'floats', 'rows'], ['logSum', 'floats', 'rows'],
      ['gLoss', 'floats', 'rows'], ['gLse', 'floats?', 'rows'], ['dx', 'floats', 'rows * cols', 'w'], ['rows', 'int'], ['cols', 'int'], ['ignoreIndex', 'int32'], ['labelSmoothing', 'double']],
  },
  crossEntropyGradLowp: {
    args: [['dtype', 'lowpDtype'], ['x', 'f32', 'rows * cols', 'w'], ['target', 'ints', 'rows'], ['weight', 'floats?', 'cols'], ['loss', 'f32', 'rows', 'w'],
      ['lse', 'f32', 'rows', 'w'], ['dx', 'u16', 'rows * cols', 'w'], ['rows', 'int'], ['cols', 'int'], ['ignoreIndex', 'int32'], ['labelSmoothing', 'double'],
      ['gLoss', 'float'], ['gLseOfLse', 'float']],
  },
  layerNorm: {
    args: [['x', 'floats', 'rows * cols'], ['w', 'floats?', 'cols'], ['b', 'floats?', 'cols'], ['out', 'floats', 'rows * cols', 'w'], ['mean', 'floats', 'rows', 'w'],
      ['rstd', 'floats', 'rows', 'w'], ['rows', 'int'], ['cols', 'int'], ['eps', 'float']],
  },
  layerNormBackward: {
    args: [['x', 'floats', 'rows * cols'], ['w', 'floats?', 'cols'], ['mean', 'floats', 'rows'], ['rstd', 'floats', 'rows'], ['g', 'floats', 'rows * cols'],
      ['dx', 'floats', 'rows * cols', 'w'], ['dw', 'floats?', 'cols', 'w'], ['db', 'floats?', 'cols', 'w'], ['rows', 'int'], ['cols', 'int']],
  },
  gather: { args: [['x', 'floats', 'outer * len * inner'], ['idx', 'ints', 'outer * idxLen * inner'], ['out', 'floats', 'outer * idxLen * inner', 'w'], ['outer', 'int'], ['len', 'int'], ['inner', 'int'], ['idxLen', 'int']] },
  scatterAdd: { args: [['out', 'floats', 'outer * len * inner', 'w'], ['idx', 'ints', 'outer * idxLen * inner'], ['src', 'floats', 'outer * idxLen * inner'], ['outer', 'int'], ['len', 'int'], ['inner', 'int'], ['idxLen', 'int']] },
  indexSelect: { args: [['table', 'floats', '0'], ['idx', 'ints', 'n'], ['out', 'floats', 'n * cols', 'w'], ['n', 'int'], ['cols', 'int']] },
  indexAdd: { args: [['dTable', 'floats', '0', 'w'], ['idx', 'ints', 'n'], ['g', 'floats', 'n * cols'], ['n', 'int'], ['cols', 'int']] },
  sumSquares: { returns: 'double', args: [['x', 'floats', 'n'], ['n', 'int']] },
  adamw: {
    args: [['p', 'f32', 'n', 'w'], ['g', 'f32', 'n'], ['m', 'f32', 'n', 'w'], ['v', 'f32', 'n', 'w'], ['n', 'int'], ['lr', 'double'], ['b1', 'double'], ['b2', 'double'],
      ['eps', 'double'], ['wd', 'double'], ['bc1', 'double'], ['bc2', 'double'], ['gradScale', 'float']],
  },
  attention: {
    args: [['q', 'f32', 'bh * t * d'], ['k', 'f32', 'bh * s * d'], ['v', 'f32', 'bh * s * d'], ['out', 'f32', 'bh * t * d', 'w'], ['lse', 'f32', 'bh * t', 'w'],
      ['keyPad', 'floats?', 'heads > 0 ? bh / heads * s : 0'], ['ropeCos', 'floats?', 's * (d / 2)'], ['ropeSin', 'floats?', 's * (d / 2)'],
      ['bh', 'int'], ['t', 'int'], ['s', 'int'], ['d', 'int'], ['heads', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionBackward: {
    args: [['q', 'f32', 'bh * t * d'], ['k', 'f32', 'bh * s * d'], ['v', 'f32', 'bh * s * d'], ['out', 'f32', 'bh * t * d'], ['lse', 'f32', 'bh * t'],
      ['g', 'f32', 'bh * t * d'], ['dq', 'f32', 'bh * t * d', 'w'], ['dk', 'f32', 'bh * s * d', 'w'], ['dv', 'f32', 'bh * s * d', 'w'],
      ['keyPad', 'floats?', 'heads > 0 ? bh / heads * s : 0'], ['ropeCos', 'floats?', 's * (d / 2)'], ['ropeSin', 'floats?', 's * (d / 2)'],
      ['bh', 'int'], ['t', 'int'], ['s', 'int'], ['d', 'int'], ['heads', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowp: {
    native: 'manual',
    args: [['dtype', 'lowpDtype'], ['q', 'u16', 'bh * t * d'], ['k', 'u16', 'bh * s * d'], ['v', 'u16', 'bh * s * d'], ['out', 'f32', 'bh * t * d', 'w'],
      ['lse', 'f32', 'bh * t', 'w'], ['keyPad', 'floats?', 'heads > 0 ? bh / heads * s : 0'], ['ropeCos', 'floats?', 's * (d / 2)'], ['ropeSin', 'floats?', 's * (d / 2)'],
      ['bh', 'int'], ['t', 'int'], ['s', 'int'], ['d', 'int'], ['heads', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowpBackward: {
    native: 'manual',
    args: [['dtype', 'lowpDtype'], ['q', 'u16', 'bh * t * d'], ['k', 'u16', 'bh * s * d'], ['v', 'u16', 'bh * s * d'], ['out', 'f32', 'bh * t * d'], ['lse', 'f32', 'bh * t'],
      ['g', 'f32', 'bh * t * d'], ['dq', 'f32', 'bh * t * d', 'w'], ['dk', 'f32', 'bh * s * d', 'w'], ['dv', 'f32', 'bh * s * d', 'w'],
      ['keyPad', 'floats?', 'heads > 0 ? bh / heads * s : 0'], ['ropeCos', 'floats?', 's * (d / 2)'], ['ropeSin', 'floats?', 's * (d / 2)'],
      ['bh', 'int'], ['t', 'int'], ['s', 'int'], ['d', 'int'], ['heads', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowpPacked: {
    skipIf: 'b <= 0 || t <= 0 || h <= 0 || d <= 0',
    args: [['dtype', 'lowpDtype'], ['qkv', 'u16', 'b * t * 3 * h * d'], ['out', 'f32', 'b * t * h * d', 'w'], ['lse', 'f32', 'b * h * t', 'w'],
      ['keyPad', 'floats?', 'b * t'], ['ropeCos', 'floats?', 't * (d / 2)'], ['ropeSin', 'floats?', 't * (d / 2)'],
      ['b', 'int'], ['t', 'int'], ['h', 'int'], ['d', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowpPackedBackward: {
    skipIf: 'b <= 0 || t <= 0 || h <= 0 || d <= 0',
    args: [['dtype', 'lowpDtype'], ['qkv', 'u16', 'b * t * 3 * h * d'], ['out', 'f32', 'b * t * h * d'], ['lse', 'f32', 'b * h * t'],
      ['g', 'f32', 'b * t * h * d'], ['dqkv', 'f32', 'b * t * 3 * h * d', 'w'],
      ['keyPad', 'floats?', 'b * t'], ['ropeCos', 'floats?', 't * (d / 2)'], ['ropeSin', 'floats?', 't * (d / 2)'],
      ['b', 'int'], ['t', 'int'], ['h', 'int'], ['d', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowpPacked16: {
    skipIf: 'b <= 0 || t <= 0 || h <= 0 || d <= 0',
    args: [['dtype', 'lowpDtype'], ['qkv', 'u16', 'b * t * 3 * h * d'], ['out', 'u16', 'b * t * h * d', 'w'], ['lse', 'f32', 'b * h * t', 'w'],
      ['keyPad', 'floats?', 'b * t'], ['ropeCos', 'floats?', 't * (d / 2)'], ['ropeSin', 'floats?', 't * (d / 2)'],
      ['b', 'int'], ['t', 'int'], ['h', 'int'], ['d', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
  attentionLowpPacked16Backward: {
    skipIf: 'b <= 0 || t <= 0 || h <= 0 || d <= 0',
    args: [['dtype', 'lowpDtype'], ['qkv', 'u16', 'b * t * 3 * h * d'], ['out', 'u16', 'b * t * h * d'], ['lse', 'f32', 'b * h * t'],
      ['g', 'u16', 'b * t * h * d'], ['dqkv', 'u16', 'b * t * 3 * h * d', 'w'],
      ['keyPad', 'floats?', 'b * t'], ['ropeCos', 'floats?', 't * (d / 2)'], ['ropeSin', 'floats?', 't * (d / 2)'],
      ['b', 'int'], ['t', 'int'], ['h', 'int'], ['d', 'int'], ['scale', 'float'], ['causal', 'bool'], ['window', 'int']],
  },
} as const satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;
