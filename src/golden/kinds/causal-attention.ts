// Golden kind `causal_attention`, composed from tensor ops (matmul, masked softmax) so that the
// attention probabilities `att` [B, H, T, T] are available for comparison.
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import * as T from '../../tensor/index.js';

/** y, att for x [B,T,C] with packed q/k/v projection w_qkv [3C, C] (see the golden README). */
export function causalAttentionFromOps(x: T.Tensor, wQkv: T.Tensor, bQkv: T.Tensor | null, wO: T.Tensor, bO: T.Tensor | null,
  nHead: number): { y: T.Tensor; att: T.Tensor } {
  const [B, Tn, C] = x.shape;
  const hd = C / nHead;
  let qkv = T.matmul(x, T.transpose(wQkv, 0, 1));
  if (bQkv) qkv = T.add(qkv, bQkv);
  const [q, k, v] = T.split(qkv, C, 2).map((t) => T.transpose(T.reshape(t, [B, Tn, nHead, hd]), 1, 2));
  const scores = T.mulScalar(T.matmul(q, T.transpose(k, -1, -2)), 1 / Math.sqrt(hd));
  const future = T.triu(T.ones([Tn, Tn]), 1);
  const att = T.softmax(T.maskedFill(scores, future, -Infinity), -1);
  const heads = T.reshape(T.transpose(T.matmul(att, v), 1, 2), [B, Tn, C]);
  let y = T.matmul(heads, T.transpose(wO, 0, 1));
  if (bO) y = T.add(y, bO);
  return { y, att };
}

registerKind('causal_attention', (c) => runAutogradCase(c, (inp) => causalAttentionFromOps(
  inp.x as T.Tensor, inp.w_qkv as T.Tensor, (inp.b_qkv as T.Tensor | undefined) ?? null,
  inp.w_o as T.Tensor, (inp.b_o as T.Tensor | undefined) ?? null, c.options.n_head as number)));
