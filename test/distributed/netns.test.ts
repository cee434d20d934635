// Two "machines": two network namespaces joined by a veth pair (10.231.7.1 ↔ 10.231.7.2), created
// and removed here. mpirun starts in the first namespace; the second rank is launched into the
// other through an rsh agent that runs `ip netns exec`. MPI may use TCP between those two addresses
// only (btl tcp,self; TCP and the launcher's out-of-band channel restricted to 10.231.7.0/24), so
// every byte between the ranks crosses the veth. The run must match 1 process × batch 8 as on one
// machine, and the veth counters must show the gradient traffic.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { maxLossDifference, maxRelativeDifference, mpirunMissing, passEnv, readResult, run, worker } from './helpers.js';

function whyNot(): string | null {
  const m = mpirunMissing();
  if (m) return m;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs root; two-namespace test skipped';
  const probe = `tfprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create a network namespace (${(r.stderr || r.error?.message || '').trim()}); two-namespace test skipped`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

const skip = whyNot();

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function counter(ns: string, dev: string, name: string): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/${name}`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('one rank in each of two network namespaces, MPI over TCP on a veth pair: same result as 1 process', { skip: skip ?? false }, async () => {
  const id = process.pid;
  const nsA = `tfA${id}`, nsB = `tfB${id}`, vA = `tfv${id}a`, vB = `tfv${id}b`;
  const dir = mkdtempSync(path.join(tmpdir(), 'trainformer-netns-'));
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', vA, 'type', 'veth', 'peer', 'name', vB);
    ip('link', 'set', vA, 'netns', nsA);
    ip('link', 'set', vB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', '10.231.7.1/24', 'dev', vA);
    ip('-n', nsB, 'addr', 'add', '10.231.7.2/24', 'dev', vB);
    for (const [ns, dev] of [[nsA, vA], [nsB, vB], [nsA, 'lo'], [nsB, 'lo']]) ip('-n', ns, 'link', 'set', dev, 'up');
    const hostfile = path.join(dir, 'hosts'), agent = path.join(dir, 'netns-rsh');
    writeFileSync(hostfile, '10.231.7.1 slots=1\n10.231.7.2 slots=1\n');
    // mpirun calls "<agent> <host> <command words>" as it would call ssh; run the command in nsB.
    writeFileSync(agent, `#!/bin/sh\nshift\nexec ip netns exec ${nsB} sh -c "$*"\n`);
    chmodSync(agent, 0o755);
    const one = path.join(dir, 'one.json'), two = path.join(dir, 'two.json');
    await run(process.execPath, [worker, '--worker', '--batch', '8', '--out', one]);
    const before = counter(nsA, vA, 'tx_bytes') + counter(nsA, vA, 'rx_bytes');
    const r = await run('ip', ['netns', 'exec', nsA, 'mpirun', '--allow-run-as-root', '--hostfile', hostfile, '-np', '2',
      '--mca', 'plm_rsh_agent', agent, '--mca', 'btl', 'tcp,self', '--mca', 'btl_tcp_if_include', '10.231.7.0/24',
      '--mca', 'oob_tcp_if_include', '10.231.7.0/24', ...passEnv(),
      'sh', '-c', `echo "rank $OMPI_COMM_WORLD_RANK: $(ip -4 -o addr show | grep -o '10\\.231\\.7\\.[12]')"; exec "${process.execPath}" "${worker}" --worker --batch 4 --out "${two}"`]);
    const traffic = counter(nsA, vA, 'tx_bytes') + counter(nsA, vA, 'rx_bytes') - before;
    // Each rank ran in its own namespace.
    assert.match(r.stdout, /rank 0: 10\.231\.7\.1/);
    assert.match(r.stdout, /rank 1: 10\.231\.7\.2/);
    const a = readResult(one), b = readResult(two);
    assert.equal(b.size, 2);
    const dp = maxRelativeDifference(b.params, a.params);
    assert.ok(dp.value <= 1e-6, `parameters differ by ${dp.value.toExponential(2)} relative (${dp.name})`);
    const dl = maxLossDifference(b.losses, a.losses);
    assert.ok(dl <= 1e-6, `logged losses differ by ${dl.toExponential(2)} relative`);
    // 50 all-reduces of the whole gradient (6.6 k floats, 26.5 kB): whatever the algorithm, each
    // rank sends at least the buffer's size per all-reduce, so more than 1.3 MB crossed.
    assert.ok(traffic > 1.3e6, `only ${traffic} bytes crossed the veth`);
    process.stdout.write(`# netns: params rel diff ${dp.value.toExponential(2)}, losses ${dl.toExponential(2)}, ${(traffic / 1e6).toFixed(1)} MB over the veth\n`);
  } finally {
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]); // deleting a namespace removes its end of the veth pair, and with it the pair
    rmSync(dir, { recursive: true, force: true });
  }
});
