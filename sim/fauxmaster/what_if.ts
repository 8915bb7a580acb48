// "What would this change evict?" (B15 §3.1): apply a job update, a drain or a loss of machines to a copy of the
// loaded cell, let the real scheduler react, and list every task whose placement the change cost: preempted to
// make room, moved off a drained or lost machine, or left pending. The loaded cell is never touched.
import { MAX_TRANSITIONS_PER_COMMAND } from '../../cells/limits';
import { bandOf } from '../../model/priority';
import { InvalidArgument, NotFound, QuotaExceeded } from '../../model/errors';
import { add, sub, ZERO } from '../../model/resources';
import { bandKey, bodies, jobDemand, type TaskRec } from '../../borgmaster/state/index';
import { EventType, MachineState, PriorityBand, TaskState, type JobSpec, type TaskTransition } from '../../proto/index';
import { planDrainEvictions, drainProgress } from '../../borgmaster/plan/index';
import { endTransition, type Fauxmaster, type ScheduleReport } from './fauxmaster';

/** DRAIN_ROUNDS_MAX bounds a what-if drain: rounds of evictions and scheduling. */
export const DRAIN_ROUNDS_MAX = 10_000;

export type Change = { kind: 'update'; spec: JobSpec } | { kind: 'drain'; machines: string[] } | { kind: 'lose'; machines: string[] };

/** TaskFate: one task the change affected; machine names before and after ('' = not running). */
export interface TaskFate {
  taskId: string;
  priority: number;
  before: string;
  after: string;
  /** why: the scheduler's verdict for a task left pending; for a preempted one, the task that took its place. */
  why: string;
}

export interface WhatIfResult {
  change: string;
  /** preempted: running tasks evicted by the scheduler to place others (B15 §2.5), wherever they are now. */
  preempted: TaskFate[];
  /** moved: tasks the change took off their machine (drain, loss) that the scheduler placed elsewhere. */
  moved: TaskFate[];
  /** pending: tasks running before (or new in the updated job) that stay pending, not counting preempted ones. */
  pending: TaskFate[];
  /** updated: tasks of the updated job that restarted on the new spec and run again. */
  updated: TaskFate[];
  schedule: ScheduleReport;
  notes: string[];
}

function describe(c: Change): string {
  switch (c.kind) {
    case 'update':
      return `update job ${c.spec.user}/${c.spec.name} (priority ${c.spec.priority}, ${c.spec.taskCount} tasks)`;
    case 'drain':
      return `drain ${c.machines.join(', ')}`;
    case 'lose':
      return `lose ${c.machines.join(', ')}`;
  }
}

/**
 * whatIf answers on a clone of `faux`: the change is applied with the commands a live cell would see (UpdateJob
 * or CreateJob; SetMachineState DRAINING and the evictions of its tasks; SetMachineState DOWN and the link
 * shard's LOST transitions), then the scheduler runs until it settles (rolling updates included). A drain runs
 * the master's drain plan round by round; tasks whose job may not lose another one stay (a note says so).
 */
export async function whatIf(faux: Fauxmaster, change: Change): Promise<WhatIfResult> {
  const f = faux.clone();
  const notes: string[] = [];
  const before = new Map<string, { machine: string; priority: number }>();
  for (const t of f.tasks()) if (t.state === TaskState.RUNNING) before.set(t.id, { machine: t.machine?.name ?? '', priority: t.job.current.spec.priority });
  let jobPrefix = '';
  const displaced = new Set<string>();
  const { value: schedule, events } = await f.record(async () => {
    switch (change.kind) {
      case 'update': {
        const spec = { ...change.spec, cell: f.state.cell };
        jobPrefix = `${f.state.cell}/${spec.user}/${spec.name}/`;
        grantQuota(f, spec, notes);
        const exists = f.state.getJob(spec.user, spec.name) !== undefined;
        f.mustApply(exists ? bodies.updateJob(spec) : bodies.createJob(spec));
        if (!exists) notes.push(`job ${spec.user}/${spec.name} did not exist: created`);
        break;
      }
      case 'drain':
      case 'lose': {
        const lost = change.kind === 'lose';
        const ends: TaskTransition[] = [];
        for (const name of change.machines) {
          const m = f.state.machines.get(name);
          if (m === undefined) throw new NotFound(`machine ${name}`);
          f.mustApply(bodies.setMachineState(name, lost ? MachineState.DOWN : MachineState.DRAINING, `what-if ${change.kind}`));
          for (const t of [...m.tasks].sort((a, b) => a.id.localeCompare(b.id))) {
            displaced.add(t.id);
            if (lost) ends.push(endTransition(t, EventType.LOST, `machine ${name} is DOWN`));
          }
        }
        if (lost) {
          const r = f.applyTransitions(ends);
          if (r.rejected.length > 0) throw new InvalidArgument('change', `the master refused ${r.rejected.length} transitions: ${r.rejected[0]?.reason ?? ''}`);
          break;
        }
        // A drain is the master's own (borgmaster/plan/drain.ts): evictions a few at a time within each job's
        // max_tasks_down, the scheduler placing them elsewhere in between, until the machines are empty or no job
        // may give up another task (its evicted tasks found no home).
        let schedule: ScheduleReport | undefined;
        for (let round = 0; round < DRAIN_ROUNDS_MAX; round++) {
          const evictions = planDrainEvictions(f.state, MAX_TRANSITIONS_PER_COMMAND);
          if (evictions.length === 0) break;
          f.applyTransitions(evictions);
          schedule = await f.schedule({ settle: true });
        }
        const left = drainProgress(f.state).tasksLeft;
        if (left > 0) {
          const stuck = [...f.tasks()].filter((t) => t.machine !== undefined && change.machines.includes(t.machine.name)).map((t) => t.id);
          for (const id of stuck) displaced.delete(id);
          notes.push(`${left} task(s) stay on the draining machines: their jobs already have max_tasks_down tasks pending (${stuck.slice(0, 10).join(', ')}${stuck.length > 10 ? ', ...' : ''})`);
        }
        if (schedule !== undefined) return schedule;
        break;
      }
    }
    return f.schedule({ settle: true });
  });
  // Preempted: evicted by a placement ("preempted by X"), not by the change itself.
  const preemptedBy = new Map<string, string>();
  for (const e of events) {
    if (e.type === EventType.EVICT && e.message.startsWith('preempted by ')) preemptedBy.set(e.taskId, e.message.slice('preempted by '.length));
  }
  const restarted = new Set(events.filter((e) => e.type === EventType.KILL).map((e) => e.taskId));
  const out: WhatIfResult = { change: describe(change), preempted: [], moved: [], pending: [], updated: [], schedule, notes };
  const fate = (t: TaskRec, why: string): TaskFate => ({ taskId: t.id, priority: t.job.current.spec.priority, before: before.get(t.id)?.machine ?? '', after: t.state === TaskState.RUNNING ? (t.machine?.name ?? '') : '', why });
  for (const t of f.tasks()) {
    const was = before.get(t.id);
    const now = t.state === TaskState.RUNNING ? (t.machine?.name ?? '') : '';
    const by = preemptedBy.get(t.id);
    const why = t.state === TaskState.PENDING ? (f.whyPendingOf(t.id) ?? '') : '';
    if (by !== undefined && was !== undefined) out.preempted.push(fate(t, now === '' ? `preempted by ${by}; pending: ${why}` : `preempted by ${by}`));
    else if (displaced.has(t.id)) (now === '' ? out.pending : out.moved).push(fate(t, why));
    else if (jobPrefix !== '' && t.id.startsWith(jobPrefix)) {
      if (t.state === TaskState.PENDING) out.pending.push(fate(t, why));
      else if (was !== undefined && now !== '' && restarted.has(t.id)) out.updated.push(fate(t, ''));
    } else if (was !== undefined && now === '') out.pending.push(fate(t, why));
  }
  // Tasks the change deleted (a job scaled down) ran before and are gone now.
  const alive = new Set<string>();
  for (const t of f.tasks()) alive.add(t.id);
  const removed = [...before.keys()].filter((id) => !alive.has(id));
  if (removed.length > 0) notes.push(`${removed.length} task(s) removed by the change (scale down): ${removed.slice(0, 10).join(', ')}${removed.length > 10 ? ', ...' : ''}`);
  for (const list of [out.preempted, out.moved, out.pending, out.updated]) list.sort((a, b) => a.taskId.localeCompare(b.taskId));
  return out;
}

/**
 * grantQuota: a what-if asks where the job would go, not whether its owner may have it, so when the user's quota
 * does not cover the new spec the copy's quota is raised to what it needs (and a note says so). A prod quota
 * still has to fit the cell: the master refuses one that does not, and that refusal is the answer.
 */
function grantQuota(f: Fauxmaster, spec: JobSpec, notes: string[]): void {
  const band = bandOf(spec.priority);
  if (band === PriorityBand.FREE) return;
  const old = f.state.getJob(spec.user, spec.name);
  const released = old !== undefined && bandOf(old.current.spec.priority) === band ? jobDemand(old.current.spec) : ZERO;
  const need = add(sub(f.state.quotaUsed(spec.user, band), released), jobDemand(spec));
  const have = f.state.quotas.get(bandKey(spec.user, band))?.limit;
  try {
    f.state.checkQuota(spec.user, spec.priority, jobDemand(spec), released);
    return;
  } catch (e: unknown) {
    if (!(e instanceof QuotaExceeded)) throw e;
  }
  const limit = have === undefined ? need : { cpuMillis: Math.max(have.cpuMillis, need.cpuMillis), ramBytes: Math.max(have.ramBytes, need.ramBytes), diskBytes: Math.max(have.diskBytes, need.diskBytes), ports: Math.max(have.ports, need.ports) };
  f.mustApply(bodies.setQuota(spec.user, band, limit));
  notes.push(`quota of ${spec.user} in band ${PriorityBand[band]} raised on the copy to cover the new spec`);
}
