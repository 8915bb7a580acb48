// How a job's state reads for people and scripts: one word from its task counts, and the counts by state name,
// so `borg jobs --json | grep -i running` finds exactly the jobs with running tasks.
import { formatJobId } from '../../model/ids';
import type { Job } from '../../proto/index';

export type JobStateName = 'RUNNING' | 'PARTLY RUNNING' | 'PENDING' | 'DEAD' | 'EMPTY';

/** jobState: RUNNING when every task runs, PARTLY RUNNING when some do, else PENDING, DEAD or EMPTY. */
export function jobState(j: Pick<Job, 'running' | 'pending' | 'dead'> & { taskCount: number }): JobStateName {
  if (j.taskCount === 0) return 'EMPTY';
  if (j.running > 0) return j.running >= j.taskCount ? 'RUNNING' : 'PARTLY RUNNING';
  if (j.pending > 0) return 'PENDING';
  return 'DEAD';
}

/** rolloutText: '-' when every task is at the job's version and none the update restarted is still coming up;
 * else how many tasks are at the version and how many restarted ones the update waits on to run healthy. */
export function rolloutText(j: Pick<Job, 'specVersion' | 'atVersion' | 'rolloutDown'> & { taskCount: number }): string {
  if (j.atVersion >= j.taskCount && j.rolloutDown === 0) return '-';
  return `${j.atVersion}/${j.taskCount} at v${j.specVersion}${j.rolloutDown > 0 ? `, waiting on ${j.rolloutDown} to run healthy` : ''}`;
}

/** jobCounts names only the states that have tasks, so a job with none running never mentions RUNNING. */
export function jobCounts(j: Pick<Job, 'running' | 'pending' | 'dead'>): Record<string, number> {
  const c: Record<string, number> = {};
  if (j.running > 0) c.RUNNING = j.running;
  if (j.pending > 0) c.PENDING = j.pending;
  if (j.dead > 0) c.DEAD = j.dead;
  return c;
}

/** jobJson is one job in `borg jobs --json`: identity, size, state and counts (no spec: see `borg tasks`). */
export function jobJson(j: Job): Record<string, unknown> {
  const s = j.spec;
  const taskCount = s?.taskCount ?? 0;
  return {
    id: formatJobId({ cell: s?.cell ?? '', user: s?.user ?? '', job: s?.name ?? '' }),
    user: s?.user ?? '',
    name: s?.name ?? '',
    priority: s?.priority ?? 0,
    tasks: taskCount,
    state: jobState({ ...j, taskCount }),
    counts: jobCounts(j),
    healthy: j.healthy,
    specVersion: j.specVersion,
    atVersion: j.atVersion,
    rolloutDown: j.rolloutDown,
    createdMs: j.createdMs,
  };
}
