// EventQueue is the simulation's only notion of time: events fire in (time, insertion) order from a binary
// heap, so a run is a pure function of its seed. Nothing here reads a real clock.
import { assert } from '../../model/assert';
import type { Clock } from '../../model/clock';

interface Event {
  atMs: number;
  seq: number;
  fn: () => void;
}

export class EventQueue implements Clock {
  private heap: Event[] = [];
  private seq = 0;
  private now = 0;
  /** fired counts events run so far (a bound on a run's work). */
  fired = 0;

  nowMs(): number {
    return this.now;
  }

  at(atMs: number, fn: () => void): void {
    assert(atMs >= this.now, `event scheduled in the past (${atMs} < ${this.now})`);
    this.push({ atMs, seq: this.seq++, fn });
  }

  after(delayMs: number, fn: () => void): void {
    assert(delayMs >= 0 && Number.isFinite(delayMs), `bad delay ${delayMs}`);
    this.at(this.now + delayMs, fn);
  }

  get pending(): number {
    return this.heap.length;
  }

  /** runUntil fires every event due at or before endMs, then sets the time to endMs. */
  runUntil(endMs: number, maxEvents = Number.POSITIVE_INFINITY): void {
    while (this.heap.length > 0) {
      const top = this.heap[0] as Event;
      if (top.atMs > endMs) break;
      this.pop();
      this.now = top.atMs;
      this.fired++;
      assert(this.fired <= maxEvents, `simulation exceeded ${maxEvents} events (livelock?)`);
      top.fn();
    }
    this.now = Math.max(this.now, endMs);
  }

  private less(a: Event, b: Event): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Event, h[p] as Event)) break;
      [h[i], h[p]] = [h[p] as Event, h[i] as Event];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Event;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Event, h[m] as Event)) m = l;
      if (r < h.length && this.less(h[r] as Event, h[m] as Event)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Event, h[i] as Event];
      i = m;
    }
  }
}
