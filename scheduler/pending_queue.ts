// The pending queue (B15 §3.2): tasks are scheduled from high to low priority, and round-robin across users
// within a priority, so one user's huge job cannot starve the others at its priority. Bounded by
// PENDING_QUEUE_MAX; adding a task that is already queued replaces it (the watch stream and the scheduler's own
// evictions may both report the same task).
import { QuotaExceeded } from '../model/errors';
import { PENDING_QUEUE_MAX } from '../cells/limits';
import { validateTask } from './task_class';
import type { SchedTask } from './types';

export class PendingQueue {
  private readonly byId = new Map<number, SchedTask>();
  /** levels: priority -> user -> tasks in arrival order (may hold stale entries, dropped on ordering). */
  private readonly levels = new Map<number, Map<number, SchedTask[]>>();
  private rotation = 0;

  constructor(readonly capacity = PENDING_QUEUE_MAX) {}

  get size(): number {
    return this.byId.size;
  }

  has(taskId: number): boolean {
    return this.byId.has(taskId);
  }

  get(taskId: number): SchedTask | undefined {
    return this.byId.get(taskId);
  }

  /** add queues a task (validated); a full queue refuses with QuotaExceeded rather than growing without bound. */
  add(task: SchedTask): void {
    validateTask(task);
    const old = this.byId.get(task.id);
    if (old === undefined && this.byId.size >= this.capacity) throw new QuotaExceeded(`pending queue is full (${this.capacity} tasks)`);
    this.byId.set(task.id, task);
    if (old === task) return;
    let users = this.levels.get(task.priority);
    if (users === undefined) {
      users = new Map();
      this.levels.set(task.priority, users);
    }
    let list = users.get(task.user);
    if (list === undefined) {
      list = [];
      users.set(task.user, list);
    }
    list.push(task);
  }

  /** remove drops a task (placed, killed); unknown ids are ignored. */
  remove(taskId: number): boolean {
    return this.byId.delete(taskId);
  }

  /**
   * ordered returns the queue in scheduling order: priorities high to low; within a priority, users take turns
   * one task at a time, starting from a user that rotates every call so no user is always first.
   */
  ordered(): SchedTask[] {
    const out: SchedTask[] = [];
    const prios = [...this.levels.keys()].sort((a, b) => b - a);
    const rot = this.rotation++;
    for (const p of prios) {
      const users = this.levels.get(p) as Map<number, SchedTask[]>;
      const lists: SchedTask[][] = [];
      for (const [u, list] of users) {
        // Compact: keep entries that are still the queued object for their id.
        let w = 0;
        for (const t of list) if (this.byId.get(t.id) === t) list[w++] = t;
        list.length = w;
        if (w === 0) users.delete(u);
        else lists.push(list);
      }
      if (lists.length === 0) {
        this.levels.delete(p);
        continue;
      }
      // Round-robin: each turn takes the next task of every user that still has one; users that run out leave
      // the rotation, so the work is linear in the number of tasks.
      const start = rot % lists.length;
      const active = [...lists.slice(start), ...lists.slice(0, start)];
      for (let round = 0; active.length > 0; round++) {
        let w = 0;
        for (const l of active) {
          const t = l[round];
          if (t === undefined) continue;
          out.push(t);
          if (round + 1 < l.length) active[w++] = l;
        }
        active.length = w;
      }
    }
    return out;
  }
}
