// Scorer: failure-domain spreading of the job (B15 §3.2, §2.5 disruption budgets). Fewer tasks of the same job
// on the machine, in its rack and in its power domain is better, so one failure takes out a smaller share.
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';

/** domainSpreading returns a score in (0, 1]; 1 when the job has no task in any of the machine's domains. */
export function domainSpreading(snap: CellSnapshot, c: TaskClass, m: number, onMachine = snap.jobTasksOn(c.job, m)): number {
  const inRack = snap.jobTasksInRack(c.job, m);
  return 0.6 / (1 + onMachine) + 0.4 / (1 + inRack);
}
