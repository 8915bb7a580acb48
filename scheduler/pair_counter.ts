// PairCounter counts tasks per (job, domain) pair (domain = a machine, a rack or a power domain) in one
// open-addressing hash table over typed arrays: no allocation per update, one probe sequence per lookup. It
// backs the spread-limit filter and the failure-domain spreading scorer.
import { assert } from '../model/assert';

const EMPTY = -1;

export class PairCounter {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private counts: Int32Array;
  private used = 0;
  private mask: number;

  constructor(
    private readonly maxEntries: number,
    initialCapacity = 1024,
  ) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.mask = cap - 1;
    this.keysA = new Int32Array(cap).fill(EMPTY);
    this.keysB = new Int32Array(cap);
    this.counts = new Int32Array(cap);
  }

  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    let i = h & this.mask;
    for (;;) {
      const k = this.keysA[i] as number;
      if (k === EMPTY || (k === a && this.keysB[i] === b)) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.keysA[i] === EMPTY ? 0 : (this.counts[i] as number);
  }

  /**
   * add changes the count of (a, b) by delta. Entries that reach zero stay as zero-count keys (no tombstones
   * needed) until the table is rebuilt on growth, which drops them.
   */
  add(a: number, b: number, delta: number): void {
    assert(a >= 0 && b >= 0, 'PairCounter keys are non-negative');
    let i = this.slot(a, b);
    if (this.keysA[i] === EMPTY) {
      // The message is built only on failure (a template argument would be built on every call, in a hot path).
      if (delta <= 0) assert(false, `PairCounter: decrement of absent pair (${a}, ${b})`);
      if ((this.used + 1) * 2 > this.counts.length) {
        this.rebuild();
        i = this.slot(a, b);
      }
      this.keysA[i] = a;
      this.keysB[i] = b;
      this.counts[i] = 0;
      this.used++;
    }
    const c = (this.counts[i] as number) + delta;
    if (c < 0) assert(false, `PairCounter: count of (${a}, ${b}) below zero`);
    this.counts[i] = c;
  }

  private rebuild(): void {
    const oldA = this.keysA;
    const oldB = this.keysB;
    const oldC = this.counts;
    let live = 0;
    for (let i = 0; i < oldA.length; i++) if (oldA[i] !== EMPTY && (oldC[i] as number) > 0) live++;
    let cap = 16;
    while (cap < live * 4) cap *= 2;
    assert(live <= this.maxEntries, `PairCounter: more than ${this.maxEntries} live (job, domain) pairs`);
    this.mask = cap - 1;
    this.keysA = new Int32Array(cap).fill(EMPTY);
    this.keysB = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    this.used = 0;
    for (let i = 0; i < oldA.length; i++) {
      const a = oldA[i] as number;
      const c = oldC[i] as number;
      if (a === EMPTY || c === 0) continue;
      const j = this.slot(a, oldB[i] as number);
      this.keysA[j] = a;
      this.keysB[j] = oldB[i] as number;
      this.counts[j] = c;
      this.used++;
    }
  }
}
