/**
 * A data file named by a config field, checked before it is read: a missing file (or a folder) is a
 * ConfigError naming the field and the path, so the CLI can put the config file's line in front
 * (`cfg.json:6: data.train: /abs/nope.jsonl: no such file`) rather than a bare `nope.jsonl: cannot
 * read file (ENOENT)` that says neither which field nor against which folder the path was taken.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readFailure } from '../io/read-failure.js';

/**
 * @param path the file as the config gives it (relative paths are the working directory's).
 * @param field dotted config field that names it (`data.train`, `distillation.transferData`).
 * @throws ConfigError `<field>: <absolute path>: no such file` (or `is a folder, not a file`).
 */
export function requireDataFile(path: string, field: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new ConfigError(`${field}: ${resolve(path)}: ${readFailure(e, 'cannot read')}`, field.split('.'));
  }
  if (!isFile) throw new ConfigError(`${field}: ${resolve(path)}: is a folder, not a file`, field.split('.'));
}
