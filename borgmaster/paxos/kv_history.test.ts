// KvHistory: the newest writes in slot order, bounded, across chunk boundaries; its snapshot bytes are exactly the
// generated encoder's KvSnapshot history field; and the state machine's snapshot is byte-identical to the generated one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { KvSnapshot, type KvApplied } from '../../proto/index';
import { KvHistory } from './kv_history';
import { KvStateMachine, encodePut } from './replica_kv';

function expected(writes: KvApplied[]): Buffer {
  return Buffer.from(KvSnapshot.encode({ pairs: [], history: writes, appliedIndex: 0 }).finish());
}

test('a history keeps the newest writes in order, pages by slot, and its bytes are the generated encoding', () => {
  const rows: { name: string; capacity: number; writes: KvApplied[] }[] = [
    { name: 'empty', capacity: 10, writes: [] },
    { name: 'zeros omitted, multi-byte keys', capacity: 10, writes: [{ index: 1, key: '', valueCrc32: 0 }, { index: 5, key: 'café-鍵', valueCrc32: 0xffff_ffff }, { index: 2 ** 40, key: 'k', valueCrc32: 127 }] },
    // 1 KiB keys: 3,000 writes span three 1 MiB chunks, and the bound of 1,500 frees the first chunk.
    { name: 'chunks and eviction', capacity: 1_500, writes: Array.from({ length: 3_000 }, (_, i) => ({ index: 3 * i + 1, key: `${i}-`.padEnd(1024, 'x'), valueCrc32: (i * 2_654_435_761) >>> 0 })) },
    // Many small writes past the bound: the slot arrays are compacted, not shifted per write.
    { name: 'compaction of the slot arrays', capacity: 5_000, writes: Array.from({ length: 20_000 }, (_, i) => ({ index: i + 1, key: `w${i % 97}`, valueCrc32: i })) },
  ];
  for (const row of rows) {
    const h = new KvHistory(row.capacity);
    for (const w of row.writes) h.append(w.index, w.key, w.valueCrc32);
    const kept = row.writes.slice(-row.capacity);
    assert.equal(h.size, kept.length, row.name);
    assert.equal(h.firstSlot, kept[0]?.index, row.name);
    assert.deepEqual(Buffer.concat(h.snapshotParts()), expected(kept), row.name);
    assert.deepEqual(h.page(0, kept.length + 5), kept, row.name);
    const mid = kept[Math.floor(kept.length / 2)];
    if (mid !== undefined) {
      assert.deepEqual(h.page(mid.index, 3), kept.slice(Math.floor(kept.length / 2), Math.floor(kept.length / 2) + 3), `${row.name}: page from a slot`);
      assert.deepEqual(h.page(mid.index - 1, 1), [kept.find((w) => w.index >= mid.index - 1)], `${row.name}: page from a slot between writes`);
    }
  }
  assert.throws(() => new KvHistory(3).append(0, 'k', 1), /history write fields/);
  const h = new KvHistory(3);
  h.append(4, 'k', 1);
  assert.throws(() => h.append(4, 'k', 1), /history slot 4 after 4/);
});

test("the state machine's snapshot is what the generated encoder writes for the same state", () => {
  const kv = new KvStateMachine();
  const values: Buffer[] = [];
  for (let i = 1; i <= 700; i++) {
    const value = Buffer.from(`value-${i}`.repeat(1 + (i % 5)));
    values.push(value);
    kv.apply(encodePut({ key: `k${i % 37}`, value }), 2 * i);
  }
  const pairs = Array.from({ length: 37 }, (_, k) => k)
    .map((k) => ({ key: `k${k}`, ...kv.get(`k${k}`) }))
    .filter((p): p is { key: string; value: Buffer; index: number } => p.value !== undefined);
  // The map's insertion order is the order of first writes: k1, k2, ..., k36, k0.
  const order = (key: string): number => (key === 'k0' ? 37 : Number(key.slice(1)));
  pairs.sort((a, b) => order(a.key) - order(b.key));
  const history = values.map((v, i) => ({ index: 2 * (i + 1), key: `k${(i + 1) % 37}`, valueCrc32: crc32(v) }));
  const want = Buffer.from(KvSnapshot.encode({ pairs, history, appliedIndex: 1400 }).finish());
  assert.deepEqual(Buffer.from(kv.takeSnapshot()), want);
});
