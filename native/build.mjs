// Builds the native addon with node-gyp. Uses the Node headers installed next to the running node
// (Debian/NodeSource packages ship them in <prefix>/include/node), so that no download is needed;
// otherwise node-gyp fetches them as usual. Exits non-zero when the build fails.
// Then, when Open MPI's headers are present (Debian libopenmpi-dev), builds the MPI binding of
// distributed training (native/mpi/, its own addon); a failure there is one line, not an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
// --loglevel=warn: node-gyp's info lines (its whole command line) told a new user nothing.
const args = ['rebuild', '--loglevel=warn'];
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  args.push(`--nodedir=${prefix}`);
}
// npm sets npm_config_node_gyp to its bundled node-gyp; fall back to one on the PATH or beside npm.
let gyp = process.env.npm_config_node_gyp;
if (!gyp) {
  const beside = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(beside)) gyp = beside;
  else {
    try { gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'); } catch { gyp = undefined; }
  }
}
const gypRun = (extra) => (gyp
  ? spawnSync(process.execPath, [gyp, ...args, ...extra], { stdio: 'inherit' })
  : spawnSync('node-gyp', [...args, ...extra], { stdio: 'inherit', shell: true }));
const r = gypRun([]);

// mpi.h in one of the include folders mpicc reports.
const inc = spawnSync('mpicc', ['--showme:incdirs'], { encoding: 'utf8' });
const hasMpi = inc.status === 0 && inc.stdout.trim().split(/\s+/).some((d) => existsSync(path.join(d, 'mpi.h')));
if (!hasMpi) {
  process.stderr.write('trainformer: Open MPI headers not found (libopenmpi-dev); the MPI binding is not built, distributed training is unavailable\n');
} else if (gypRun([`--directory=${path.join(path.dirname(new URL(import.meta.url).pathname), 'mpi')}`]).status !== 0) {
  process.stderr.write("trainformer: the MPI binding (native/mpi) failed to build; distributed training is unavailable. Retry with 'npm run build:native'\n");
}
process.stderr.write(r.status === 0
  ? `trainformer: native backend built (${path.join('build', 'Release', 'trainformer_native.node')})\n`
  : 'trainformer: the native backend failed to build (see the compiler messages above); the js backend still works\n');
process.exit(r.status ?? 1);
