// Draining moves a machine's tasks off it (DrainMachine marks it DRAINING; this empties it). The elected master
// evicts the tasks of DRAINING machines through the log, a few at a time: at most `maxTasks` per call (the caller
// paces calls with a token bucket at the cell's rescheduling rate), and never more of one job down at once than
// the job's update policy allows (max_tasks_down, as a rolling UpdateJob), counting the job's tasks that are
// already pending. An evicted task goes back to PENDING and the scheduler places it elsewhere (a DRAINING machine
// takes nothing new). Pure: the same state gives the same evictions, so the plan can be tested in tables.
import { EventType, MachineState, TaskState, type TaskTransition } from '../../proto/index';
import type { CellState, JobRec } from '../state/index';

export const DRAIN_EVICT_MESSAGE_PREFIX = 'machine is draining: ';

/** DrainProgress: what is left to move off the DRAINING machines. */
export interface DrainProgress {
  machines: number;
  tasksLeft: number;
}

/** maxDownOf is how many of a job's tasks may be down at once (UpdatePolicy.max_tasks_down; 0 means 1). */
export function maxDownOf(job: JobRec): number {
  return Math.max(1, job.current.spec.updatePolicy?.maxTasksDown ?? 1);
}

/**
 * planDrainEvictions lists up to maxTasks EVICT transitions for tasks running on DRAINING machines. A job gives up
 * a task only while its pending tasks plus those evicted by this plan stay below its max_tasks_down, so a job whose
 * evicted tasks have not found a new home yet waits (the drain slows down rather than take a service down).
 */
export function planDrainEvictions(state: CellState, maxTasks: number): TaskTransition[] {
  const out: TaskTransition[] = [];
  if (maxTasks <= 0) return out;
  const taken = new Map<JobRec, number>();
  for (const m of state.machines.values()) {
    if (m.state !== MachineState.DRAINING) continue;
    for (const t of m.tasks) {
      if (t.state !== TaskState.RUNNING) continue;
      const job = t.job;
      const already = taken.get(job) ?? 0;
      if (job.pending + already >= maxDownOf(job)) continue;
      taken.set(job, already + 1);
      out.push({ taskId: t.id, event: EventType.EVICT, machine: m.name, specVersion: t.specVersion, victimTaskIds: [], exitCode: 0, message: `${DRAIN_EVICT_MESSAGE_PREFIX}${m.name}`, restarts: 0 });
      if (out.length >= maxTasks) return out;
    }
  }
  return out;
}

/** drainProgress counts the DRAINING machines and the tasks still on them. */
export function drainProgress(state: CellState): DrainProgress {
  let machines = 0;
  let tasksLeft = 0;
  for (const m of state.machines.values()) {
    if (m.state !== MachineState.DRAINING) continue;
    machines++;
    tasksLeft += m.tasks.size;
  }
  return { machines, tasksLeft };
}
