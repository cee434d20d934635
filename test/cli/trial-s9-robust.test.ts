/**
 * Findings of the fresh-user trial s9 (/work/notes/trial-s9.md), through the built command:
 * - F12: a resume onto a damaged (truncated) latest checkpoint names it, the file and the damage,
 *   and the exact `--resume <earlier intact checkpoint>` to use (which then works), or that none
 *   is intact; nothing is trained and nothing falls back in silence (it said the safetensors
 *   reader's raw offset error only);
 * - F13: a binary or non-UTF-8 data file is a `config error:` naming the config file's line and the
 *   field, as a missing, empty or folder one (it said `error:`);
 * - F19: `train … 2>&1 | head -3` stops the training as Ctrl-C does (the step saved, exit 141); a
 *   closed stdout at the end says one line on stderr and exits 141 (it died at the next progress
 *   line with no checkpoint, exit 1; or went on in silence);
 * - F21: `eval --help` says that config-field flags (`--data.blockSize 128`) are accepted;
 *   generate's and predict's help say that they are not (they were said nowhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertErrorLine, assertOneLineError, cliPath, cliScratch, esc, trainformer } from './run-cli.js';

const s = cliScratch('tf-trial-s9-robust-', { maxSteps: 2, saveSteps: 100, evalSteps: 100, maxEvalBatches: 1 });

test('F12: a truncated latest checkpoint is named with the earlier intact one to --resume from, which works', () => {
  const out = join(s.dir, 'f12');
  const cfg = s.config(s.lm({ outputDir: out, maxSteps: 6, saveSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const ck = (n: number) => join(out, `checkpoint-${n}`);
  const model6 = join(ck(6), 'model.safetensors');
  const full = statSync(model6).size;
  truncateSync(model6, full - 100);
  const before = readdirSync(out).sort();
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '8']);
  assertErrorLine(r, new RegExp(`^error: --resume: ${esc(ck(6))} is damaged: its model\\.safetensors is truncated \\(${full - 100} of ${full} bytes\\); ${esc(ck(4))} \\(step 4\\) is intact: resume from it with --resume ${esc(ck(4))}$`));
  assert.deepEqual(readdirSync(out).sort(), before, 'nothing written: no silent fallback');
  // The command it names works.
  const ok = trainformer(['train', '--config', cfg, '--resume', ck(4), '--maxSteps', '8', '--saveSteps', '4']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(ok.errLines.some((l) => l.startsWith(`resumed from ${ck(4)} at step 4`)), ok.stderr);

  // An earlier one that does not read either is passed over; none intact says so.
  const out2 = join(s.dir, 'f12-none');
  const cfg2 = s.config(s.lm({ outputDir: out2, maxSteps: 6, saveSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg2]).code, 0);
  const ck2 = (n: number) => join(out2, `checkpoint-${n}`);
  writeFileSync(join(ck2(6), 'optimizer.safetensors'), '');
  writeFileSync(join(ck2(4), 'trainer_state.json'), '{"global_step": 4, ');
  const r2 = trainformer(['train', '--config', cfg2, '--resume', '--maxSteps', '8']);
  assertErrorLine(r2, new RegExp(`^error: --resume: ${esc(ck2(6))} is damaged: its optimizer\\.safetensors is truncated \\(0 bytes, shorter than its header\\); ${esc(ck2(2))} \\(step 2\\) is intact: resume from it with --resume ${esc(ck2(2))}$`));
  truncateSync(join(ck2(2), 'model.safetensors'), 4);
  const r3 = trainformer(['train', '--config', cfg2, '--resume', '--maxSteps', '8']);
  assertErrorLine(r3, new RegExp(`^error: --resume: ${esc(ck2(6))} is damaged: .*; no earlier checkpoint in ${esc(out2)} is intact \\(checkpoint-4, checkpoint-2 do not read either\\): train without --resume and with --overwriteOutputDir true to start again from step 0$`));
  // A checkpoint given by path: the same.
  const r4 = trainformer(['train', '--config', cfg2, '--resume', ck2(4), '--maxSteps', '8']);
  assertErrorLine(r4, new RegExp(`^error: --resume: ${esc(ck2(4))} is damaged: its trainer_state\\.json is unreadable \\(invalid JSON: `));
});

test('F13: binary and non-UTF-8 data files are config errors naming the config line and the field, as a missing one', () => {
  const bin = join(s.dir, 'binary.bin');
  const bytes = new Uint8Array(600).fill(65);
  bytes[532] = 0;
  writeFileSync(bin, bytes);
  const latin1 = join(s.dir, 'latin1.txt');
  writeFileSync(latin1, new Uint8Array(Buffer.from('caf\xe9 au lait\n', 'latin1')));
  const file = (name: string, train: string) => {
    const p = join(s.dir, name);
    // JSON.stringify(…, null, 2): "train" is on line 5.
    writeFileSync(p, JSON.stringify({ task: 'lm', outputDir: join(s.dir, `${name}-run`), data: { train, blockSize: 8 }, maxSteps: 1 }, null, 2));
    return p;
  };
  const b = file('binary.json', bin);
  assertOneLineError(trainformer(['train', '--config', b]),
    new RegExp(`^config error: ${esc(b)}:5: data\\.train: ${esc(bin)}: not a text file \\(binary data: a NUL byte at byte 532\\); give a UTF-8 text file$`));
  const l = file('latin1.json', latin1);
  assertOneLineError(trainformer(['train', '--config', l]),
    new RegExp(`^config error: ${esc(l)}:5: data\\.train: ${esc(latin1)}:1: not UTF-8 \\(looks like Latin-1 or Windows-1252\\); save it as UTF-8$`));
  // The shape of a missing file's.
  const missing = join(s.dir, 'nope.txt');
  const m = file('missing.json', missing);
  assertOneLineError(trainformer(['train', '--config', m]), new RegExp(`^config error: ${esc(m)}:5: data\\.train: ${esc(missing)}: no such file$`));
});

test('F19: train 2>&1 | head -3 stops the training as Ctrl-C does: the step saved, exit 141, and it resumes', () => {
  const out = join(s.dir, 'f19');
  const cfg = s.config(s.lm({ outputDir: out, maxSteps: 1_000_000, saveSteps: 1_000_000, loggingSteps: 1 }));
  // Three stderr lines reach head (task, training, step 1); the next progress line meets the closed pipe.
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${cliPath}" train --config "${cfg}" 2>&1 | head -3; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 120_000 });
  assert.match(r.stdout, /\nstatus 141\n$/, r.stdout + r.stderr);
  const cks = readdirSync(out).filter((n) => n.startsWith('checkpoint-'));
  assert.equal(cks.length, 1, readdirSync(out).join(' '));
  const step = Number(cks[0]!.slice('checkpoint-'.length));
  assert.ok(step >= 1 && step < 1_000_000);
  assert.ok(!existsSync(join(out, 'trainformer.lock')), 'the run lock is released');
  const events = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { event?: string; message?: string; step?: number });
  assert.deepEqual(events.filter((e) => e.event === 'interrupted').map((e) => [e.step, e.message]), [[step, 'training interrupted (SIGPIPE)']]);
  const resumed = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', String(step + 2)]);
  assert.equal(resumed.code, 0, resumed.stderr);
});

test('F19: a stdout closed before the end of train (| head) says one line on stderr and exits 141; the model is saved', async () => {
  const out = join(s.dir, 'f19-stdout');
  const cfg = s.config(s.lm({ outputDir: out }));
  const child = spawn(process.execPath, [cliPath, 'train', '--config', cfg], { env: { ...process.env, TRAINFORMER_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before anything is written to stdout
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  assert.equal(code, 141, err);
  const lines = err.trim().split('\n').filter((x) => !x.startsWith('trainformer: native backend'));
  assert.equal(lines.at(-1), `output stopped because its stdout was closed (the reader of the pipe exited); training had finished: the model is saved in ${join(out, 'model.safetensors')}, the report in ${join(out, 'report.html')}`);
  assert.ok(existsSync(join(out, 'model.safetensors')));
  assert.ok(!/\n\s+at /.test(err), err);
});

test('F21: eval --help says config-field flags are accepted (and eval takes --data.blockSize); generate and predict say they are not', () => {
  const evalHelp = trainformer(['eval', '--help']);
  assert.equal(evalHelp.code, 0);
  assert.match(evalHelp.stdout, /Config fields of the checkpoint's trainformer_config\.json can be overridden with --<field> <value>, as for train:\ne\.g\. `--data\.blockSize 128`/);
  for (const cmd of ['generate', 'predict']) {
    const h = trainformer([cmd, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /config-field flags such as --data\.blockSize are not\naccepted here \(only the options above\); `trainformer eval` accepts them\./, cmd);
  }
  const run = s.lm({ outputDir: join(s.dir, 'f21') });
  assert.equal(trainformer(['train', '--config', s.config(run)]).code, 0);
  const e = trainformer(['eval', run.outputDir as string, '--data.blockSize', '4']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /validation loss/);
  const g = trainformer(['generate', run.outputDir as string, '--data.blockSize', '4']);
  assert.notEqual(g.code, 0);
  assert.match(g.stderr, /unknown option '--data\.blockSize'/);
});
