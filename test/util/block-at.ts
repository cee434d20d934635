/**
 * Preloaded into a CLI child (`node --import <this file> main.js …`) with TF_TEST_BLOCK_AT set to
 * `stderr:<prefix>`: after the first stderr write starting with `<prefix>` (a progress line such as
 * `step 6/8 `), the process writes the file TF_TEST_BLOCK_MARKER and then blocks (a synchronous
 * wait of up to 2 minutes, no JavaScript runs), so that a test can kill it from outside with
 * SIGKILL at that exact point, the same at every run: a test that kills "when a checkpoint folder
 * appears" races the training, which may be steps further by then.
 */
import fs from 'node:fs';

const at = process.env.TF_TEST_BLOCK_AT;
const marker = process.env.TF_TEST_BLOCK_MARKER;
if (at?.startsWith('stderr:') && marker) {
  const prefix = at.slice('stderr:'.length);
  const write = process.stderr.write.bind(process.stderr) as (...a: unknown[]) => boolean;
  let blocked = false;
  process.stderr.write = function (chunk: unknown, ...rest: unknown[]): boolean {
    const r = write(chunk, ...rest);
    if (!blocked && String(chunk).startsWith(prefix)) {
      blocked = true;
      fs.writeFileSync(marker, String(process.pid));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    }
    return r;
  } as typeof process.stderr.write;
}
