// EventLog is the cell's bounded task-event history (ListEvents, GetTask). Retention: the most recent
// EVENT_HISTORY_MAX events (cells/limits.ts), oldest dropped first; it is part of the replicated state and of the
// checkpoint, so every replica answers the same history for the same log index.
import { assert } from '../../model/assert';
import { EVENT_HISTORY_MAX } from '../../cells/limits';
import type { TaskEvent } from '../../proto/index';

export class EventLog {
  private ring: (TaskEvent | undefined)[] = [];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number = EVENT_HISTORY_MAX) {
    assert(Number.isInteger(capacity) && capacity > 0, 'EventLog capacity must be positive');
  }

  get size(): number {
    return this.count;
  }

  push(e: TaskEvent): void {
    if (this.count < this.capacity) {
      this.ring.push(e);
      this.count++;
      return;
    }
    this.ring[this.start] = e;
    this.start = (this.start + 1) % this.capacity;
  }

  /** forEach visits events oldest first; stop early by returning false. */
  forEach(f: (e: TaskEvent) => boolean | void): void {
    for (let i = 0; i < this.count; i++) {
      const e = this.ring[(this.start + i) % this.capacity];
      assert(e !== undefined, 'EventLog hole');
      if (f(e) === false) return;
    }
  }

  /** forEachNewest visits events newest first; stop early by returning false. */
  forEachNewest(f: (e: TaskEvent) => boolean | void): void {
    for (let i = this.count - 1; i >= 0; i--) {
      const e = this.ring[(this.start + i) % this.capacity];
      assert(e !== undefined, 'EventLog hole');
      if (f(e) === false) return;
    }
  }

  toArray(): TaskEvent[] {
    const out: TaskEvent[] = [];
    this.forEach((e) => {
      out.push(e);
    });
    return out;
  }
}
