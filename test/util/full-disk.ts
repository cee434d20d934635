/**
 * Preloaded into a CLI child (`node --import <this file> main.js …`) with TF_TEST_FULL_DISK set to a
 * regular expression: opening a file for writing whose path matches it throws Node's ENOSPC error,
 * as on a full disk (the other files are written as usual). Used where a real full file system
 * (a small tmpfs) cannot be mounted by a test.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const pattern = process.env.TF_TEST_FULL_DISK;
if (pattern) {
  const full = new RegExp(pattern);
  const openSync = fs.openSync;
  fs.openSync = function (path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null): number {
    if (typeof path === 'string' && full.test(path) && flags !== undefined && flags !== 'r') {
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC', errno: -28, syscall: 'open', path });
    }
    return openSync(path, flags as fs.OpenMode, mode);
  } as typeof fs.openSync;
  syncBuiltinESMExports();
}
