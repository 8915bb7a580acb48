// Feasibility filter: per-job spread limits (at most k tasks of the job per machine, per rack, per power domain),
// so one failure domain going down takes only a bounded share of a job. Counts come from the snapshot: the
// machine's own task list, and the (job, rack) and (job, power domain) counters kept exact on every change.
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';

export const REASON_SPREAD_MACHINE = 'spread limit per machine';
export const REASON_SPREAD_RACK = 'spread limit per rack';
export const REASON_SPREAD_POWER = 'spread limit per power domain';
export const CODE_SPREAD_MACHINE = 7;
export const CODE_SPREAD_RACK = 8;
export const CODE_SPREAD_POWER = 9;

/**
 * spreadFilter returns 0 when one more task of the class's job stays within every limit on slot m. `onMachine`
 * (tasks of the job on m) may be passed by a caller that counted them already.
 */
export function spreadFilter(snap: CellSnapshot, c: TaskClass, m: number, onMachine = c.maxPerMachine > 0 ? snap.jobTasksOn(c.job, m) : 0): number {
  if (c.maxPerMachine > 0 && onMachine >= c.maxPerMachine) return CODE_SPREAD_MACHINE;
  if (c.maxPerRack > 0 && snap.jobTasksInRack(c.job, m) >= c.maxPerRack) return CODE_SPREAD_RACK;
  if (c.maxPerPower > 0 && snap.jobTasksInPowerDomain(c.job, m) >= c.maxPerPower) return CODE_SPREAD_POWER;
  return 0;
}
