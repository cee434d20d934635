/**
 * reportTo: ["tensorboard"]: a CLI run's event file, read back by test/report/fixtures/read_tfevents.py
 * (its own CRC32C and protobuf decoding, no TensorFlow): both CRCs of every record hold, the file
 * version comes first, and every numeric value of every metrics.jsonl line is a scalar of the event
 * at that line's step (as float32), with Hugging Face-like tags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maskedCrc32c } from '../../src/report/tensorboard.js';
import { parseConfig } from '../../src/train/config.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../src/cli/main.js');
const reader = resolve(here, '../../../test/report/fixtures/read_tfevents.py');
const dir = mkdtempSync(join(tmpdir(), 'tf-tb-'));

interface Events { file_version: string; events: Array<{ step: number; wall_time: number; scalars: Record<string, number> }> }

/** Every number in a metrics line except its step and time, rounded to float32. */
function numbers(v: unknown, out: number[] = [], top = true): number[] {
  if (typeof v === 'number') out.push(Math.fround(v));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (!(top && (k === 'step' || k === 'time'))) numbers(x, out, false);
  }
  return out;
}

test('masked CRC32C: TFRecord\'s mask of CRC32C("123456789") = 0xE3069283', () => {
  const c = 0xe3069283;
  assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('a run with reportTo tensorboard: every metrics.jsonl series at every step, read back independently', () => {
  writeFileSync(join(dir, 'tiny.txt'), 'to be or not to be, that is the question.\n'.repeat(40));
  const logDir = join(dir, 'tb');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({
    task: 'lm', outputDir: join(dir, 'run'), seed: 1, data: { train: join(dir, 'tiny.txt'), blockSize: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 }, learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 6,
    loggingSteps: 1, evalSteps: 3, saveSteps: 3, report_to: 'tensorboard', logging_dir: logDir,
    generation: { prompt: 'to ', maxNewTokens: 2 },
  }));
  const r = spawnSync(process.execPath, [cli, 'train', '--config', join(dir, 'cfg.json')], { encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.equal(r.status, 0, r.stderr);
  const files = readdirSync(logDir);
  assert.equal(files.length, 1);
  assert.match(files[0], /^events\.out\.tfevents\.\d+\./);
  assert.match(r.stdout, /tensorboard: .*events\.out\.tfevents/);
  const got = JSON.parse(execFileSync('/usr/bin/python3', [reader, join(logDir, files[0])], { encoding: 'utf8' })) as Events;
  assert.equal(got.file_version, 'brain.Event:2');
  const lines = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => Number.isInteger(l.step) && numbers(l).length > 0);
  assert.equal(got.events.length, lines.length);
  lines.forEach((line, i) => {
    const ev = got.events[i];
    assert.equal(ev.step, line.step);
    assert.equal(ev.wall_time, (line.time as number) / 1000);
    const want = numbers(line).sort((a, b) => a - b), have = Object.values(ev.scalars).sort((a, b) => a - b);
    assert.deepEqual(have, want, `line ${i + 1}`);
    if (line.split === 'train') {
      assert.equal(ev.scalars['train/loss'], Math.fround(line.loss as number));
      assert.equal(ev.scalars['train/lr'], Math.fround(line.lr as number));
      assert.equal(ev.scalars['train/terms/ce'], Math.fround((line.terms as { ce: number }).ce));
    }
    if (line.split === 'eval') assert.equal(ev.scalars['eval/loss'], Math.fround(line.loss as number));
  });
  const steps = (split: string) => lines.filter((l) => l.split === split).map((l) => l.step);
  assert.deepEqual(steps('train'), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(steps('eval'), [3, 6]);
  assert.ok(got.events.some((e) => 'layers/h.0/gradNorm' in e.scalars));
});

test('reportTo: Hugging Face spellings accepted, unknown integrations named', () => {
  const base = { task: 'lm', data: { train: 'x.txt' } };
  assert.deepEqual(parseConfig({ ...base, reportTo: 'tensorboard' }).reportTo, ['tensorboard']);
  assert.deepEqual(parseConfig({ ...base }).reportTo, []);
  assert.throws(() => parseConfig({ ...base, reportTo: ['wandb'] }), /reportTo/);
});
