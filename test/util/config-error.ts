/** Config-test helper: the message of the ConfigError that parseConfig throws for `raw`. */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/train/config.js';

/** parseConfig(raw)'s ConfigError message; fails the test if it throws anything else or nothing. */
export function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('no ConfigError');
}
