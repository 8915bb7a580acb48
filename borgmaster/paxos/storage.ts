// PaxosStorage is an acceptor's durable memory on LevelDB: the promised ballot, the accepted value per slot, the
// chosen prefix (commit index) and the latest snapshot. Every record is checksummed and a seal over all live records
// is rewritten in every batch, so a corrupt or lost record is found at open and the replica refuses to serve.
// Entries a snapshot covers leave the seal in the snapshot's own batch and are deleted afterwards by LevelDB's
// range clear, off the event loop. A snapshot's bytes live in a file of their own (snapshot_file.ts); LevelDB holds
// a checksummed reference to it.
import { crc32 } from 'node:zlib';
import { Level } from 'level';
import { Ballot, PaxosEntry, PaxosSnapshot } from '../../proto/index';
import { assert } from '../../model/assert';
import { encodeEntry } from './wire';
import { BorgError } from '../../model/errors';
import { PAXOS_LEVELDB_WRITE_BUFFER_BYTES } from '../../cells/limits';
import { SnapshotFiles, decodeSnapshotRef, encodeSnapshotRef, isSnapshotRef } from './snapshot_file';

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

/** slotOfKey parses an entry key's 16 lower-case hex digits (on the save path: no regex, no substring). */
function slotOfKey(key: string): number | undefined {
  if (key.length !== ENTRY_PREFIX.length + 16 || !key.startsWith(ENTRY_PREFIX)) return undefined;
  let slot = 0;
  for (let i = ENTRY_PREFIX.length; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return undefined;
    slot = slot * 16 + d;
  }
  return Number.isSafeInteger(slot) ? slot : undefined;
}

function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.replica - b.replica;
}

/** recordChecksum covers the key and the payload, so a value copied under another key is also caught. */
function recordChecksum(key: string, payload: Uint8Array): number {
  return crc32(payload, crc32(key));
}

/**
 * withChecksum frames a payload as it is stored: its 4-byte checksum (little-endian), then the payload. A slice of
 * node's Buffer pool, not a Uint8Array of its own: each record over 64 bytes otherwise got its own malloc'd backing
 * store, which every scavenge then had to sweep (one per entry per replica).
 */
function withChecksum(checksum: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32LE(checksum >>> 0, 0);
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

/** Op is one record to put: `value` is its payload; `slot` is set for an entry (its key need not be parsed back). */
interface Op {
  key: string;
  value: Uint8Array;
  slot?: number;
}

/**
 * RecordSums holds the checksum of every live record (the seal is their count and sum). Entries are keyed by slot
 * number with the checksum as a signed 32-bit integer, so the tens of thousands an interval holds are no objects at
 * all for the garbage collector (a key string and a boxed number each were ~100,000 objects every full collection
 * traced); the few metadata records keep their string keys.
 */
class RecordSums {
  private readonly entries = new Map<number, number>();
  private readonly meta = new Map<string, number>();

  get size(): number {
    return this.entries.size + this.meta.size;
  }

  get(key: string): number | undefined {
    const slot = slotOfKey(key);
    const c = slot === undefined ? this.meta.get(key) : this.entries.get(slot);
    return c === undefined ? undefined : c >>> 0;
  }

  set(key: string, checksum: number): void {
    const slot = slotOfKey(key);
    if (slot === undefined) this.meta.set(key, checksum);
    else this.entries.set(slot, checksum | 0);
  }

  /** getEntry and setEntry are get and set for the entry at slot, without a key to parse (the save path). */
  getEntry(slot: number): number | undefined {
    const c = this.entries.get(slot);
    return c === undefined ? undefined : c >>> 0;
  }

  setEntry(slot: number, checksum: number): void {
    this.entries.set(slot, checksum | 0);
  }

  /** entriesThrough counts the live entries at or below slot `through` and sums their checksums (mod 2^32). */
  entriesThrough(through: number): { count: number; sum: number } {
    let count = 0;
    let sum = 0;
    for (const [slot, c] of this.entries) {
      if (slot > through) continue;
      count += 1;
      sum = (sum + (c >>> 0)) >>> 0;
    }
    return { count, sum };
  }

  /** deleteEntriesThrough forgets every entry at or below slot `through`. */
  deleteEntriesThrough(through: number): void {
    for (const slot of this.entries.keys()) if (slot <= through) this.entries.delete(slot);
  }
}

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
   * truncation is the range clear of the entries at or below the snapshot index, running in LevelDB's thread (one
   * at a time, chained). Those entries are garbage: outside the seal since the snapshot's batch, never read, and
   * skipped at open if a crash left some. Deleting 50,000 records in the snapshot's batch froze the event loop for
   * ~300 ms; deleting a chunk in each later batch cost every replica two LevelDB operations per slot on its hot path.
   */
  private truncation: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly db: Level<string, Uint8Array>,
    private readonly files: SnapshotFiles,
    state: StoredState,
    /** checksums of every live record except the seal, for the incremental seal. */
    private readonly checksums: RecordSums,
    private sealState: Seal,
    private readonly sync: boolean,
    /** garbage: whether entries at or below the snapshot index were found at open (a crash before their clear). */
    garbage: boolean,
  ) {
    this.loaded = state;
    this.promisedBallot = state.promised;
    this.commit = state.commitIndex;
    this.snapshotIndex = state.snapshot?.index ?? 0;
    if (garbage) this.truncate(this.snapshotIndex);
  }

  /**
   * open verifies the whole directory and returns the storage, or throws StorageCorrupt. `sync: false` is only
   * for measuring what fsync costs; a replica always runs with sync on.
   */
  static async open(dir: string, options: { sync?: boolean } = {}): Promise<PaxosStorage> {
    // A memtable that holds a snapshot interval (PAXOS_LEVELDB_WRITE_BUFFER_BYTES): entries truncated before it
    // fills are never flushed to a table file or compacted; with LevelDB's default 4 MiB nearly every entry was.
    const files = await SnapshotFiles.open(dir);
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', compression: false, writeBufferSize: PAXOS_LEVELDB_WRITE_BUFFER_BYTES });
    await db.open();
    try {
      const { state, checksums, sealState, garbage, snapshotFile } = await verify(dir, db, files);
      // Files no record references: a snapshot written before a crash kept its batch from disk, or one a newer
      // snapshot replaced before its removal ran. The referenced one was verified above.
      await files.sweep(snapshotFile);
      return new PaxosStorage(dir, db, files, state, checksums, sealState, options.sync ?? true, garbage);
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
        ops.push({ key: KEY_PROMISED, value: Ballot.encode(promised).finish() });
      }
      if (batch.snapshot !== undefined && batch.snapshot.index !== snapshotIndex) {
        assert(batch.snapshot.index > snapshotIndex, 'a snapshot never goes back');
        snapshotIndex = batch.snapshot.index;
        // The file is durable before the batch that references it is written (a crash between leaves a stray
        // file, swept at open). A failed write fails the disk like a failed batch.
        try {
          const ref = await this.files.write(snapshotIndex, batch.snapshot.data);
          ops.push({ key: KEY_SNAPSHOT, value: encodeSnapshotRef(ref) });
        } catch (e: unknown) {
          this.failed = e;
          throw e;
        }
      }
      // Entries at or below the snapshot index are garbage (truncateThrough, when given, is the snapshot index). A
      // new snapshot takes the entries it covers out of the seal in this same batch (no LevelDB write: `unsealed`
      // is their count and checksum sum); once the batch is durable, a range clear deletes them.
      assert((batch.truncateThrough ?? 0) <= snapshotIndex, 'the log is truncated only below a snapshot');
      const garbageThrough = snapshotIndex;
      const unsealed = garbageThrough > this.snapshotIndex ? this.checksums.entriesThrough(garbageThrough) : { count: 0, sum: 0 };
      for (const e of batch.entries ?? []) {
        assert(e.slot > 0, 'slot 0 is never used');
        assert(e.ballot !== undefined, 'an accepted entry carries its ballot');
        if (e.slot <= garbageThrough) continue; // covered by the snapshot (written in this batch or before)
        // The same bytes the leader sends in its ACCEPTs (wire.ts encodes an entry once).
        ops.push({ key: entryKey(e.slot), value: encodeEntry(e), slot: e.slot });
      }
      if (batch.commitIndex !== undefined && batch.commitIndex !== commit) {
        assert(batch.commitIndex > commit, 'the chosen prefix never shrinks');
        commit = batch.commitIndex;
        ops.push({ key: KEY_COMMIT, value: encodeU64(commit) });
      }
      if (ops.length === 0 && unsealed.count === 0) return;

      // Seal the batch. The `touched` maps overlay this batch's checksum changes (later ops on a key win, as in
      // LevelDB); they are merged into this.checksums only after the write is on disk. Entries are keyed by slot, so
      // no key is parsed back. A chained batch costs about half the CPU per operation of an array batch (no
      // per-operation option cloning), which matters at group-commit sizes.
      const touchedEntries = new Map<number, number>();
      const touchedMeta = new Map<string, number>();
      let count = this.sealState.count - unsealed.count;
      let sum = (this.sealState.sum - unsealed.sum) >>> 0;
      const chained = this.db.batch();
      for (const op of ops) {
        const c = recordChecksum(op.key, op.value);
        let old: number | undefined;
        if (op.slot === undefined) {
          old = touchedMeta.has(op.key) ? touchedMeta.get(op.key) : this.checksums.get(op.key);
          touchedMeta.set(op.key, c);
        } else {
          old = touchedEntries.has(op.slot) ? touchedEntries.get(op.slot) : this.checksums.getEntry(op.slot);
          touchedEntries.set(op.slot, c);
        }
        if (old !== undefined) {
          count -= 1;
          sum = (sum - old) >>> 0;
        }
        count += 1;
        sum = (sum + c) >>> 0;
        chained.put(op.key, withChecksum(c, op.value));
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
      if (unsealed.count > 0) this.checksums.deleteEntriesThrough(garbageThrough);
      for (const [slot, c] of touchedEntries) this.checksums.setEntry(slot, c);
      for (const [k, c] of touchedMeta) this.checksums.set(k, c);
      this.sealState = sealState;
      this.promisedBallot = promised;
      this.commit = commit;
      if (snapshotIndex > this.snapshotIndex) {
        this.truncate(snapshotIndex);
        if (this.snapshotIndex > 0) this.removeSnapshotFile(this.snapshotIndex);
      }
      this.snapshotIndex = snapshotIndex;
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
    return loadSnapshot(this.dir, this.files, checkRecord(this.dir, KEY_SNAPSHOT, value));
  }

  /**
   * truncate deletes every entry at or below slot `through` in LevelDB's thread, after any clear already running.
   * Only ever called for entries outside the seal, so a crash at any point of it leaves a disk that verifies. A
   * clear that fails means the disk fails: the next save refuses, as after a failed write.
   */
  private truncate(through: number): void {
    this.truncation = this.truncation.then(async () => {
      if (this.closed) return;
      try {
        await this.db.clear({ gte: entryKey(0), lte: entryKey(through) });
      } catch (e: unknown) {
        if (!this.closed) this.failed = e;
      }
    });
  }

  /**
   * removeSnapshotFile deletes the file of a snapshot a newer durable one replaced, after the clears queued before
   * it (same chain, so close() waits for it). A removal that fails leaves a stray file, swept at the next open.
   */
  private removeSnapshotFile(index: number): void {
    this.truncation = this.truncation.then(async () => {
      if (this.closed) return;
      try {
        await this.files.remove(index);
      } catch {
        // best effort: see above
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let a clear in flight finish first (a closed database rejects it; its garbage would only wait for next open).
    await this.truncation;
    this.closed = true;
    await this.db.close();
  }
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

/**
 * loadSnapshot reads the snapshot a KEY_SNAPSHOT payload names: a SnapshotRef to a file (verified against the ref's
 * size and CRC), or an older record that embedded the whole PaxosSnapshot.
 */
async function loadSnapshot(dir: string, files: SnapshotFiles, payload: Uint8Array): Promise<PaxosSnapshot> {
  if (!isSnapshotRef(payload)) return decodeOr(dir, KEY_SNAPSHOT, () => PaxosSnapshot.decode(payload));
  const ref = decodeOr(dir, KEY_SNAPSHOT, () => decodeSnapshotRef(payload));
  const r = await files.read(ref);
  if ('problem' in r) throw new StorageCorrupt(dir, KEY_SNAPSHOT, r.problem);
  return { index: ref.index, data: r.data };
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
  files: SnapshotFiles,
): Promise<{ state: StoredState; checksums: RecordSums; sealState: Seal; garbage: boolean; snapshotFile: number | undefined }> {
  const state: StoredState = { promised: { ...ZERO_BALLOT }, entries: [], commitIndex: 0, snapshot: undefined };
  const checksums = new RecordSums();
  let stored: Seal | undefined;
  let snapshotFile: number | undefined;
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
      state.snapshot = await loadSnapshot(dir, files, payload);
      if (isSnapshotRef(payload)) snapshotFile = state.snapshot.index;
    } else if (key.startsWith(ENTRY_PREFIX)) {
      state.entries.push(decodeEntry(dir, key, payload));
    } else {
      throw new StorageCorrupt(dir, key, 'unknown key');
    }
  }
  // Entries at or below the snapshot are garbage a crash kept from its range clear: checked like any record, but
  // outside the seal (the snapshot's batch took them out) and not handed to the core.
  const snapIndex = state.snapshot?.index ?? 0;
  const unsealed = checksums.entriesThrough(snapIndex);
  checksums.deleteEntriesThrough(snapIndex);
  count -= unsealed.count;
  sum = (sum - unsealed.sum) >>> 0;
  const garbage = unsealed.count > 0;
  state.entries = state.entries.filter((e) => e.slot > snapIndex);
  if (stored === undefined) {
    if (count > 0) throw new StorageCorrupt(dir, KEY_SEAL, `missing, but ${count} records exist`);
    return { state, checksums, sealState: { seq: 0, count: 0, sum: 0 }, garbage, snapshotFile };
  }
  if (stored.count !== count || stored.sum !== sum) {
    throw new StorageCorrupt(
      dir,
      KEY_SEAL,
      `records do not match the seal of batch ${stored.seq} (count ${count} vs ${stored.count}, sum ${sum.toString(16)} vs ${stored.sum.toString(16)}): a write was lost`,
    );
  }
  return { state, checksums, sealState: stored, garbage, snapshotFile };
}
