// What a candidate is charged on a machine (DESIGN.md §6, B15 §5.5). A prod candidate is charged the *limits* of
// the tasks it cannot preempt (all prod tasks), so prod never runs in reclaimed resources; a non-prod candidate is
// charged the *reservations* of the tasks it cannot preempt (everything at or above its priority, and all prod),
// so non-prod work fills what reclamation freed. Everything it may preempt counts as available (B15 §3.2).
import { FREE_MAX, isProd } from '../model/priority';
import { DIMS, type CellSnapshot } from './snapshot';
import type { TaskClass } from './task_class';

/**
 * fitsFree: the candidate fits beside every task already there, evicting nobody. For prod this also keeps the
 * sum of prod limits within capacity; for everyone the sum of reservations.
 */
export function fitsFree(snap: CellSnapshot, c: TaskClass, m: number): boolean {
  const b = m * DIMS;
  const cap = snap.cap;
  const res = snap.resAll;
  if (
    c.needCpu > (cap[b] as number) - (res[b] as number) ||
    c.needRam > (cap[b + 1] as number) - (res[b + 1] as number) ||
    c.needDisk > (cap[b + 2] as number) - (res[b + 2] as number) ||
    c.needPorts > (cap[b + 3] as number) - (res[b + 3] as number)
  ) {
    return false;
  }
  if (!c.prod) return true;
  const pl = snap.prodLimit;
  return (
    c.needCpu <= (cap[b] as number) - (pl[b] as number) &&
    c.needRam <= (cap[b + 1] as number) - (pl[b + 1] as number) &&
    c.needDisk <= (cap[b + 2] as number) - (pl[b + 2] as number) &&
    c.needPorts <= (cap[b + 3] as number) - (pl[b + 3] as number)
  );
}

/**
 * availableWithPreemption writes into out[0..3] what the candidate could use on the machine after evicting every
 * task it may preempt. For prod that is capacity minus prod limits (prod evicts all non-prod, never prod; prod
 * reservations are at most their limits, so the reservation sum fits too). For non-prod it is capacity minus
 * reservations, plus the reservations of lower-priority non-prod tasks.
 */
export function availableWithPreemption(snap: CellSnapshot, c: TaskClass, m: number, out: Float64Array): void {
  const b = m * DIMS;
  const cap = snap.cap;
  if (c.prod) {
    const pl = snap.prodLimit;
    for (let d = 0; d < DIMS; d++) out[d] = (cap[b + d] as number) - (pl[b + d] as number);
    return;
  }
  const res = snap.resAll;
  for (let d = 0; d < DIMS; d++) out[d] = (cap[b + d] as number) - (res[b + d] as number);
  // Nothing to evict when the lowest non-prod priority here is not below ours: skip the walk (the common case on
  // a full cell, where a free-tier class checks every machine).
  if ((snap.minNonProdPriority[m] as number) >= c.priority) return;
  // Even evicting every non-prod task (capacity minus prod reservations) would not make room: report that bound,
  // which is short in at least one dimension, and skip the walk. (The dimension named is then one the task is
  // short in, not necessarily the first.)
  const pr = snap.prodRes;
  if (
    c.needCpu > (cap[b] as number) - (pr[b] as number) ||
    c.needRam > (cap[b + 1] as number) - (pr[b + 1] as number) ||
    c.needDisk > (cap[b + 2] as number) - (pr[b + 2] as number) ||
    c.needPorts > (cap[b + 3] as number) - (pr[b + 3] as number)
  ) {
    for (let d = 0; d < DIMS; d++) out[d] = (cap[b + d] as number) - (pr[b + d] as number);
    return;
  }
  if (c.priority > FREE_MAX && (snap.minBatchPriority[m] as number) >= c.priority) {
    // Only free-band tasks are below us, and all of them are: their sum is kept per machine.
    const fb = snap.freeBandRes;
    for (let d = 0; d < DIMS; d++) out[d] = (out[d] as number) + (fb[b + d] as number);
    return;
  }
  const tasks = snap.machineTasks[m] as number[];
  const tRes = snap.tRes;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i] as number;
    const p = snap.tPriority[t] as number;
    if (p >= c.priority || isProd(p)) continue;
    const tb = t * DIMS;
    out[0] = (out[0] as number) + (tRes[tb] as number);
    out[1] = (out[1] as number) + (tRes[tb + 1] as number);
    out[2] = (out[2] as number) + (tRes[tb + 2] as number);
    out[3] = (out[3] as number) + (tRes[tb + 3] as number);
  }
}
