// Builds the native addon with node-gyp. Uses the Node headers installed next to the running node
// (Debian/NodeSource packages ship them in <prefix>/include/node), so that no download is needed;
// otherwise node-gyp fetches them as usual. Exits non-zero when the build fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
const args = ['rebuild'];
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
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
  : spawnSync('node-gyp', args, { stdio: 'inherit', shell: true });
process.exit(r.status ?? 1);
