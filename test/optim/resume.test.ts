// Saving optimiser + schedule + scaler state at step k and restoring it into fresh objects continues
// with bit-identical parameters to an uninterrupted run (through JSON + a name → Float32Array map,
// the form a checkpoint stores).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AdamW, accumulationScale, clipGradNorm, createSchedule, GradScaler, groupParameters, joinStateDict, type LrSchedule,
  type Optimizer, SGD, setScheduledLr, splitStateDict,
} from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { bitsEqual, cloneMlp, makeBatch, makeMlp, type Mlp, mlpLoss, mlpParams, namedMlpParams } from './helpers.js';

const STEPS = 12, K = 5, ACCUM = 2, OVERFLOW_STEP = 3;

interface Run { m: Mlp; opt: Optimizer<{ lr: number }>; sched: LrSchedule; scaler: GradScaler }

type Kind = 'adamw' | 'sgd';

function fresh(m: Mlp, kind: Kind): Run {
  const groups = groupParameters(namedMlpParams(m), { policy: 'huggingface', weightDecay: 0.1 });
  const opt = kind === 'adamw' ? new AdamW(groups, { lr: 3e-3, amsgrad: true }) : new SGD(groups, { lr: 3e-2, momentum: 0.9, nesterov: true });
  const sched = createSchedule({ type: 'cosine', baseLr: kind === 'adamw' ? 3e-3 : 3e-2, warmupSteps: 3, numTrainingSteps: STEPS });
  const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
  return { m, opt, sched, scaler };
}

function batches(): { x: T.Tensor; y: T.Tensor }[][] {
  const gen = new T.Generator(99);
  return Array.from({ length: STEPS }, () => Array.from({ length: ACCUM }, () => makeBatch(gen, 4)));
}

/** One optimiser step: accumulate, unscale, clip, scaler step, update, schedule. */
function trainStep(r: Run, data: { x: T.Tensor; y: T.Tensor }[], step: number): void {
  T.scope(() => {
    setScheduledLr(r.opt, r.sched);
    for (const { x, y } of data) T.backward(r.scaler.scale(T.mulScalar(mlpLoss(r.m, x, y), accumulationScale(ACCUM))));
    // An overflow on one step exercises the skip / backoff path.
    if (step === OVERFLOW_STEP) (r.m.w2.grad!.data() as Float32Array)[3] = Infinity;
    r.scaler.unscale_(r.opt);
    clipGradNorm(mlpParams(r.m), 1.0);
    r.scaler.step(r.opt);
    r.scaler.update();
    r.sched.step();
    r.opt.zeroGrad();
  });
}

for (const kind of ['adamw', 'sgd'] as const) {
  test(`${kind}: resume at step ${K} from saved optimiser, schedule and scaler state gives bit-identical parameters`, () => {
    const data = batches();
    const init = makeMlp(42);

    const straight = fresh(cloneMlp(init), kind);
    for (let s = 0; s < STEPS; s++) trainStep(straight, data[s], s);

    const first = fresh(cloneMlp(init), kind);
    for (let s = 0; s < K; s++) trainStep(first, data[s], s);
    // Checkpoint: JSON text + named float32 tensors (what optimizer.safetensors would hold).
    const { json, tensors } = splitStateDict(first.opt.stateDict());
    const saved = {
      json: JSON.stringify({ optimizer: json, schedule: first.sched.stateDict(), scaler: first.scaler.stateDict() }),
      tensors: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }])),
      params: mlpParams(first.m).map((p) => (p.data() as Float32Array).slice()),
    };
    // Keep training the first run a bit, to show the checkpoint is a copy.
    trainStep(first, data[K], K);

    const restoredModel = cloneMlp(init);
    mlpParams(restoredModel).forEach((p, i) => (p.data() as Float32Array).set(saved.params[i]));
    const resumed = fresh(restoredModel, kind);
    const state = JSON.parse(saved.json);
    resumed.opt.loadStateDict(joinStateDict(state.optimizer, saved.tensors));
    resumed.sched.loadStateDict(state.schedule);
    resumed.scaler.loadStateDict(state.scaler);
    assert.equal(resumed.sched.lastEpoch, K);
    for (let s = K; s < STEPS; s++) trainStep(resumed, data[s], s);

    mlpParams(straight.m).forEach((p, i) => {
      assert.ok(bitsEqual(p.data() as Float32Array, mlpParams(resumed.m)[i].data() as Float32Array), `param ${i} differs after resume`);
    });
    assert.equal(resumed.scaler.getScale(), straight.scaler.getScale());
    assert.deepEqual(resumed.opt.stateDict(), straight.opt.stateDict());
    // The run did move (the comparison is not between untouched parameters), and one step was skipped.
    assert.ok(!bitsEqual(mlpParams(init)[0].data() as Float32Array, mlpParams(straight.m)[0].data() as Float32Array));
    assert.ok(straight.scaler.getScale() < 1024 * 2 ** 5);
  });
}
