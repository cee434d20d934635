// Loading the native addon sets OMP_WAIT_POLICY=passive for libgomp in this process (idle OpenMP
// threads would spin on the cores the addon's own pool needs), but processes started afterwards get
// the environment the user gave. libgomp's OMP_DISPLAY_ENV=verbose shows what it read: GOMP_SPINCOUNT
// is '0' under passive, '300000' when the policy is unset, '30000000000' under active.
// TRAINFORMER_OPENMP_POOL=1 (the pool's jobs on libgomp's threads) makes them spin instead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadNativeAddon } from '../../src/backend/native/index.js';

const skip = loadNativeAddon() ? false : "native addon not built (run 'npm run build:native')";
const indexUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'backend', 'native', 'index.js')).href;

/** Loads the addon in a fresh process with `policy` (or none) in its environment. */
function loadWith(policy: string | undefined, extra: NodeJS.ProcessEnv = {}): { spinCount: string | undefined; ownEnv: string | null; childEnv: string; childSpin: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_DISPLAY_ENV: 'verbose', ...extra };
  delete env.OMP_WAIT_POLICY;
  if (!('GOMP_SPINCOUNT' in extra)) delete env.GOMP_SPINCOUNT;
  if (policy !== undefined) env.OMP_WAIT_POLICY = policy;
  const script = `const { loadNativeAddon } = await import(${JSON.stringify(indexUrl)});
    if (!loadNativeAddon()) throw new Error('addon not loaded');
    const { execFileSync } = await import('node:child_process');
    const childEnv = execFileSync('sh', ['-c', 'echo "\${OMP_WAIT_POLICY-unset}"'], { encoding: 'utf8' }).trim();
    const childSpin = execFileSync('sh', ['-c', 'echo "\${GOMP_SPINCOUNT-unset}"'], { encoding: 'utf8' }).trim();
    console.log(JSON.stringify({ ownEnv: process.env.OMP_WAIT_POLICY ?? null, childEnv, childSpin }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { spinCount: /GOMP_SPINCOUNT = '(\d+)'/.exec(r.stderr)?.[1], ...JSON.parse(r.stdout) };
}

test('OMP_WAIT_POLICY unset: libgomp in this process waits passively; child processes do not inherit the setting', { skip }, () => {
  const r = loadWith(undefined);
  assert.equal(r.spinCount, '0');
  assert.equal(r.ownEnv, null);
  assert.equal(r.childEnv, 'unset');
});

test('OMP_WAIT_POLICY set by the user is kept, here and in child processes', { skip }, () => {
  const r = loadWith('active');
  assert.equal(r.spinCount, '30000000000');
  assert.equal(r.ownEnv, 'active');
  assert.equal(r.childEnv, 'active');
});

test('TRAINFORMER_OPENMP_POOL=1: libgomp threads spin (GOMP_SPINCOUNT 100000) in this process only', { skip }, () => {
  const r = loadWith(undefined, { TRAINFORMER_OPENMP_POOL: '1' });
  assert.equal(r.spinCount, '100000');
  assert.equal(r.childEnv, 'unset');
  assert.equal(r.childSpin, 'unset');
});

test('TRAINFORMER_OPENMP_POOL=1 keeps a GOMP_SPINCOUNT the user set', { skip }, () => {
  const r = loadWith(undefined, { TRAINFORMER_OPENMP_POOL: '1', GOMP_SPINCOUNT: '5000' });
  assert.equal(r.spinCount, '5000');
  assert.equal(r.childSpin, '5000');
});
