// Grouping policies: Hugging Face (no decay on biases / norm parameters, by name) and nanoGPT
// (decay on tensors of rank >= 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { AdamW, groupParameters, isNoDecayName } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';

const named = (): [string, T.Tensor][] => [
  ['transformer.wte.weight', T.zeros([10, 4])],
  ['transformer.h.0.ln_1.weight', T.zeros([4])],
  ['transformer.h.0.ln_1.bias', T.zeros([4])],
  ['transformer.h.0.attn.c_attn.weight', T.zeros([4, 12])],
  ['transformer.h.0.attn.c_attn.bias', T.zeros([12])],
  ['encoder.layer.0.output.LayerNorm.weight', T.zeros([4])],
  ['model.layers.0.input_layernorm.weight', T.zeros([4])],
  ['model.norm.weight', T.zeros([4])],
  ['blocks.0.ln1.weight', T.zeros([4])],
  ['lnF.weight', T.zeros([4])],
  ['head.scale', T.zeros([4])],
  ['kiln.weight', T.zeros([4, 4])],
].map(([n, t]) => [n as string, (t as T.Tensor).requiresGrad_()]);

test('Hugging Face names: biases and norm / ln parameters get no decay', () => {
  const expectNoDecay = new Set(['transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.bias',
    'encoder.layer.0.output.LayerNorm.weight', 'model.layers.0.input_layernorm.weight', 'model.norm.weight', 'blocks.0.ln1.weight', 'lnF.weight']);
  for (const [n] of named()) assert.equal(isNoDecayName(n), expectNoDecay.has(n), n);
  const np = named();
  const [decay, noDecay] = groupParameters(np, { policy: 'huggingface', weightDecay: 0.1 });
  assert.equal(decay.weightDecay, 0.1);
  assert.equal(noDecay.weightDecay, 0);
  assert.deepEqual(noDecay.params, np.filter(([n]) => expectNoDecay.has(n)).map(([, t]) => t));
  assert.deepEqual(decay.params, np.filter(([n]) => !expectNoDecay.has(n)).map(([, t]) => t));
});

test('nanoGPT: decay exactly the tensors with ndim >= 2; tied and frozen tensors handled', () => {
  const np = named();
  np.push(['lm_head.weight', np[0][1]]); // tied to wte: taken once
  np.push(['frozen.weight', T.zeros([3, 3])]); // requiresGrad false: left out
  const [decay, noDecay] = groupParameters(np, { policy: 'nanogpt', weightDecay: 0.1 });
  assert.ok(decay.params.every((p) => p.ndim >= 2) && noDecay.params.every((p) => p.ndim < 2));
  assert.equal(decay.params.length + noDecay.params.length, named().length);
  assert.equal(decay.params.filter((p) => p === np[0][1]).length, 1);
  const opt = new AdamW(groupParameters(np, { policy: 'nanogpt', weightDecay: 0.1 }), { lr: 1e-3 });
  assert.deepEqual(opt.paramGroups.map((g) => g.weightDecay), [0.1, 0]);
  assert.deepEqual(opt.paramGroups.map((g) => g.name), ['decay', 'no_decay']);
});

test('policy none gives one decaying group; an unknown policy throws ValueError naming policy', () => {
  const groups = groupParameters(named(), { policy: 'none', weightDecay: 0.01 });
  assert.equal(groups.length, 1);
  assert.equal(groups[0].params.length, named().length);
  assert.throws(() => groupParameters(named(), { policy: 'gpt' as never, weightDecay: 0.1 }), (e: unknown) => e instanceof ValueError && /policy/.test(e.message));
  assert.throws(() => groupParameters(named(), { policy: 'nanogpt', weightDecay: -1 }), (e: unknown) => e instanceof ValueError && /weightDecay/.test(e.message));
});
