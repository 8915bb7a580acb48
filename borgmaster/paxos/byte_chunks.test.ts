// ByteChunks: records back to back in chunks, a record larger than a chunk in one of its own, the front dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteChunks, CHUNK_BYTES } from './byte_chunks';

function put(b: ByteChunks, fill: number, size: number): number {
  const at = b.reserve(size);
  b.view(at, size).fill(fill);
  return at;
}

test('records read back intact across chunk boundaries, an oversized record included, and the front drops', () => {
  const b = new ByteChunks();
  const recs: { at: number; size: number; fill: number }[] = [];
  const sizes = [100, CHUNK_BYTES - 150, 100, CHUNK_BYTES + 10, 7, 3 * 1024];
  sizes.forEach((size, i) => recs.push({ at: put(b, i + 1, size), size, fill: i + 1 }));
  // The third record did not fit after the second (it would have spanned chunks): it starts the next chunk.
  assert.equal(recs[2]!.at, CHUNK_BYTES);
  // The oversized record has a chunk of its own, and the next record's chunk number is past it.
  assert.equal(recs[3]!.at, 2 * CHUNK_BYTES);
  assert.equal(recs[4]!.at, 3 * CHUNK_BYTES);
  for (const r of recs) assert.ok(b.view(r.at, r.size).every((x) => x === r.fill), `record at ${r.at}`);
  b.dropBefore(recs[3]!.at);
  assert.throws(() => b.chunkOf(recs[0]!.at), /no chunk holds address/);
  for (const r of recs.slice(3)) assert.ok(b.view(r.at, r.size).every((x) => x === r.fill), `kept record at ${r.at}`);
  const parts = b.partsFrom(recs[3]!.at);
  assert.deepEqual(parts.map((p) => p.length), [CHUNK_BYTES + 10, 7 + 3 * 1024]);
  b.clear();
  assert.equal(b.reserve(5), 0);
});
