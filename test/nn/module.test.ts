// Module / Parameter: registration, dotted names, state dicts (round trip, strict errors), modes,
// parameter counts, dtype conversion.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrainformerError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { BatchNorm1d, Dropout, LayerNorm, Linear, Module, ModuleList, SinusoidalPositionalEncoding, StateDictError } from '../../src/nn/index.js';

class Net extends Module {
  declare fc: Linear;
  declare blocks: ModuleList<LayerNorm>;
  declare bn: BatchNorm1d;
  declare drop: Dropout;
  declare scale: T.Tensor;
  declare pos: SinusoidalPositionalEncoding;

  constructor(seed: number) {
    super();
    const g = new T.Generator(seed);
    this.registerModule('fc', new Linear(3, 4, { generator: g }));
    this.registerModule('blocks', new ModuleList([new LayerNorm(4), new LayerNorm(4, { bias: false })]));
    this.registerModule('bn', new BatchNorm1d(4));
    this.registerModule('drop', new Dropout(0.5));
    this.registerParameter('scale', T.full([1], 2));
    this.registerModule('pos', new SinusoidalPositionalEncoding(5, 4));
    // Non-default values so that a load is visible.
    for (const p of this.parameters()) { const d = p.data(); for (let i = 0; i < d.length; i++) d[i] += g.normal(); }
  }

  forward(x: T.Tensor): T.Tensor {
    let h = this.fc.forward(x);
    for (const ln of this.blocks) h = ln.forward(h);
    return T.mul(this.bn.forward(h), this.scale);
  }
}

describe('Module', () => {
  test('parameters have dotted names in registration order; submodules and buffers are reachable', () => {
    const m = new Net(1);
    assert.deepEqual(m.namedParameters().map(([n]) => n), [
      'scale', 'fc.weight', 'fc.bias', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'bn.weight', 'bn.bias']);
    assert.deepEqual(m.namedBuffers().map(([n]) => n), ['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'pos.pe']);
    for (const p of m.parameters()) {
      assert.equal(p.requiresGrad, true);
      assert.equal(p.storage.kept, true);
    }
    assert.equal(m.getSubmodule('blocks.1'), m.blocks.at(1));
    assert.equal(m.getParameter('blocks.0.bias'), m.blocks.at(0).bias);
    assert.throws(() => m.getParameter('fc.nothing'), ValueError);
  });

  test('numParameters counts elements once, with exclusions', () => {
    const m = new Net(1);
    // scale 1, fc 3·4 + 4, two LayerNorms 4 + 4 and 4, BatchNorm 4 + 4
    assert.equal(m.numParameters(), 1 + 16 + 8 + 4 + 8);
    assert.equal(m.numParameters({ exclude: ['fc.weight'] }), 1 + 4 + 8 + 4 + 8);
    // A module registered twice (shared) is counted once.
    const shared = new Linear(2, 2);
    const two = new Module();
    two.registerModule('a', shared);
    two.registerModule('b', shared);
    assert.equal(two.numParameters(), 6);
    assert.deepEqual(two.namedParameters().map(([n]) => n), ['a.weight', 'a.bias']);
  });

  test('stateDict holds parameters and persistent buffers; loading copies into the existing tensors', () => {
    const a = new Net(1), b = new Net(2);
    const sd = a.stateDict();
    assert.deepEqual(Object.keys(sd), ['scale', 'fc.weight', 'fc.bias', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight',
      'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    a.bn.running_mean!.data().set([1, 2, 3, 4]);
    const before = b.parameters();
    const res = b.loadStateDict(a.stateDict());
    assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(b.parameters(), before, 'tensor identities are kept');
    for (const [k, v] of Object.entries(a.stateDict())) assert.deepEqual(b.stateDict()[k].toArray(), v.toArray(), k);
    const x = T.randn([5, 3], { generator: new T.Generator(3) });
    a.eval(); b.eval();
    assert.deepEqual(b.forward(x).toArray(), a.forward(x).toArray());
  });

  test('strict load lists missing keys, unexpected keys and shape mismatches, and loads nothing', () => {
    const a = new Net(1), b = new Net(2);
    const sd: Record<string, T.Tensor> = { ...a.stateDict() };
    delete sd['fc.bias'];
    sd['extra.weight'] = T.zeros([2]);
    sd['blocks.0.weight'] = T.zeros([5]);
    const snapshot = b.fc.weight.toArray();
    let err: unknown;
    try { b.loadStateDict(sd); } catch (e) { err = e; }
    assert.ok(err instanceof StateDictError && err instanceof TrainformerError);
    assert.deepEqual(err.missingKeys, ['fc.bias']);
    assert.deepEqual(err.unexpectedKeys, ['extra.weight']);
    assert.deepEqual(err.mismatchedShapes, [{ key: 'blocks.0.weight', expected: [4], got: [5] }]);
    assert.match(err.message, /fc\.bias/);
    assert.match(err.message, /extra\.weight/);
    assert.match(err.message, /blocks\.0\.weight: module has \[4\], state dict has \[5\]/);
    assert.deepEqual(b.fc.weight.toArray(), snapshot, 'nothing was copied');
    // Non-strict: keys are reported, shapes still checked.
    sd['blocks.0.weight'] = T.zeros([4]);
    const res = b.loadStateDict(sd, { strict: false });
    assert.deepEqual(res, { missingKeys: ['fc.bias'], unexpectedKeys: ['extra.weight'] });
    assert.deepEqual(b.fc.weight.toArray(), a.fc.weight.toArray());
    assert.deepEqual(b.blocks.at(0).weight.toArray(), [0, 0, 0, 0]);
  });

  test('loadStateDict accepts plain {shape, data} values (e.g. from a file)', () => {
    const m = new Linear(2, 3);
    m.loadStateDict({ weight: { shape: [3, 2], data: new Float64Array([1, 2, 3, 4, 5, 6]) }, bias: { shape: [3], data: [7, 8, 9] } });
    assert.deepEqual(m.weight.toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(m.bias!.toArray(), [7, 8, 9]);
    const bn = new BatchNorm1d(2);
    bn.loadStateDict({ ...bn.stateDict(), num_batches_tracked: { shape: [], data: BigInt64Array.from([5n]) } });
    assert.equal(bn.num_batches_tracked!.item(), 5);
  });

  test('train() / eval() set the mode of every submodule', () => {
    const m = new Net(1);
    assert.ok(m.modules().every((x) => x.training));
    m.eval();
    assert.ok(m.modules().every((x) => !x.training));
    m.train();
    assert.ok(m.modules().every((x) => x.training));
  });

  test("to('float64') converts parameters and buffers; the module then computes in float64", () => {
    const m = new Net(1).eval();
    const x = T.randn([5, 3], { generator: new T.Generator(4) });
    const y32 = m.forward(x).toArray();
    m.to('float64');
    assert.ok(m.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad));
    assert.equal(m.fc.weight.dtype, 'float64', 'accessors see the converted tensor');
    assert.equal(m.bn.running_var!.dtype, 'float64');
    assert.equal(m.bn.num_batches_tracked!.dtype, 'int32');
    const y64 = m.forward(T.cast(x, 'float64'));
    assert.equal(y64.dtype, 'float64');
    y64.toArray().forEach((v, i) => assert.ok(Math.abs(v - y32[i]) < 1e-5));
  });

  test('registration rejects bad and clashing names', () => {
    const m = new Module();
    assert.throws(() => m.registerParameter('a.b', T.zeros([1])), ValueError);
    assert.throws(() => m.registerParameter('train', T.zeros([1])), ValueError);
    assert.throws(() => m.registerParameter('ids', T.zeros([1], 'int32')), ValueError);
  });

  test('zeroGrad clears gradients', () => {
    const m = new Linear(2, 2);
    T.backward(T.sum(m.forward(T.ones([1, 2]))));
    assert.ok(m.weight.grad);
    m.zeroGrad();
    assert.equal(m.weight.grad, null);
  });
});
