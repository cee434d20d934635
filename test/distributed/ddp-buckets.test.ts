// DistributedDataParallel's bucket logic in one process, against a stand-in 2-rank group whose
// "other rank" has the same gradients: a sum all-reduce doubles a bucket. Reference gradients come
// from a plain backward without DDP. Checks: buckets in reverse parameter order under the cap, all
// but the last started during backward, noSync micro-steps start nothing, a parameter no rank used
// keeps grad null, a second backward before synchronize() is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DistributedDataParallel, type ProcessGroup, type ReduceOp, type Work } from '../../src/distributed/index.js';
import { DistributedError } from '../../src/errors.js';
import { Linear } from '../../src/nn/index.js';
import * as T from '../../src/tensor/index.js';

/** A 2-rank group whose other rank mirrors this one: sum doubles, avg keeps, broadcast keeps. */
class MirrorGroup implements ProcessGroup {
  readonly backend = 'mpi' as const;
  readonly rank = 0;
  readonly size = 2;
  readonly localRank = 0;
  readonly localSize = 2;
  timeoutSec = 300;
  calls: string[] = [];
  private done: Work = { wait: () => 0, isCompleted: () => true, promise: async () => 0 };
  allReduce(buf: Float32Array, op: ReduceOp = 'sum', label = ''): Work {
    this.calls.push(label);
    if (op === 'sum') for (let i = 0; i < buf.length; i++) buf[i] *= 2;
    return this.done;
  }
  broadcast(_b: Float32Array, _r = 0, label = ''): Work { this.calls.push(label); return this.done; }
  allGather(): Work { return this.done; }
  barrier(): Work { return this.done; }
  destroy(): void {}
  abort(): never { throw new Error('abort'); }
}

function model(): { layers: Linear[]; named: [string, T.Tensor][]; loss: (x: T.Tensor) => T.Tensor } {
  const g = new T.Generator(5);
  const layers = [new Linear(6, 8, { generator: g }), new Linear(8, 8, { generator: g }), new Linear(8, 3, { generator: g })];
  const named = layers.flatMap((l, i) => [...l.namedParameters()].map(([n, p]) => [`${i}.${n}`, p] as [string, T.Tensor]));
  const loss = (x: T.Tensor): T.Tensor => T.sum(T.square(layers[2].forward(T.tanh(layers[1].forward(T.tanh(layers[0].forward(x)))))));
  return { layers, named, loss };
}

const input = (seed: number): T.Tensor => T.randn([4, 6], { generator: new T.Generator(seed) });

function referenceGrads(xs: T.Tensor[]): number[][] {
  const m = model();
  for (const x of xs) T.backward(m.loss(x));
  return m.named.map(([, p]) => Array.from(p.grad!.data()));
}

test('buckets in reverse order; all but the last start during backward; reduced grads written back', () => {
  T.scope(() => {
    const ref = referenceGrads([input(1)]);
    const m = model();
    const pg = new MirrorGroup();
    // 155 parameters (620 B); the 8×8 weight is 256 B: a 300-byte cap puts about one weight and a bias per bucket.
    const ddp = new DistributedDataParallel(m.named, pg, { bucketCapMb: 300e-6, gradReduction: 'sum' });
    assert.deepEqual(pg.calls, ["broadcast of rank 0's parameters (620 B)"]);
    const order = ddp.buckets.flatMap((b) => b.slots.map((s) => s.name));
    assert.deepEqual(order, m.named.map(([n]) => n).reverse());
    assert.ok(ddp.buckets.length >= 3);
    pg.calls = [];
    T.backward(m.loss(input(1)));
    const duringBackward = pg.calls.length;
    ddp.synchronize();
    assert.equal(pg.calls.length, ddp.buckets.length);
    assert.ok(duringBackward >= ddp.buckets.length - 1, `${duringBackward} of ${ddp.buckets.length} buckets started during backward`);
    m.named.forEach(([n, p], i) => {
      const got = Array.from(p.grad!.data());
      got.forEach((v, j) => assert.ok(Math.abs(v - 2 * ref[i][j]) <= 1e-6 * Math.abs(2 * ref[i][j]) + 1e-7, `${n}[${j}]`));
    });
  });
});

test('noSync micro-steps start no all-reduce; the synchronised step reduces the accumulated sum', () => {
  T.scope(() => {
    const ref = referenceGrads([input(1), input(2)]);
    const m = model();
    const pg = new MirrorGroup();
    const ddp = new DistributedDataParallel(m.named, pg, { gradReduction: 'sum' });
    pg.calls = [];
    ddp.noSync(() => T.backward(m.loss(input(1))));
    assert.deepEqual(pg.calls, []);
    T.backward(m.loss(input(2)));
    ddp.synchronize();
    assert.equal(pg.calls.length, 1);
    m.named.forEach(([, p], i) => Array.from(p.grad!.data()).forEach((v, j) => assert.ok(Math.abs(v - 2 * ref[i][j]) <= 1e-5 * Math.abs(ref[i][j]) + 1e-6)));
  });
});

test('a parameter no rank used keeps grad null; avg keeps the mirrored gradient; a second backward is refused', () => {
  T.scope(() => {
    const m = model();
    const ddp = new DistributedDataParallel(m.named, new MirrorGroup(), { gradReduction: 'avg' });
    // Only the first layer: layers 1 and 2 get no gradient on either "rank".
    T.backward(T.sum(m.layers[0].forward(input(3))));
    const g0 = Array.from(m.layers[0].weight.grad!.data());
    ddp.synchronize();
    assert.deepEqual(Array.from(m.layers[0].weight.grad!.data()), g0);
    assert.equal(m.layers[1].weight.grad, null);
    assert.equal(m.layers[2].bias!.grad, null);
    T.backward(m.loss(input(4)));
    assert.throws(() => T.backward(m.loss(input(4))), (e: Error) => e instanceof DistributedError && /second gradient before synchronize\(\)/.test(e.message));
  });
});
