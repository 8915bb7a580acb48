// PaxosLog is a replica's in-memory copy of its accepted values, slots snapshotIndex+1 .. lastSlot, with holes
// where nothing was accepted. The core keeps it beside storage (etcd raft's unstable + memory storage in one).
import type { PaxosEntry } from '../../proto/index';
import { assert } from '../../model/assert';

export class PaxosLog {
  /** base is the snapshot index: slots <= base are compacted away. */
  private base: number;
  /** slots base+1 .. base+arr.length; the last element is never undefined. */
  private arr: (PaxosEntry | undefined)[] = [];

  constructor(snapshotIndex: number, entries: readonly PaxosEntry[]) {
    assert(Number.isSafeInteger(snapshotIndex) && snapshotIndex >= 0, 'snapshot index must be a non-negative integer');
    this.base = snapshotIndex;
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
    return this.base + this.arr.length;
  }

  get(slot: number): PaxosEntry | undefined {
    if (slot <= this.base) return undefined;
    return this.arr[slot - this.base - 1];
  }

  /** put stores e at its slot, replacing what was there. */
  put(e: PaxosEntry): void {
    assert(Number.isSafeInteger(e.slot) && e.slot > this.base, `put below the snapshot: slot ${e.slot} <= ${this.base}`);
    const i = e.slot - this.base - 1;
    while (this.arr.length < i) this.arr.push(undefined);
    this.arr[i] = e;
  }

  /** slice returns the entries in [from, to] that exist, in slot order. */
  slice(from: number, to: number): PaxosEntry[] {
    const out: PaxosEntry[] = [];
    const lo = Math.max(from, this.base + 1);
    const hi = Math.min(to, this.lastSlot);
    for (let s = lo; s <= hi; s++) {
      const e = this.arr[s - this.base - 1];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** compact drops every slot <= index (they are covered by a snapshot). */
  compact(index: number): void {
    if (index <= this.base) return;
    const n = Math.min(index - this.base, this.arr.length);
    this.arr.splice(0, n);
    this.base = index;
  }
}
