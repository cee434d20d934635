/**
 * A small, hand-written training loop for the stability tests (independent of the Trainer): a
 * character-level language model on the bundled Tiny Shakespeare, AdamW, a schedule, global-norm
 * clipping, the StabilityGuard wired as the trainer wires it, and fault injection:
 * - `infLossAt`: steps whose loss is multiplied by +Infinity (a batch that makes the loss infinite);
 * - `lrBoost`: the learning rate multiplied by `factor` for `count` optimizer updates starting at the
 *   first update of step `at` (a transient fault: it fires on updates actually applied, so a rollback
 *   does not replay it forever).
 * Batches are drawn from one seeded generator in consumption order, so two runs with the same seed
 * see the same stream of batches. The final loss is the mean loss over fixed validation batches.
 */
import { readFileSync } from 'node:fs';
import * as T from '../../../src/tensor/index.js';
import { GPT } from '../../../src/models/gpt.js';
import { Embedding, Module, ModuleList, TransformerBlock } from '../../../src/nn/index.js';
import { AdamW, clipGradNorm, createSchedule } from '../../../src/optim/index.js';
import { StabilityGuard, type LayersRecord, type StabilityConfigInput, type StabilityEvent } from '../../../src/train/stability/index.js';

const TEXT = readFileSync(new URL('../../../../examples/data/tinyshakespeare/input.txt', import.meta.url), 'utf8').slice(0, 200_000);
const CHARS = [...new Set(TEXT)].sort();
const IDS = Int32Array.from([...TEXT].map((c) => CHARS.indexOf(c)));
export const VOCAB = CHARS.length;
const SPLIT = Math.floor(IDS.length * 0.9);

/** A deep post-LN Transformer LM (Vaswani et al. 2017 block order, BERT init N(0, 0.02), no warmup care). */
export class PostLNLM extends Module {
  declare wte: Embedding;
  declare wpe: Embedding;
  declare h: ModuleList<TransformerBlock>;

  constructor(c: { nLayer: number; nEmbd: number; nHead: number; blockSize: number; seed: number }) {
    super();
    const g = new T.Generator(c.seed);
    this.registerModule('wte', new Embedding(VOCAB, c.nEmbd, { generator: g }));
    this.registerModule('wpe', new Embedding(c.blockSize, c.nEmbd, { generator: g }));
    const h = new ModuleList<TransformerBlock>();
    for (let i = 0; i < c.nLayer; i++) h.append(new TransformerBlock({ nEmbd: c.nEmbd, nHead: c.nHead, normPosition: 'post', causal: true, generator: g }));
    this.registerModule('h', h);
    for (const [name, p] of this.namedParameters()) {
      const d = p.data() as Float32Array;
      if (name.endsWith('.bias')) d.fill(0);
      else if (/ln_\d\.weight$/.test(name)) d.fill(1);
      else for (let i = 0; i < d.length; i++) d[i] = 0.02 * g.normal();
    }
  }

  forward(ids: T.Tensor): T.Tensor {
    let x = T.add(this.wte.forward(ids), this.wpe.forward(T.arange(ids.shape[1])));
    for (const b of this.h) x = b.forward(x);
    return T.matmul(x, T.transpose(this.wte.weight, 0, 1));
  }
}

export interface LoopOptions {
  arch?: 'gpt' | 'postln';
  nLayer?: number;
  nEmbd?: number;
  nHead?: number;
  blockSize?: number;
  batchSize?: number;
  steps: number;
  lr: number;
  warmupSteps?: number;
  schedule?: 'constant' | 'cosine' | 'linear';
  maxGradNorm?: number;
  seed?: number;
  loggingSteps?: number;
  /** null: no guard at all. */
  stability?: StabilityConfigInput | null;
  infLossAt?: number[];
  lrBoost?: { at: number; factor: number; count: number };
  evalBatches?: number;
  /** Stop as soon as the smoothed training loss diverges (> 1.5 × initial loss or non-finite). */
  stopOnDivergence?: boolean;
}

export interface LoopResult {
  /** Train losses in execution order (a rolled-back step appears again). */
  losses: { step: number; loss: number }[];
  finalLoss: number;
  events: StabilityEvent[];
  layers: LayersRecord[];
  /** First step whose loss was non-finite or above 1.5× the first loss, or null. */
  divergedAt: number | null;
  allParamsFinite: boolean;
  guard: StabilityGuard | null;
  /** Updates actually applied. */
  updates: number;
}

/** Cross-entropy of logits [B, T, V] against targets int32 [B, T] (log-sum-exp via logSoftmax). */
export function crossEntropy(logits: T.Tensor, targets: T.Tensor): T.Tensor {
  const lp = T.logSoftmax(logits, -1);
  return T.neg(T.mean(T.gather(lp, -1, T.unsqueeze(targets, -1))));
}

function batch(gen: T.Generator, lo: number, hi: number, B: number, Tn: number): [T.Tensor, T.Tensor] {
  const x = new Int32Array(B * Tn);
  const y = new Int32Array(B * Tn);
  for (let b = 0; b < B; b++) {
    const s = lo + gen.randint(0, hi - lo - Tn - 1);
    for (let t = 0; t < Tn; t++) {
      x[b * Tn + t] = IDS[s + t];
      y[b * Tn + t] = IDS[s + t + 1];
    }
  }
  return [T.tensor(x, [B, Tn], 'int32'), T.tensor(y, [B, Tn], 'int32')];
}

/** Builds the model of `o` (seeded). */
export function buildModel(o: LoopOptions): Module & { forward(ids: T.Tensor): T.Tensor } {
  const c = { nLayer: o.nLayer ?? 2, nEmbd: o.nEmbd ?? 32, nHead: o.nHead ?? 4, blockSize: o.blockSize ?? 32, seed: o.seed ?? 7 };
  return o.arch === 'postln' ? new PostLNLM(c) : new GPT({ vocabSize: VOCAB, ...c });
}

/** Runs the loop (see the module comment). */
export function runLoop(o: LoopOptions): LoopResult {
  const B = o.batchSize ?? 8, Tn = o.blockSize ?? 32, seed = o.seed ?? 7;
  const model = buildModel(o);
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const opt = new AdamW(params, { lr: o.lr, weightDecay: 0 });
  const data = new T.Generator(seed + 1);
  const events: StabilityEvent[] = [];
  const layers: LayersRecord[] = [];
  let step = 0;
  const sched = createSchedule({ type: o.schedule ?? 'cosine', baseLr: o.lr, warmupSteps: o.warmupSteps ?? 0, numTrainingSteps: o.steps });
  const counter = { stateDict: () => ({ step }), loadStateDict: (s: { step: number }) => { step = s.step; } };
  const guard = o.stability === null ? null : new StabilityGuard({
    config: o.stability ?? {}, namedParameters: named, optimizer: opt, extras: { counter },
    log: (r) => ('event' in r ? events.push(r) : layers.push(r)),
  });
  const logEvery = o.loggingSteps ?? 10;
  const losses: LoopResult['losses'] = [];
  const infAt = new Set(o.infLossAt ?? []);
  let boostLeft = 0;
  let updates = 0;
  let divergedAt: number | null = null;
  let firstLoss: number | null = null;
  let smooth: number | null = null;
  guard?.start(0);
  while (step < o.steps) {
    while (guard?.takeSkipBatch()) batch(data, 0, SPLIT, B, Tn);
    const s = step;
    const loss = T.scope(() => {
      const [x, y] = batch(data, 0, SPLIT, B, Tn);
      let l = crossEntropy(model.forward(x), y);
      if (infAt.has(s)) l = T.mulScalar(l, Infinity);
      T.backward(l);
      return l.item();
    });
    losses.push({ step: s, loss });
    if (firstLoss === null) firstLoss = loss;
    smooth = smooth === null || !Number.isFinite(smooth) ? loss : 0.9 * smooth + 0.1 * loss;
    if (divergedAt === null && (!Number.isFinite(loss) || smooth > 1.5 * firstLoss)) divergedAt = s;
    const logging = (s + 1) % logEvery === 0;
    const d = guard ? guard.check(s, loss, { logStats: logging, logStep: s + 1 }) : { action: 'step' as const, gradNorm: 0 };
    if (d.action === 'step') {
      if ((o.maxGradNorm ?? 1) > 0) clipGradNorm(params, o.maxGradNorm ?? 1);
      if (o.lrBoost && s === o.lrBoost.at && boostLeft === 0 && updates >= 0) boostLeft = o.lrBoost.count;
      const base = sched.lrAt(s);
      opt.setLr(boostLeft > 0 ? base * o.lrBoost!.factor : base);
      if (boostLeft > 0) {
        boostLeft--;
        if (boostLeft === 0) o = { ...o, lrBoost: undefined };
      }
      opt.step();
      updates++;
      guard?.afterStep(s + 1);
      step = s + 1;
    } else if (d.action === 'skip') {
      step = s + 1;
    }
    // rollback: `step` was restored through the `counter` extra.
    opt.zeroGrad();
    if (o.stopOnDivergence && divergedAt !== null) break;
  }
  const allParamsFinite = params.every((p) => (p.data() as Float32Array).every(Number.isFinite));
  const ev = new T.Generator(seed + 99);
  const nEval = o.evalBatches ?? 8;
  let total = 0;
  T.noGrad(() => {
    for (let i = 0; i < nEval; i++) total += T.scope(() => {
      const [x, y] = batch(ev, SPLIT, IDS.length, B, Tn);
      return crossEntropy(model.forward(x), y).item();
    });
  });
  return { losses, finalLoss: total / nEval, events, layers, divergedAt, allParamsFinite, guard, updates };
}
