/**
 * The plain progress line (no terminal): numbers in a readable form at any magnitude. A learning
 * rate of 1e30 used to print all of `9.846666218300807e+29` (third fresh-user trial).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Progress } from '../../src/cli/progress.js';

function line(loss: number, lr: number): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => { text += c.toString(); });
  const p = new Progress(10, 0, false, out as unknown as NodeJS.WriteStream);
  p.update(3, { loss, lr, tokensPerSecond: 1234.4 });
  p.stop();
  return text.replace(/ \| \d+s\n$/, '');
}

test('the plain progress line writes lr and loss fixed in [1e-3, 1e6), in exponent form outside', () => {
  assert.equal(line(2.5, 4.8e-4), 'step 3/10 | loss 2.5000 | lr 4.80e-4 | 1234 tok/s');
  assert.equal(line(2.5, 0.003), 'step 3/10 | loss 2.5000 | lr 0.003000 | 1234 tok/s');
  assert.equal(line(123456.7, 9.846666218300807e29), 'step 3/10 | loss 123456.7000 | lr 9.85e+29 | 1234 tok/s');
  assert.equal(line(3.2e7, 0), 'step 3/10 | loss 3.20e+7 | lr 0.000000 | 1234 tok/s');
  assert.equal(line(NaN, 1e-3), 'step 3/10 | loss NaN | lr 0.001000 | 1234 tok/s');
});
