// WhyPendingStore keeps the scheduler's last verdict per pending task ("0/12477 machines feasible: ...") and the
// master's own rejections, so GetTask can say why a task waits. It is soft state on the replica that received
// the plans (the leader), like usage samples: verdicts are recomputed every pass, so they are not worth a Paxos
// round. Bounded by PENDING_QUEUE_MAX; the oldest verdict is dropped first.
import { PENDING_QUEUE_MAX } from '../../cells/limits';
import { assert } from '../../model/assert';

export class WhyPendingStore {
  private verdicts = new Map<string, string>();

  constructor(readonly capacity: number = PENDING_QUEUE_MAX) {
    assert(Number.isInteger(capacity) && capacity > 0, 'WhyPendingStore capacity must be positive');
  }

  get size(): number {
    return this.verdicts.size;
  }

  set(taskId: string, why: string): void {
    // Re-inserting moves the verdict to the young end, so a task the scheduler still reports is kept longest.
    this.verdicts.delete(taskId);
    this.verdicts.set(taskId, why);
    while (this.verdicts.size > this.capacity) {
      const oldest = this.verdicts.keys().next();
      assert(oldest.done !== true, 'non-empty store has an oldest entry');
      this.verdicts.delete(oldest.value);
    }
  }

  get(taskId: string): string | undefined {
    return this.verdicts.get(taskId);
  }

  delete(taskId: string): void {
    this.verdicts.delete(taskId);
  }
}
