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

/** encodePairRecord encodes KvSnapshot field 1 holding KvPair { key, value, index } (proto3: zeros omitted). */
export function encodePairRecord(key: string, value: Uint8Array, index: number): PairRecord {
  assert(Number.isSafeInteger(index) && index >= 0, `pair index ${index}`);
  const keyBytes = Buffer.byteLength(key);
  const inner = (keyBytes === 0 ? 0 : 1 + varintSize(keyBytes) + keyBytes) + (value.length === 0 ? 0 : 1 + varintSize(value.length) + value.length) + (index === 0 ? 0 : 1 + varintSize(index));
  const size = 1 + varintSize(inner) + inner;
  const record = Buffer.allocUnsafe(size);
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
  assert(pos === size, `pair record size ${pos} != ${size}`);
  return { record, valueStart, valueEnd };
}
