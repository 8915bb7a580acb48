// PaxosLog is a replica's in-memory copy of its accepted values, slots snapshotIndex+1 .. lastSlot, with holes
// where nothing was accepted. The core keeps it beside storage (etcd raft's unstable + memory storage in one).
//
// Slots the core has handed to the state machine are chosen and never change, and the core reads them again only
// to resend or catch up a peer; the log keeps them as their PaxosEntry encoding in 1 MiB chunks (settle), not as
// objects. Why: as objects, every entry (with its ballot and value) lived until the next snapshot, 50,000 slots
// away, so each scavenge on a busy replica copied and promoted the last second's entries and the old space filled
// with them; a full collection followed every second or so, and those pauses were the 64-writer tail latency.
// Settled, an entry's objects die young, and what stays is bytes the collector does not trace.
import { PaxosEntry } from '../../proto/index';
import { assert } from '../../model/assert';
import { ByteChunks, positionOf } from './byte_chunks';
import { takeEntryEncoding } from './wire';

export class PaxosLog {
  /** base is the snapshot index: slots <= base are compacted away. */
  private base: number;
  /** settled: slots base+1 .. settled are held as encodings (chosen, handed out, contiguous: no holes). */
  private settled: number;
  /** bytes holds the settled encodings (an encoding near the batch limit gets a chunk of its own). */
  private readonly bytes = new ByteChunks();
  /**
   * starts[head + k] and ends[head + k] are the addresses in `bytes` of slot base+1+k's encoding and of its end;
   * the arrays are compacted now and then, not shifted per slot.
   */
  private starts: number[] = [];
  private ends: number[] = [];
  private head = 0;
  /** arr: slots settled+1 .. settled+arr.length as objects; the last element is never undefined. */
  private arr: (PaxosEntry | undefined)[] = [];

  constructor(snapshotIndex: number, entries: readonly PaxosEntry[]) {
    assert(Number.isSafeInteger(snapshotIndex) && snapshotIndex >= 0, 'snapshot index must be a non-negative integer');
    this.base = snapshotIndex;
    this.settled = snapshotIndex;
    let prev = snapshotIndex;
    for (const e of entries) {
      assert(e.slot > prev, `restart entries must be sorted and above the snapshot (slot ${e.slot} after ${prev})`);
      prev = e.slot;
      this.put(e);
    }
  }

  get snapshotIndex(): number {
    return this.base;
  }

  get lastSlot(): number {
    return this.settled + this.arr.length;
  }

  /** get returns slot's entry; a settled slot's is decoded afresh (equal to what was put, not the same object). */
  get(slot: number): PaxosEntry | undefined {
    if (slot <= this.base) return undefined;
    if (slot <= this.settled) return this.decodeSettled(slot);
    return this.arr[slot - this.settled - 1];
  }

  /** put stores e at its slot, replacing what was there; settled slots are chosen and never replaced. */
  put(e: PaxosEntry): void {
    assert(Number.isSafeInteger(e.slot) && e.slot > this.base, `put below the snapshot: slot ${e.slot} <= ${this.base}`);
    assert(e.slot > this.settled, `put into settled slot ${e.slot} (settled through ${this.settled})`);
    const i = e.slot - this.settled - 1;
    while (this.arr.length < i) this.arr.push(undefined);
    this.arr[i] = e;
  }

  /** slice returns the entries in [from, to] that exist, in slot order. */
  slice(from: number, to: number): PaxosEntry[] {
    const out: PaxosEntry[] = [];
    const lo = Math.max(from, this.base + 1);
    const hi = Math.min(to, this.lastSlot);
    for (let s = lo; s <= hi; s++) {
      const e = this.get(s);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /**
   * settle keeps slots through `through` as encodings from now on. The caller vouches that they are chosen and
   * handed out, so never put again. The encoding leaves wire.ts's cache here: a later use of the entry (a resend,
   * or a disk write that had not yet taken it) encodes it again.
   */
  settle(through: number): void {
    const last = Math.min(through, this.lastSlot);
    if (last <= this.settled) return;
    const n = last - this.settled;
    for (let k = 0; k < n; k++) {
      const e = this.arr[k];
      assert(e !== undefined && e.slot === this.settled + 1 + k, `settling slot ${this.settled + 1 + k}, which the log does not hold`);
      this.append(takeEntryEncoding(e));
    }
    this.arr.splice(0, n);
    this.settled = last;
  }

  /** compact drops every slot <= index (they are covered by a snapshot). */
  compact(index: number): void {
    if (index <= this.base) return;
    if (index >= this.settled) {
      this.arr.splice(0, Math.min(index - this.settled, this.arr.length));
      this.bytes.clear();
      this.starts = [];
      this.ends = [];
      this.head = 0;
      this.settled = index;
    } else {
      this.head += index - this.base;
      this.bytes.dropBefore(this.starts[this.head] as number);
      if (this.head > 4096 && this.head * 2 > this.starts.length) {
        this.starts = this.starts.slice(this.head);
        this.ends = this.ends.slice(this.head);
        this.head = 0;
      }
    }
    this.base = index;
  }

  private append(b: Buffer): void {
    const at = this.bytes.reserve(b.length);
    this.bytes.chunkOf(at).set(b, positionOf(at));
    this.starts.push(at);
    this.ends.push(at + b.length);
  }

  private decodeSettled(slot: number): PaxosEntry {
    const i = this.head + slot - this.base - 1;
    const start = this.starts[i];
    const end = this.ends[i];
    assert(start !== undefined && end !== undefined, `settled slot ${slot} has no encoding`);
    const e = PaxosEntry.decode(this.bytes.view(start, end - start));
    assert(e.slot === slot, `settled slot ${slot} decoded as slot ${e.slot}`);
    return e;
  }
}
