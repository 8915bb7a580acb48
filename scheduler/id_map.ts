// IdMap maps task ids (non-negative safe integers) to values in one open-addressing table: keys in a typed array,
// linear probing, and backward-shift deletion, so a removal leaves no tombstone and the table never needs a
// clean-up rehash. It backs the lookups by task id on the scheduler's hot paths (a task placed, evicted, queued,
// dequeued). A JS Map keeps each deleted entry in place until it rehashes, and the place/evict churn of an online
// pass pays for that: measured on 150,000 random ids, a delete and a set cost ~200-570 ns in a Map against one
// short probe run here.
// Ids are hashed in aligned runs of RUN consecutive ids, which take consecutive positions (home): the tasks of a job
// are numbered together and mostly placed, evicted and queued together, so their lookups share cache lines. A run
// holds at most RUN ids, so no pattern of ids crowds one place more than random hashing of the runs would. Measured
// (scheduler/README.md): the bulk pass 6-11% shorter (it places whole jobs), online passes unchanged.
import { assert } from '../model/assert';

const EMPTY = -1;
const MIN_CAPACITY = 16;
const RUN_BITS = 4;
const RUN = 1 << RUN_BITS;

export class IdMap<V> {
  private keys: Float64Array;
  private vals: (V | undefined)[];
  private mask: number;
  private count = 0;

  constructor(initialCapacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < initialCapacity * 2) cap *= 2;
    this.mask = cap - 1;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** index: the table position of id, or of the empty slot where it would go. */
  private index(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = home(id) & mask;
    for (;;) {
      const k = keys[i] as number;
      if (k === id || k === EMPTY) return i;
      i = (i + 1) & mask;
    }
  }

  /**
   * positionOf: the table position holding id, or -1 when it is absent. Lookups take any number: one that is not a
   * valid id (negative, NaN, fractional) is simply absent.
   */
  private positionOf(id: number): number {
    if (!(id >= 0)) return -1;
    const i = this.index(id);
    return this.keys[i] === id ? i : -1;
  }

  has(id: number): boolean {
    return this.positionOf(id) >= 0;
  }

  get(id: number): V | undefined {
    const i = this.positionOf(id);
    return i < 0 ? undefined : this.vals[i];
  }

  set(id: number, v: V): void {
    this.swap(id, v);
  }

  /**
   * swap sets id to v and returns the value it replaced (undefined when id was absent): a get and a set in one
   * probe.
   */
  swap(id: number, v: V): V | undefined {
    if (!(Number.isSafeInteger(id) && id >= 0)) assert(false, `IdMap: id ${id} is not a non-negative safe integer`);
    let i = this.index(id);
    if (this.keys[i] === id) {
      const old = this.vals[i];
      this.vals[i] = v;
      return old;
    }
    if ((this.count + 1) * 2 > this.keys.length) {
      this.grow();
      i = this.index(id);
    }
    this.keys[i] = id;
    this.vals[i] = v;
    this.count++;
    return undefined;
  }

  /** delete removes id; the entries after it in its probe run shift back, so lookups never need tombstones. */
  delete(id: number): boolean {
    const i = this.positionOf(id);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /** take removes id and returns its value (undefined when absent): a get and a delete in one probe. */
  take(id: number): V | undefined {
    const i = this.positionOf(id);
    if (i < 0) return undefined;
    const v = this.vals[i];
    this.removeAt(i);
    return v;
  }

  /** removeAt empties table position i (which holds an entry) by backward shift. */
  private removeAt(i: number): void {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    this.count--;
    // Backward shift: move a later entry of the run into the hole when its home position is not in (hole, entry].
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j] as number;
      if (k === EMPTY) break;
      const h = home(k) & mask;
      if (i <= j ? i < h && h <= j : i < h || h <= j) continue;
      keys[i] = k;
      vals[i] = vals[j];
      i = j;
    }
    keys[i] = EMPTY;
    vals[i] = undefined;
  }

  /** forEach visits every entry, in table order (not insertion order). */
  forEach(f: (v: V, id: number) => void): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if ((keys[i] as number) !== EMPTY) f(this.vals[i] as V, keys[i] as number);
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = oldKeys.length * 2;
    this.mask = cap - 1;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i] as number;
      if (k === EMPTY) continue;
      const j = this.index(k);
      this.keys[j] = k;
      this.vals[j] = oldVals[i];
    }
  }
}

/** home: where id's probe starts (before masking): its run's hashed place, then its offset in the run. */
function home(id: number): number {
  const run = Math.floor(id / RUN);
  return (hash(run) << RUN_BITS) | (id - run * RUN);
}

/** hash mixes both 32-bit halves of a safe integer (ids may exceed 2^32) into a well-spread 32-bit value. */
function hash(id: number): number {
  let h = Math.imul((id | 0) ^ Math.imul((id / 4294967296) | 0, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 16;
  return h;
}
