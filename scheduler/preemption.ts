// Victim selection (B15 §2.5, §3.2): when a machine fits a task only after evictions, choose the victims among
// the tasks the candidate may preempt (model canPreempt: lower priority, and prod never preempts prod), lowest
// priority first and, within a priority, largest first; then drop any victim the others already cover, highest
// priority first, so the set is small and as low in priority as possible. Victims go back to pending.
import { canPreempt } from '../model/priority';
import { MAX_TASKS_PER_MACHINE, MAX_VICTIMS_PER_ASSIGNMENT } from '../cells/limits';
import { DIMS, type CellSnapshot } from './snapshot';
import type { TaskClass } from './task_class';

export const REASON_TOO_MANY_VICTIMS = 'preemption needs too many victims';
export const CODE_TOO_MANY_VICTIMS = 11;

/** VictimFinder owns its scratch buffers, so a search allocates nothing. One per scheduler. */
export class VictimFinder {
  /** victims[0..count) are task slots after a successful find. */
  readonly victims = new Int32Array(MAX_VICTIMS_PER_ASSIGNMENT);
  count = 0;
  /** prioritySum of the chosen victims (the preemption-cost scorer weighs it). */
  prioritySum = 0;
  private readonly order = new Int32Array(MAX_TASKS_PER_MACHINE);
  private readonly weight = new Float64Array(MAX_TASKS_PER_MACHINE);
  private readonly deficit = new Float64Array(DIMS);
  private readonly chosen = new Int32Array(MAX_TASKS_PER_MACHINE);

  /**
   * find selects victims on slot m for class c. Returns the victim count (0 when the task fits as is), or -1 when
   * evicting everything allowed would not make room or more than MAX_VICTIMS_PER_ASSIGNMENT would be needed.
   */
  find(snap: CellSnapshot, c: TaskClass, m: number): number {
    const b = m * DIMS;
    const def = this.deficit;
    def[0] = c.needCpu - ((snap.cap[b] as number) - (snap.resAll[b] as number));
    def[1] = c.needRam - ((snap.cap[b + 1] as number) - (snap.resAll[b + 1] as number));
    def[2] = c.needDisk - ((snap.cap[b + 2] as number) - (snap.resAll[b + 2] as number));
    def[3] = c.needPorts - ((snap.cap[b + 3] as number) - (snap.resAll[b + 3] as number));
    this.count = 0;
    this.prioritySum = 0;
    if (covered(def)) return 0;

    const tasks = snap.machineTasks[m] as number[];
    const tRes = snap.tRes;
    const single = this.singleVictim(snap, c, tasks);
    if (single >= 0) {
      this.victims[0] = single;
      this.count = 1;
      this.prioritySum = snap.tPriority[single] as number;
      return 1;
    }
    // Candidates: preemptible tasks, weighted by how much of the deficit each covers.
    let n = 0;
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i] as number;
      if (!canPreempt(c.priority, snap.tPriority[t] as number)) continue;
      let w = 0;
      const tb = t * DIMS;
      for (let d = 0; d < DIMS; d++) {
        const need = def[d] as number;
        if (need > 0) w += Math.min(1, (tRes[tb + d] as number) / need);
      }
      this.order[n] = t;
      this.weight[n] = w;
      n++;
    }
    // Insertion sort by (priority ascending, weight descending, slot ascending): machines hold few tasks, and a
    // total order keeps the choice deterministic.
    for (let i = 1; i < n; i++) {
      const t = this.order[i] as number;
      const w = this.weight[i] as number;
      const p = snap.tPriority[t] as number;
      let j = i - 1;
      while (j >= 0) {
        const u = this.order[j] as number;
        const q = snap.tPriority[u] as number;
        const wu = this.weight[j] as number;
        if (q < p || (q === p && (wu > w || (wu === w && u < t)))) break;
        this.order[j + 1] = u;
        this.weight[j + 1] = wu;
        j--;
      }
      this.order[j + 1] = t;
      this.weight[j + 1] = w;
    }
    // Greedy: take in order until the deficit is covered.
    let k = 0;
    for (let i = 0; i < n && !covered(def); i++) {
      const t = this.order[i] as number;
      const tb = t * DIMS;
      for (let d = 0; d < DIMS; d++) def[d] = (def[d] as number) - (tRes[tb + d] as number);
      this.chosen[k++] = t;
    }
    if (!covered(def)) return -1;
    // Prune: from the highest-priority victim down, drop any whose resources the others already cover.
    for (let i = k - 1; i >= 0; i--) {
      const t = this.chosen[i] as number;
      const tb = t * DIMS;
      let ok = true;
      for (let d = 0; d < DIMS; d++) if ((def[d] as number) + (tRes[tb + d] as number) > 0) ok = false;
      if (!ok) continue;
      for (let d = 0; d < DIMS; d++) def[d] = (def[d] as number) + (tRes[tb + d] as number);
      this.chosen[i] = -1;
    }
    let count = 0;
    let prioritySum = 0;
    for (let i = 0; i < k; i++) {
      const t = this.chosen[i] as number;
      if (t < 0) continue;
      if (count === MAX_VICTIMS_PER_ASSIGNMENT) return -1;
      this.victims[count++] = t;
      prioritySum += snap.tPriority[t] as number;
    }
    this.count = count;
    this.prioritySum = prioritySum;
    return count;
  }

  /**
   * singleVictim is the common case of find, without weights or sorting: when a task of the lowest preemptible
   * priority covers the whole deficit alone, the greedy order puts such a task first (each of its weight terms is
   * 1, the most there is), the lowest slot among them, and it is the only victim. Returns that task slot, or -1
   * when no task at that priority covers the deficit alone (find then runs in full).
   */
  private singleVictim(snap: CellSnapshot, c: TaskClass, tasks: readonly number[]): number {
    const def = this.deficit;
    const d0 = def[0] as number;
    const d1 = def[1] as number;
    const d2 = def[2] as number;
    const d3 = def[3] as number;
    const tRes = snap.tRes;
    const tPriority = snap.tPriority;
    let low = Infinity;
    let best = -1;
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i] as number;
      const p = tPriority[t] as number;
      if (p > low || !canPreempt(c.priority, p)) continue;
      if (p < low) {
        low = p;
        best = -1;
      }
      const tb = t * DIMS;
      if ((tRes[tb] as number) >= d0 && (tRes[tb + 1] as number) >= d1 && (tRes[tb + 2] as number) >= d2 && (tRes[tb + 3] as number) >= d3 && (best < 0 || t < best)) best = t;
    }
    return best;
  }
}

function covered(def: Float64Array): boolean {
  return (def[0] as number) <= 0 && (def[1] as number) <= 0 && (def[2] as number) <= 0 && (def[3] as number) <= 0;
}
