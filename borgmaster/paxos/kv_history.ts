// KvHistory is the standalone replica's bounded history of applied writes (replica_kv.ts), kept as the bytes they
// take in a KvSnapshot (each record is KvSnapshot's field 2, a KvApplied) in 1 MiB chunks, with one slot number per
// write beside them. Why bytes: as 200,000 objects (plus their key strings) the history was most of what every
// garbage collection on a replica traced, and encoding it made each snapshot stall the replica for 60-115 ms; now
// a snapshot copies the chunks, and a write costs one small append.
import { PAXOS_KV_HISTORY_WRITES } from '../../cells/limits';
import { assert } from '../../model/assert';
import { readVarint, varintEnd, varintSize, writeVarint } from '../../model/varint';
import { KvApplied } from '../../proto/index';
import { ByteChunks, CHUNK_BYTES, positionOf } from './byte_chunks';
/** SNAPSHOT_HISTORY_TAG: KvSnapshot.history is field 2, length-delimited. */
const SNAPSHOT_HISTORY_TAG = 18;

/**
 * KvHistory keeps the newest `capacity` writes in slot order. append() takes writes in increasing slot order;
 * page() reads them back as KvApplied; snapshotParts() is the history as KvSnapshot field-2 records, ready to be
 * concatenated into an encoded KvSnapshot.
 */
export class KvHistory {
  /** bytes holds the records (each at most a key, PAXOS_KV_MAX_KEY_BYTES, plus ~30 bytes). */
  private readonly bytes = new ByteChunks();
  /** slots[i] and offsets[i] (the record's address in `bytes`) describe write number head + i ... */
  private slots: number[] = [];
  private offsets: number[] = [];
  /** ... and entries before head are dropped (the array is compacted now and then, not shifted per write). */
  private head = 0;

  constructor(private readonly capacity: number = PAXOS_KV_HISTORY_WRITES) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, 'history capacity >= 1');
  }

  get size(): number {
    return this.slots.length - this.head;
  }

  /** firstSlot is the slot of the oldest write kept (undefined when empty). */
  get firstSlot(): number | undefined {
    return this.slots[this.head];
  }

  append(slot: number, key: string, valueCrc32: number): void {
    const last = this.slots[this.slots.length - 1];
    assert(last === undefined || slot > last, `history slot ${slot} after ${last}`);
    assert(Number.isSafeInteger(slot) && slot > 0 && valueCrc32 >= 0 && valueCrc32 <= 0xffff_ffff, 'history write fields');
    const keyBytes = Buffer.byteLength(key);
    // KvApplied: index (field 1, varint), key (field 2, string), value_crc32 (field 3, varint); zeros omitted.
    const inner = 1 + varintSize(slot) + (keyBytes === 0 ? 0 : 1 + varintSize(keyBytes) + keyBytes) + (valueCrc32 === 0 ? 0 : 1 + varintSize(valueCrc32));
    const size = 1 + varintSize(inner) + inner;
    assert(size <= CHUNK_BYTES, `history record of ${size} bytes`);
    const at = this.bytes.reserve(size);
    const buf = this.bytes.chunkOf(at);
    const start = positionOf(at);
    let pos = start;
    buf[pos++] = SNAPSHOT_HISTORY_TAG;
    pos = writeVarint(buf, pos, inner);
    buf[pos++] = 8;
    pos = writeVarint(buf, pos, slot);
    if (keyBytes !== 0) {
      buf[pos++] = 18;
      pos = writeVarint(buf, pos, keyBytes);
      pos += buf.write(key, pos, keyBytes, 'utf8');
    }
    if (valueCrc32 !== 0) {
      buf[pos++] = 24;
      pos = writeVarint(buf, pos, valueCrc32);
    }
    assert(pos - start === size, `history record size ${pos - start} != ${size}`);
    this.slots.push(slot);
    this.offsets.push(at);
    if (this.size > this.capacity) this.dropOldest();
  }

  private dropOldest(): void {
    this.head += 1;
    const firstKept = this.offsets[this.head];
    assert(firstKept !== undefined, 'a kept write after the dropped one');
    this.bytes.dropBefore(firstKept);
    if (this.head > 4096 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** recordAt returns write number i's KvApplied bytes (without the snapshot field header). */
  private recordAt(i: number): Buffer {
    const offset = this.offsets[i];
    assert(offset !== undefined, `history write ${i}`);
    const chunk = this.bytes.chunkOf(offset);
    const inner = readVarint(chunk, positionOf(offset) + 1);
    assert(inner >= 0, 'history record within its chunk');
    const pos = varintEnd();
    return chunk.subarray(pos, pos + inner);
  }

  /** page returns up to limit writes in slots >= fromSlot, in slot order. */
  page(fromSlot: number, limit: number): KvApplied[] {
    let lo = this.head;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.slots[mid] as number) < fromSlot) lo = mid + 1;
      else hi = mid;
    }
    const out: KvApplied[] = [];
    for (let i = lo; i < this.slots.length && out.length < limit; i++) out.push(KvApplied.decode(this.recordAt(i)));
    return out;
  }

  /**
   * snapshotParts is every kept write as KvSnapshot field-2 records, oldest first, as views of the chunks (valid
   * until the next append): a caller concatenates them with its other parts, copying the history once.
   */
  snapshotParts(): Buffer[] {
    const first = this.offsets[this.head];
    return first === undefined ? [] : this.bytes.partsFrom(first);
  }

  /** clear drops every write (a snapshot restore replaces the history). */
  clear(): void {
    this.bytes.clear();
    this.slots = [];
    this.offsets = [];
    this.head = 0;
  }
}
