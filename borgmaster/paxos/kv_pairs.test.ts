// encodePairRecord writes exactly the generated encoder's KvSnapshot { pairs: [pair] }, and points at the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvSnapshot } from '../../proto/index';
import { encodePairRecord, rewritePairRecord } from './kv_pairs';

test('a pair record is the generated encoding of a one-pair snapshot, with the value where it says', () => {
  const rows: { name: string; key: string; value: Buffer; index: number }[] = [
    { name: 'typical', key: 'w256-3-17', value: Buffer.alloc(256, 7), index: 12_345 },
    { name: 'empty value', key: 'k', value: Buffer.alloc(0), index: 1 },
    { name: 'multi-byte key', key: 'café-鍵', value: Buffer.from('v'), index: 300 },
    { name: 'long value, large index', key: 'k', value: Buffer.alloc(70_000, 1), index: Number.MAX_SAFE_INTEGER },
    { name: 'index 0 omitted', key: 'k', value: Buffer.from('x'), index: 0 },
  ];
  for (const r of rows) {
    const { record, valueStart, valueEnd } = encodePairRecord(r.key, r.value, r.index);
    assert.deepEqual(record, Buffer.from(KvSnapshot.encode({ pairs: [{ key: r.key, value: r.value, index: r.index }], history: [], appliedIndex: 0 }).finish()), r.name);
    assert.deepEqual(record.subarray(valueStart, valueEnd), r.value, r.name);
  }
});

test('a rewrite in place gives the generated encoding when the size holds, and refuses otherwise', () => {
  const rows: { name: string; value: Buffer; index: number; inPlace: boolean }[] = [
    { name: 'same length value, same-size index', value: Buffer.alloc(256, 9), index: 12_346, inPlace: true },
    { name: 'index grows a varint byte', value: Buffer.alloc(256, 9), index: 2_097_152, inPlace: false },
    { name: 'longer value', value: Buffer.alloc(257, 9), index: 12_346, inPlace: false },
    { name: 'empty value', value: Buffer.alloc(0), index: 12_346, inPlace: false },
  ];
  for (const r of rows) {
    const rec = encodePairRecord('w256-3-17', Buffer.alloc(256, 7), 12_345);
    const before = rec.record;
    assert.equal(rewritePairRecord(rec, 'w256-3-17', r.value, r.index), r.inPlace, r.name);
    assert.equal(rec.record, before, r.name);
    if (!r.inPlace) continue;
    assert.deepEqual(rec.record, encodePairRecord('w256-3-17', r.value, r.index).record, r.name);
    assert.deepEqual(rec.record.subarray(rec.valueStart, rec.valueEnd), r.value, r.name);
  }
});
