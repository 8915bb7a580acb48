// TopK keeps the k best of a stream of (id, score, slot) entries in a bounded min-heap over typed arrays: best
// is the higher score, ties going to the lower slot (the exhaustive scan's order). O(log k) per offer, no
// allocation after construction; the scheduler uses it to pick a class's sample from the room index by fit.
import { assert } from '../model/assert';

export class TopK {
  private ids: Int32Array;
  private scores: Float64Array;
  private slots: Int32Array;
  size = 0;
  private k = 0;

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
    this.scores = new Float64Array(capacity);
    this.slots = new Int32Array(capacity);
  }

  /** reset empties the heap and sets how many entries it keeps (growing the arrays when needed). */
  reset(k: number): void {
    assert(Number.isInteger(k) && k >= 1, 'TopK: k must be a positive integer');
    if (k > this.ids.length) {
      this.ids = new Int32Array(k);
      this.scores = new Float64Array(k);
      this.slots = new Int32Array(k);
    }
    this.k = k;
    this.size = 0;
  }

  /** offer considers one entry; it is kept when the heap has room or it beats the worst kept entry. */
  offer(id: number, score: number, slot: number): void {
    if (this.size < this.k) {
      this.siftUp(this.size++, id, score, slot);
      return;
    }
    if (!worse(this.scores[0] as number, this.slots[0] as number, score, slot)) return;
    this.siftDown(id, score, slot);
  }

  /** accepts says whether offer(_, score, slot) would keep the entry (so a caller can skip costlier checks first). */
  accepts(score: number, slot: number): boolean {
    return this.size < this.k || worse(this.scores[0] as number, this.slots[0] as number, score, slot);
  }

  /** score returns the i-th kept entry's score (0 <= i < size, in heap order). */
  score(i: number): number {
    assert(i >= 0 && i < this.size, 'TopK: index out of range');
    return this.scores[i] as number;
  }

  /** id returns the i-th kept entry's id (0 <= i < size, in heap order). */
  id(i: number): number {
    assert(i >= 0 && i < this.size, 'TopK: index out of range');
    return this.ids[i] as number;
  }

  private siftUp(at: number, id: number, score: number, slot: number): void {
    let i = at;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(score, slot, this.scores[p] as number, this.slots[p] as number)) break;
      this.move(p, i);
      i = p;
    }
    this.put(i, id, score, slot);
  }

  /** siftDown replaces the worst entry (the root) with (id, score, slot). */
  private siftDown(id: number, score: number, slot: number): void {
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const w = r < n && worse(this.scores[r] as number, this.slots[r] as number, this.scores[l] as number, this.slots[l] as number) ? r : l;
      if (!worse(this.scores[w] as number, this.slots[w] as number, score, slot)) break;
      this.move(w, i);
      i = w;
    }
    this.put(i, id, score, slot);
  }

  private move(from: number, to: number): void {
    this.ids[to] = this.ids[from] as number;
    this.scores[to] = this.scores[from] as number;
    this.slots[to] = this.slots[from] as number;
  }

  private put(i: number, id: number, score: number, slot: number): void {
    this.ids[i] = id;
    this.scores[i] = score;
    this.slots[i] = slot;
  }
}

/** worse: (score a, slot sa) ranks below (b, sb): a lower score, or the same score on a higher slot. */
function worse(a: number, sa: number, b: number, sb: number): boolean {
  return a < b || (a === b && sa > sb);
}
