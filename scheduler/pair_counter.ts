// PairCounter counts tasks per (job, domain) pair (domain = a machine, a rack or a power domain) in one
// open-addressing hash table over typed arrays: no allocation per update, one probe sequence per lookup. It
// backs the spread-limit filter and the failure-domain spreading scorer.
import { assert } from '../model/assert';

const EMPTY = -1;
/** Each entry is one 16-byte record [a, b, count, unused] in one array, so a lookup touches one cache line. */
const STRIDE = 4;

export class PairCounter {
  private table: Int32Array;
  private used = 0;
  private mask: number;

  constructor(
    private readonly maxEntries: number,
    initialCapacity = 1024,
  ) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.mask = cap - 1;
    this.table = emptyTable(cap);
  }

  /** slot: the record offset of (a, b), or of the empty record where it would go. */
  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    const t = this.table;
    let i = h & this.mask;
    for (;;) {
      const o = i * STRIDE;
      const k = t[o] as number;
      if (k === EMPTY || (k === a && t[o + 1] === b)) return o;
      i = (i + 1) & this.mask;
    }
  }

  get(a: number, b: number): number {
    const o = this.slot(a, b);
    return this.table[o] === EMPTY ? 0 : (this.table[o + 2] as number);
  }

  /**
   * add changes the count of (a, b) by delta. Entries that reach zero stay as zero-count keys (no tombstones
   * needed) until the table is rebuilt on growth, which drops them.
   */
  add(a: number, b: number, delta: number): void {
    assert(a >= 0 && b >= 0, 'PairCounter keys are non-negative');
    let o = this.slot(a, b);
    let t = this.table;
    if (t[o] === EMPTY) {
      // The message is built only on failure (a template argument would be built on every call, in a hot path).
      if (delta <= 0) assert(false, `PairCounter: decrement of absent pair (${a}, ${b})`);
      if ((this.used + 1) * 2 > this.mask + 1) {
        this.rebuild();
        o = this.slot(a, b);
        t = this.table;
      }
      t[o] = a;
      t[o + 1] = b;
      t[o + 2] = 0;
      this.used++;
    }
    const c = (t[o + 2] as number) + delta;
    if (c < 0) assert(false, `PairCounter: count of (${a}, ${b}) below zero`);
    t[o + 2] = c;
  }

  private rebuild(): void {
    const old = this.table;
    let live = 0;
    for (let o = 0; o < old.length; o += STRIDE) if (old[o] !== EMPTY && (old[o + 2] as number) > 0) live++;
    let cap = 16;
    while (cap < live * 4) cap *= 2;
    assert(live <= this.maxEntries, `PairCounter: more than ${this.maxEntries} live (job, domain) pairs`);
    this.mask = cap - 1;
    this.table = emptyTable(cap);
    this.used = 0;
    for (let o = 0; o < old.length; o += STRIDE) {
      const a = old[o] as number;
      const c = old[o + 2] as number;
      if (a === EMPTY || c === 0) continue;
      const n = this.slot(a, old[o + 1] as number);
      this.table[n] = a;
      this.table[n + 1] = old[o + 1] as number;
      this.table[n + 2] = c;
      this.used++;
    }
  }
}

function emptyTable(cap: number): Int32Array {
  const t = new Int32Array(cap * STRIDE);
  for (let o = 0; o < t.length; o += STRIDE) t[o] = EMPTY;
  return t;
}
