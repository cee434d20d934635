/** The portable `js` backend: the reference implementation of every kernel (single-threaded TypeScript). */
import type { Backend } from '../backend.js';
import { crossEntropy, crossEntropyBackward, crossEntropyGradLowp } from './cross-entropy.js';
import { attention, attentionBackward, attentionLowp, attentionLowpBackward } from './attention.js';
import { attentionLowpPacked, attentionLowpPacked16, attentionLowpPacked16Backward, attentionLowpPackedBackward } from './attention-packed.js';
import { binary, unary, unaryMul } from './elementwise.js';
import { adamw } from './fused.js';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing.js';
import { copyStrided, reduce, sumSquares } from './layout.js';
import { castFromLowp, castToLowp, castToLowpColumnSums, columnSumsBf16, linearLowp, matmulLowp } from './lowp.js';
import { geluBf16, geluBf16Backward } from './gelu-bf16.js';
import { matmul } from './matmul.js';
import { layerNorm, layerNormBackward, softmax, softmaxBackward } from './rows.js';

export const jsBackend: Backend = {
  name: 'js',
  unary, unaryMul, binary, copyStrided, reduce, matmul, softmax, softmaxBackward, crossEntropy, crossEntropyBackward, crossEntropyGradLowp, layerNorm,
  layerNormBackward, gather, scatterAdd, indexSelect, indexAdd, sumSquares, adamw, attention, attentionBackward,
  matmulLowp, linearLowp, castToLowp, castToLowpColumnSums, castFromLowp, attentionLowp, attentionLowpBackward,
  attentionLowpPacked, attentionLowpPackedBackward, attentionLowpPacked16, attentionLowpPacked16Backward,
  columnSumsBf16, geluBf16, geluBf16Backward,
};
