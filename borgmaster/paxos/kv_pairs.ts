// encodePairRecord writes one key's current value as the record it takes in an encoded KvSnapshot (field 1, a
// KvPair), once, when the write is applied. Why: the standalone replica's state machine keeps each value in this
// form, so a snapshot (every PAXOS_SNAPSHOT_EVERY_ENTRIES slots, on every replica at once) concatenates records
// instead of encoding every pair while the event loop waits.
import { assert } from '../../model/assert';
import { varintSize, writeVarint } from '../../model/varint';

/** PairRecord: the encoded record and where the value's bytes sit in it. */
export interface PairRecord {
  record: Buffer;
  valueStart: number;
  valueEnd: number;
}

/** SNAPSHOT_PAIRS_TAG: KvSnapshot.pairs is field 1, length-delimited. */
const SNAPSHOT_PAIRS_TAG = 10;

/** pairInnerSize is the size of the KvPair inside encodePairRecord's record (its field header comes before). */
function pairInnerSize(keyBytes: number, valueBytes: number, index: number): number {
  return (keyBytes === 0 ? 0 : 1 + varintSize(keyBytes) + keyBytes) + (valueBytes === 0 ? 0 : 1 + varintSize(valueBytes) + valueBytes) + (index === 0 ? 0 : 1 + varintSize(index));
}

/** encodePairRecord encodes KvSnapshot field 1 holding KvPair { key, value, index } (proto3: zeros omitted). */
export function encodePairRecord(key: string, value: Uint8Array, index: number): PairRecord {
  assert(Number.isSafeInteger(index) && index >= 0, `pair index ${index}`);
  const keyBytes = Buffer.byteLength(key);
  const inner = pairInnerSize(keyBytes, value.length, index);
  const rec: PairRecord = { record: Buffer.allocUnsafe(1 + varintSize(inner) + inner), valueStart: 0, valueEnd: 0 };
  writePairRecord(rec, inner, key, keyBytes, value, index);
  return rec;
}

/**
 * rewritePairRecord writes { key, value, index } over rec's bytes when the record keeps its size (the same key with
 * a value of the same length, the usual rewrite of a key), and says whether it did; rec must hold the same key.
 * Why: a new record per write made every key's current value a pair of fresh objects that lived until the key's
 * next write, long enough for the garbage collector to copy and promote them on every busy replica.
 */
export function rewritePairRecord(rec: PairRecord, key: string, value: Uint8Array, index: number): boolean {
  assert(Number.isSafeInteger(index) && index >= 0, `pair index ${index}`);
  const keyBytes = Buffer.byteLength(key);
  const inner = pairInnerSize(keyBytes, value.length, index);
  if (1 + varintSize(inner) + inner !== rec.record.length) return false;
  writePairRecord(rec, inner, key, keyBytes, value, index);
  return true;
}

function writePairRecord(rec: PairRecord, inner: number, key: string, keyBytes: number, value: Uint8Array, index: number): void {
  const record = rec.record;
  let pos = 0;
  record[pos++] = SNAPSHOT_PAIRS_TAG;
  pos = writeVarint(record, pos, inner);
  if (keyBytes !== 0) {
    record[pos++] = 10;
    pos = writeVarint(record, pos, keyBytes);
    pos += record.write(key, pos, keyBytes, 'utf8');
  }
  let valueStart = pos;
  if (value.length !== 0) {
    record[pos++] = 18;
    pos = writeVarint(record, pos, value.length);
    valueStart = pos;
    record.set(value, pos);
    pos += value.length;
  }
  const valueEnd = pos;
  if (index !== 0) {
    record[pos++] = 24;
    pos = writeVarint(record, pos, index);
  }
  assert(pos === record.length, `pair record size ${pos} != ${record.length}`);
  rec.valueStart = valueStart;
  rec.valueEnd = valueEnd;
}
