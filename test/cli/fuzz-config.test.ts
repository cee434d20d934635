/**
 * Fuzz test of the CLI's parse / validate path (issue 19, "Must show"): random configs (every field
 * of the schema and made-up ones, nested objects, wrong types, huge and tiny numbers, unicode,
 * truncated JSON, random bytes) and random data files (text corpora, classification JSONL with
 * broken lines) go through what `trainformer train` does before its first step — read and validate
 * the config, create the output folder, read the data, build the model, the Trainer's checks. Each
 * case either prepares a run or fails with a TrainformerError whose message is one line: never a raw
 * TypeError / RangeError, never a hang. A few failing cases also go through the real command: exit 1,
 * one error line, no stack. Steps whose memory estimate passes TRAINFORMER_MAX_MEMORY (64 MB here)
 * are refused up front, which keeps the cases fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { z } from 'zod';
import { TrainformerError } from '../../src/errors.js';
import { setLogger } from '../../src/logger.js';
import { prepareTrain } from '../../src/cli/main.js';
import { TrainConfigSchema } from '../../src/train/config.js';
import { objectShape } from '../../src/train/config-names.js';
import { assertErrorLine, trainformer } from './run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

process.env.TRAINFORMER_MAX_MEMORY = String(64e6);
const dir = mkdtempSync(join(tmpdir(), 'tf-fuzz-'));

/** Every field path of the schema, nested blocks included. */
function fieldPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, sub] of Object.entries(objectShape(schema))) {
    out.push([...prefix, k]);
    out.push(...fieldPaths(sub, [...prefix, k]));
  }
  return out;
}
const PATHS = fieldPaths(TrainConfigSchema);
const TOP = new Set(Object.keys(objectShape(TrainConfigSchema)));
const BLOCKS = [[], ['model'], ['data'], ['data', 'tokenizer'], ['stability'], ['stability', 'nanGuard'], ['generation'], ['objective'], ['lrSchedulerKwargs']];

const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 3, 0.5, 1e9, 1e308, -1e308, 2 ** 53, 1e-320, 7.5, 'lm', 'classification', 'char', 'gpt2', 'hf', 'word', 'no', 'steps', '', '/proc/x', 'nope.txt'),
  fc.integer({ min: -5, max: 70 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);
const path = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PATHS) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...BLOCKS), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 })).map(([b, k]) => [...b, k]) },
);
const mutation = fc.record({ path, value, remove: fc.boolean() });

const lmText = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constant('to be or not to be, that is the question.\n'.repeat(30)),
);
const jsonlLine = fc.oneof(
  fc.record({ text: fc.string({ maxLength: 20 }), label: fc.oneof(fc.constantFrom('pos', 'neg', 0, 1, 2), fc.jsonValue({ maxDepth: 1 })) }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 30 }),
  fc.constant('{"text": "cut off'),
);
const cases = fc.record({
  task: fc.constantFrom('lm', 'classification'),
  mutations: fc.array(mutation, { maxLength: 3 }),
  truncateAt: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 400 }) }),
  randomBytes: fc.oneof({ weight: 15, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }) }),
  text: lmText,
  lines: fc.array(jsonlLine, { maxLength: 12 }),
  goodLines: fc.boolean(),
});

type Case = typeof cases extends fc.Arbitrary<infer T> ? T : never;

function setPath(o: Record<string, unknown>, p: readonly string[], v: unknown, remove: boolean): void {
  let cur: Record<string, unknown> = o;
  for (const k of p.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = p[p.length - 1]!;
  if (remove) delete cur[last];
  else cur[last] = v;
}

let n = 0;
/** Writes a case's files; returns the config path. */
function writeCase(c: Case): string {
  const d = join(dir, `case${n++}`);
  mkdirSync(d);
  const good = Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `example number ${i}`, label: i % 2 ? 'pos' : 'neg' }));
  writeFileSync(join(d, 'train.txt'), c.text);
  writeFileSync(join(d, 'train.jsonl'), [...(c.goodLines ? good : []), ...c.lines].join('\n'));
  writeFileSync(join(d, 'val.jsonl'), good.join('\n'));
  const cfg: Record<string, unknown> = {
    task: c.task, outputDir: join(d, 'out'), seed: 1,
    data: c.task === 'lm' ? { train: 'train.txt', blockSize: 8 } : { train: 'train.jsonl', validation: 'val.jsonl', maxLength: 16 },
    model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 2, disableTqdm: true,
  };
  for (const m of c.mutations) setPath(cfg, m.path, m.value, m.remove);
  // Never write outside the case's folder.
  if (typeof cfg.outputDir === 'string' && cfg.outputDir !== '/proc/x') cfg.outputDir = join(d, 'out');
  let body = JSON.stringify(cfg);
  if (c.truncateAt !== null) body = body.slice(0, c.truncateAt);
  const p = join(d, 'config.json');
  writeFileSync(p, c.randomBytes !== null ? c.randomBytes : body);
  return p;
}

test('random configs and data files: a prepared run, or one line of a TrainformerError', async () => {
  const failing: string[] = [];
  const messages = new Set<string>();
  let prepared = 0;
  const prev = setLogger({ info: () => {}, warn: () => {} });
  const stderrWrite = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write; // warnings of prepareTrain
  try {
    await fc.assert(fc.asyncProperty(cases, async (c) => {
      const cfgPath = writeCase(c);
      try {
        await prepareTrain({ config: cfgPath }, []);
        prepared++;
      } catch (e) {
        assert.ok(e instanceof TrainformerError, `${cfgPath}: not a TrainformerError: ${(e as Error)?.stack ?? String(e)}`);
        assert.ok(!e.message.includes('\n'), `${cfgPath}: a message of several lines: ${e.message}`);
        assert.ok(e.message.length > 0 && e.message.length < 600, `${cfgPath}: message length ${e.message.length}`);
        // It names what is wrong: a file (a path) or a config field, before its first ': '.
        const head = e.message.split(': ')[0]!;
        assert.ok(head.includes('/') || TOP.has(head.split(/[.,]/)[0]!), `${cfgPath}: names no field or file: ${e.message}`);
        if (failing.length < 5) failing.push(cfgPath);
        if (process.env.FUZZ_SHOW) messages.add(e.message.replace(/\/tmp\/\S+/g, 'P').slice(0, 90));
      }
    }), { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? 1919) });
  } finally {
    process.stderr.write = stderrWrite;
    setLogger(prev);
  }
  if (process.env.FUZZ_SHOW) console.log(prepared, [...messages].join('\n'));
  assert.ok(prepared > 0, 'some random configs are valid');
  assert.ok(failing.length > 0, 'some random configs are not');
  // The real command on a few of the failing cases: exit 1, one error line.
  for (const p of failing) {
    const r = trainformer(['train', '--config', p], { timeout: HANG_GUARD_MS });
    assert.equal(r.code, 1, `${p}: exit ${r.code}\n${r.stderr}`);
    assertErrorLine(r, /^(config )?error: /);
  }
});
