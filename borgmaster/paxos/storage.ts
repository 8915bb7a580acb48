// PaxosStorage is an acceptor's durable memory on LevelDB: the promised ballot, the accepted value per slot, the
// chosen prefix (commit index) and the latest snapshot. Every record is checksummed and a seal over all records
// is rewritten in every batch, so a corrupt or lost record is found at open and the replica refuses to serve.
import { crc32 } from 'node:zlib';
import { Level } from 'level';
import { Ballot, PaxosEntry, PaxosSnapshot } from '../../proto/index';
import { assert } from '../../model/assert';
import { encodeEntry } from './wire';
import { PAXOS_TRUNCATE_CHUNK } from '../../cells/limits';
import { BorgError } from '../../model/errors';

/**
 * StorageCorrupt means the on-disk state cannot be trusted: a record fails its checksum, does not decode, sits
 * under the wrong key, or the seal over all records does not match (a batch in the middle of the history was
 * lost). A replica that sees it must not vote: it could break a promise it no longer remembers.
 */
export class StorageCorrupt extends BorgError {
  override name = 'StorageCorrupt';
  constructor(
    readonly dir: string,
    readonly key: string,
    problem: string,
  ) {
    super('internal', `paxos storage ${dir}: record ${JSON.stringify(key)}: ${problem}; refusing to serve`);
  }
}

/** PersistBatch is everything one Ready asks to make durable; save() writes it as one synced LevelDB batch. */
export interface PersistBatch {
  /** promised, when set, is the new highest ballot this acceptor promised. Never lower than the stored one. */
  promised?: Ballot | undefined;
  /** entries are accepted values; each overwrites whatever its slot held. */
  entries?: readonly PaxosEntry[] | undefined;
  /** commitIndex, when set, is the new chosen prefix: every slot <= commitIndex is chosen. Never decreases. */
  commitIndex?: number | undefined;
  /** snapshot replaces the stored snapshot (it must be newer) and drops every entry at or below its index. */
  snapshot?: PaxosSnapshot | undefined;
  /** truncateThrough drops entries at or below this slot (log compaction after a snapshot). */
  truncateThrough?: number | undefined;
}

/** StoredState is what open() found on disk, for the core to restart from. */
export interface StoredState {
  promised: Ballot;
  /** entries are sorted by slot; holes are possible (slots never accepted here). */
  entries: PaxosEntry[];
  commitIndex: number;
  snapshot: PaxosSnapshot | undefined;
}

const ZERO_BALLOT: Ballot = { round: 0, replica: 0 };

// Key layout. Entry keys carry the slot as 16 hex digits so LevelDB's byte order is slot order.
const KEY_PROMISED = 'm:promised';
const KEY_COMMIT = 'm:commit';
const KEY_SNAPSHOT = 's:snapshot';
const KEY_SEAL = 'm:seal';
const ENTRY_PREFIX = 'e:';
const MAX_SLOT = Number.MAX_SAFE_INTEGER;

function entryKey(slot: number): string {
  assert(Number.isSafeInteger(slot) && slot >= 0 && slot <= MAX_SLOT, `slot out of range: ${slot}`);
  return ENTRY_PREFIX + slot.toString(16).padStart(16, '0');
}

function slotOfKey(key: string): number | undefined {
  if (!key.startsWith(ENTRY_PREFIX) || key.length !== ENTRY_PREFIX.length + 16) return undefined;
  const hex = key.slice(ENTRY_PREFIX.length);
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
  const slot = Number.parseInt(hex, 16);
  return Number.isSafeInteger(slot) ? slot : undefined;
}

function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.replica - b.replica;
}

/** recordChecksum covers the key and the payload, so a value copied under another key is also caught. */
function recordChecksum(key: string, payload: Uint8Array): number {
  return crc32(payload, crc32(key));
}

/** withChecksum frames a payload as it is stored: its 4-byte checksum (little-endian), then the payload. */
function withChecksum(checksum: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, checksum, true);
  out.set(payload, 4);
  return out;
}

function encodeU64(n: number): Uint8Array {
  assert(Number.isSafeInteger(n) && n >= 0, `u64 out of range: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

function decodeU64(b: Uint8Array): number | undefined {
  if (b.length !== 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/**
 * The seal: batch sequence number, live record count, and the sum (mod 2^32) of every live record's checksum.
 * Each batch updates it incrementally. At open it is recomputed from the records: losing the newest batch
 * (a torn tail of an unacknowledged write) leaves a consistent older state, but losing any batch before a
 * surviving one shows as a mismatch.
 */
interface Seal {
  seq: number;
  count: number;
  sum: number;
}

function encodeSeal(s: Seal): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(s.seq), true);
  v.setUint32(8, s.count, true);
  v.setUint32(12, s.sum, true);
  return out;
}

function decodeSeal(b: Uint8Array): Seal | undefined {
  if (b.length !== 16) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return { seq: Number(v.getBigUint64(0, true)), count: v.getUint32(8, true), sum: v.getUint32(12, true) };
}

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * PaxosStorage owns one LevelDB directory. Open it with PaxosStorage.open (which verifies every record), hand
 * takeLoaded() to the core once, then call save() for each Ready's persist part and wait for it before sending
 * that Ready's messages. save() calls must not overlap (the node driver serialises them). The storage keeps only
 * the small metadata and one checksum per live record in memory; the log itself lives in the core and on disk.
 */
export class PaxosStorage {
  private saving = false;
  private closed = false;
  /** failed is set when a write did not complete: memory and disk may disagree, so nothing more is written. */
  private failed: unknown = undefined;
  private loaded: StoredState | undefined;
  private promisedBallot: Ballot;
  private commit: number;
  private snapshotIndex: number;
  /**
   * Log truncation is lazy: every stored entry at or below truncatedThrough is deleted; those in
   * (truncatedThrough, snapshotIndex] are garbage (the snapshot covers them, nothing reads them) and go
   * PAXOS_TRUNCATE_CHUNK slots per save. Deleting 50,000 records in the snapshot's own batch froze the event
   * loop for ~300 ms on every replica; a chunk costs a few ms of one later batch.
   */
  private truncatedThrough: number;
  /** garbageLeft counts the stored entries at or below the snapshot index (0 once truncation caught up). */
  private garbageLeft: number;

  private constructor(
    readonly dir: string,
    private readonly db: Level<string, Uint8Array>,
    state: StoredState,
    /** checksums of every live record except the seal, for the incremental seal. */
    private readonly checksums: Map<string, number>,
    private sealState: Seal,
    private readonly sync: boolean,
    /** garbage: how many stored entries lie at or below the snapshot index, and the lowest of their slots. */
    garbage: Garbage,
  ) {
    this.loaded = state;
    this.promisedBallot = state.promised;
    this.commit = state.commitIndex;
    this.snapshotIndex = state.snapshot?.index ?? 0;
    this.garbageLeft = garbage.count;
    this.truncatedThrough = garbage.count > 0 ? garbage.fromSlot - 1 : this.snapshotIndex;
  }

  /**
   * open verifies the whole directory and returns the storage, or throws StorageCorrupt. `sync: false` is only
   * for measuring what fsync costs; a replica always runs with sync on.
   */
  static async open(dir: string, options: { sync?: boolean } = {}): Promise<PaxosStorage> {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', compression: false });
    await db.open();
    try {
      const { state, checksums, sealState, garbage } = await verify(dir, db);
      return new PaxosStorage(dir, db, state, checksums, sealState, options.sync ?? true, garbage);
    } catch (e: unknown) {
      await db.close();
      throw e;
    }
  }

  /** takeLoaded hands over the state found at open, once (the core owns the log from then on). */
  takeLoaded(): StoredState {
    const s = this.loaded;
    assert(s !== undefined, 'PaxosStorage.takeLoaded called twice');
    this.loaded = undefined;
    return s;
  }

  get promised(): Ballot {
    return this.promisedBallot;
  }

  get commitIndex(): number {
    return this.commit;
  }

  /** save makes one PersistBatch durable (fsync) in a single LevelDB batch; it resolves only once on disk. */
  async save(batch: PersistBatch): Promise<void> {
    assert(!this.closed, 'PaxosStorage.save after close');
    assert(this.failed === undefined, 'PaxosStorage.save after a failed write');
    assert(!this.saving, 'PaxosStorage.save calls must not overlap');
    this.saving = true;
    try {
      const ops: Op[] = [];
      let promised = this.promisedBallot;
      let commit = this.commit;
      let snapshotIndex = this.snapshotIndex;
      if (batch.promised !== undefined && compareBallots(batch.promised, promised) !== 0) {
        assert(compareBallots(batch.promised, promised) > 0, 'a promise is never lowered');
        promised = { round: batch.promised.round, replica: batch.promised.replica };
        ops.push({ type: 'put', key: KEY_PROMISED, value: Ballot.encode(promised).finish() });
      }
      if (batch.snapshot !== undefined && batch.snapshot.index !== snapshotIndex) {
        assert(batch.snapshot.index > snapshotIndex, 'a snapshot never goes back');
        snapshotIndex = batch.snapshot.index;
        const snap: PaxosSnapshot = { index: batch.snapshot.index, data: batch.snapshot.data };
        ops.push({ type: 'put', key: KEY_SNAPSHOT, value: PaxosSnapshot.encode(snap).finish() });
      }
      // Entries at or below the snapshot index are garbage (truncateThrough, when given, is the snapshot index).
      // A new snapshot recounts them (one pass over the keys, no writes); each batch then deletes the next chunk.
      assert((batch.truncateThrough ?? 0) <= snapshotIndex, 'the log is truncated only below a snapshot');
      const garbageThrough = snapshotIndex;
      let truncatedThrough = this.truncatedThrough;
      let garbageLeft = this.garbageLeft;
      if (garbageThrough > this.snapshotIndex) {
        const g = countGarbage(this.checksums.keys(), garbageThrough);
        garbageLeft = g.count;
        truncatedThrough = g.count > 0 ? g.fromSlot - 1 : garbageThrough;
      }
      const writes = ops.length + (batch.entries?.length ?? 0) + (batch.commitIndex !== undefined && batch.commitIndex !== commit ? 1 : 0);
      if (garbageLeft > 0 && writes > 0) {
        // At least twice what this batch writes, so deletion outpaces the log's growth and garbage stays bounded.
        const to = Math.min(garbageThrough, truncatedThrough + Math.max(PAXOS_TRUNCATE_CHUNK, 2 * writes));
        for (let s = truncatedThrough + 1; s <= to && garbageLeft > 0; s++) {
          const key = entryKey(s);
          if (!this.checksums.has(key)) continue;
          ops.push({ type: 'del', key });
          garbageLeft -= 1;
        }
        truncatedThrough = garbageLeft === 0 ? garbageThrough : to;
      }
      for (const e of batch.entries ?? []) {
        assert(e.slot > 0, 'slot 0 is never used');
        assert(e.ballot !== undefined, 'an accepted entry carries its ballot');
        if (e.slot <= garbageThrough) continue; // covered by the snapshot (written in this batch or before)
        // The same bytes the leader sends in its ACCEPTs (wire.ts encodes an entry once).
        ops.push({ type: 'put', key: entryKey(e.slot), value: encodeEntry(e) });
      }
      if (batch.commitIndex !== undefined && batch.commitIndex !== commit) {
        assert(batch.commitIndex > commit, 'the chosen prefix never shrinks');
        commit = batch.commitIndex;
        ops.push({ type: 'put', key: KEY_COMMIT, value: encodeU64(commit) });
      }
      if (ops.length === 0) return;

      // Seal the batch. `touched` overlays this batch's checksum changes (later ops on a key win, as in LevelDB);
      // it is merged into this.checksums only after the write is on disk. A chained batch costs about half the
      // CPU per operation of an array batch (no per-operation option cloning), which matters at group-commit sizes.
      const touched = new Map<string, number | undefined>();
      let { count, sum } = this.sealState;
      const chained = this.db.batch();
      for (const op of ops) {
        const old = touched.has(op.key) ? touched.get(op.key) : this.checksums.get(op.key);
        if (old !== undefined) {
          count -= 1;
          sum = (sum - old) >>> 0;
        }
        if (op.type === 'put') {
          const c = recordChecksum(op.key, op.value);
          touched.set(op.key, c);
          count += 1;
          sum = (sum + c) >>> 0;
          chained.put(op.key, withChecksum(c, op.value));
        } else {
          touched.set(op.key, undefined);
          chained.del(op.key);
        }
      }
      const sealState: Seal = { seq: this.sealState.seq + 1, count, sum };
      const sealPayload = encodeSeal(sealState);
      chained.put(KEY_SEAL, withChecksum(recordChecksum(KEY_SEAL, sealPayload), sealPayload));
      try {
        await chained.write({ sync: this.sync });
      } catch (e: unknown) {
        this.failed = e;
        throw e;
      }
      for (const [k, c] of touched) {
        if (c === undefined) this.checksums.delete(k);
        else this.checksums.set(k, c);
      }
      this.sealState = sealState;
      this.promisedBallot = promised;
      this.commit = commit;
      this.snapshotIndex = snapshotIndex;
      this.truncatedThrough = truncatedThrough;
      this.garbageLeft = garbageLeft;
    } finally {
      this.saving = false;
    }
  }

  /** entries reads accepted entries with slot in [fromSlot, toSlot] back from disk, verifying each. */
  async entries(fromSlot: number, toSlot: number): Promise<PaxosEntry[]> {
    const out: PaxosEntry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: entryKey(Math.max(fromSlot, this.snapshotIndex + 1)), lte: entryKey(toSlot) })) {
      out.push(decodeEntry(this.dir, key, checkRecord(this.dir, key, value)));
    }
    return out;
  }

  /** snapshot reads the stored snapshot back from disk, verified. */
  async snapshot(): Promise<PaxosSnapshot | undefined> {
    const value = await this.db.get(KEY_SNAPSHOT);
    if (value === undefined) return undefined;
    const payload = checkRecord(this.dir, KEY_SNAPSHOT, value);
    return decodeOr(this.dir, KEY_SNAPSHOT, () => PaxosSnapshot.decode(payload));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}

interface Garbage {
  count: number;
  /** fromSlot: the lowest garbage slot (meaningless when count is 0). */
  fromSlot: number;
}

/** countGarbage counts the entry keys at or below slot `through` and finds the lowest (string order is slot order). */
function countGarbage(keys: Iterable<string>, through: number): Garbage {
  const limit = entryKey(through);
  let count = 0;
  let lowest: string | undefined;
  for (const key of keys) {
    if (!key.startsWith(ENTRY_PREFIX) || key > limit) continue;
    count += 1;
    if (lowest === undefined || key < lowest) lowest = key;
  }
  return { count, fromSlot: lowest === undefined ? 0 : (slotOfKey(lowest) ?? 0) };
}

function checkRecord(dir: string, key: string, value: Uint8Array): Uint8Array {
  if (value.length < 4) throw new StorageCorrupt(dir, key, `torn record: ${value.length} bytes, shorter than its checksum`);
  const want = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
  const payload = value.subarray(4);
  const got = recordChecksum(key, payload);
  if (got !== want) throw new StorageCorrupt(dir, key, `checksum mismatch: stored ${want.toString(16)}, computed ${got.toString(16)}`);
  return payload;
}

function decodeEntry(dir: string, key: string, payload: Uint8Array): PaxosEntry {
  const slot = slotOfKey(key);
  if (slot === undefined) throw new StorageCorrupt(dir, key, 'not an entry key');
  let e: PaxosEntry;
  try {
    e = PaxosEntry.decode(payload);
  } catch (err: unknown) {
    throw new StorageCorrupt(dir, key, `entry does not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (e.slot !== slot) throw new StorageCorrupt(dir, key, `entry for slot ${e.slot} stored under slot ${slot}`);
  if (e.ballot === undefined) throw new StorageCorrupt(dir, key, 'entry without a ballot');
  return e;
}

function decodeOr<T>(dir: string, key: string, fn: () => T | undefined): T {
  let v: T | undefined;
  try {
    v = fn();
  } catch (err: unknown) {
    throw new StorageCorrupt(dir, key, `does not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (v === undefined) throw new StorageCorrupt(dir, key, 'does not decode');
  return v;
}

/** verify reads every record once, checks it, and checks the seal over all of them. */
async function verify(
  dir: string,
  db: Level<string, Uint8Array>,
): Promise<{ state: StoredState; checksums: Map<string, number>; sealState: Seal; garbage: Garbage }> {
  const state: StoredState = { promised: { ...ZERO_BALLOT }, entries: [], commitIndex: 0, snapshot: undefined };
  const checksums = new Map<string, number>();
  let stored: Seal | undefined;
  let count = 0;
  let sum = 0;
  for await (const [key, value] of db.iterator()) {
    const payload = checkRecord(dir, key, value);
    if (key === KEY_SEAL) {
      stored = decodeOr(dir, key, () => decodeSeal(payload));
      continue;
    }
    const c = recordChecksum(key, payload);
    checksums.set(key, c);
    count += 1;
    sum = (sum + c) >>> 0;
    if (key === KEY_PROMISED) {
      state.promised = decodeOr(dir, key, () => Ballot.decode(payload));
    } else if (key === KEY_COMMIT) {
      state.commitIndex = decodeOr(dir, key, () => decodeU64(payload));
    } else if (key === KEY_SNAPSHOT) {
      state.snapshot = decodeOr(dir, key, () => PaxosSnapshot.decode(payload));
    } else if (key.startsWith(ENTRY_PREFIX)) {
      state.entries.push(decodeEntry(dir, key, payload));
    } else {
      throw new StorageCorrupt(dir, key, 'unknown key');
    }
  }
  if (stored === undefined) {
    if (count > 0) throw new StorageCorrupt(dir, KEY_SEAL, `missing, but ${count} records exist`);
    return { state, checksums, sealState: { seq: 0, count: 0, sum: 0 }, garbage: { count: 0, fromSlot: 0 } };
  }
  if (stored.count !== count || stored.sum !== sum) {
    throw new StorageCorrupt(
      dir,
      KEY_SEAL,
      `records do not match the seal of batch ${stored.seq} (count ${count} vs ${stored.count}, sum ${sum.toString(16)} vs ${stored.sum.toString(16)}): a write was lost`,
    );
  }
  // Entries at or below the snapshot are verified garbage awaiting lazy truncation: checked and sealed like any
  // record, but not handed to the core.
  const snapIndex = state.snapshot?.index ?? 0;
  const garbage = countGarbage(checksums.keys(), snapIndex);
  state.entries = state.entries.filter((e) => e.slot > snapIndex);
  return { state, checksums, sealState: stored, garbage };
}
