/**
 * The safetensors writer refuses a header the readers refuse (issue 19): it used to write a file
 * with a header over MAX_HEADER_BYTES (100 MB, the reference implementation's limit too), which
 * no reader can open. Just under the limit is still written and read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValueError } from '../../src/errors.js';
import { MAX_HEADER_BYTES, parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';

const tensors = { w: { dtype: 'F32' as const, shape: [2], data: new Float32Array([1, 2]) } };
// The header is {"__metadata__":{"k":"<value>"},"w":{...}}: everything but the value is this long.
const overhead = 8 * Math.ceil(JSON.stringify({ __metadata__: { k: '' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }).length / 8);

test('a header over the reader limit is refused with one line; just under it is written and read back', () => {
  assert.throws(() => serializeSafetensors(tensors, { k: 'x'.repeat(MAX_HEADER_BYTES) }), (e: unknown) => {
    assert.ok(e instanceof ValueError, String(e));
    assert.match(e.message, /^serializeSafetensors: the header would be \d+ bytes \(1 tensors and metadata\), over the 100000000-byte limit readers accept/);
    return true;
  });
  const fits = serializeSafetensors(tensors, { k: 'y'.repeat(MAX_HEADER_BYTES - overhead - 16) });
  const back = parseSafetensors(fits);
  assert.deepEqual(Array.from(back.tensors.w.data as Float32Array), [1, 2]);
  assert.equal(back.metadata?.k?.length, MAX_HEADER_BYTES - overhead - 16);
});
