// Turns a trace or JSONL workload (benchmarks/workloads) into the Borgmaster commands that build that cell: one
// RegisterMachine per machine, one CreateJob per job, SetQuota so admission lets the workload in. The Fauxmaster
// applies them to the real state machine, so a replayed cell is built the way a live one is.
import { createHash } from 'node:crypto';
import { assert } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { NAME_PATTERN } from '../../model/ids';
import { bandOf } from '../../model/priority';
import { add, ZERO, type Resources } from '../../model/resources';
import { bodies, jobDemand, jobSpec, machine, taskSpec } from '../../borgmaster/state/index';
import { Constraint_Op, MachineState, PriorityBand, type Command, type JobSpec, type TaskOverride } from '../../proto/index';
import type { WorkloadConstraintOp, WorkloadMachine, WorkloadTask } from '../../benchmarks/workloads/types';
import { MAX_OVERRIDES_PER_JOB, MAX_TASKS_PER_JOB } from '../../cells/limits';

type Body = NonNullable<Command['body']>;

/** cellName: a name the state machine accepts (lower-case letter, then a-z 0-9 _ -); others are hex-encoded, injectively. */
export function cellName(s: string, prefix: string): string {
  if (NAME_PATTERN.test(s)) return s;
  const hex = Buffer.from(s, 'utf8').toString('hex');
  const named = `${prefix}${hex}`;
  // Names longer than the limit keep a hash: still deterministic, collisions astronomically unlikely.
  return named.length <= 63 ? named : `${prefix}${createHash('sha256').update(s).digest('hex').slice(0, 40)}`;
}

function op(o: WorkloadConstraintOp): Constraint_Op {
  switch (o) {
    case '=':
      return Constraint_Op.EQ;
    case '!=':
      return Constraint_Op.NE;
    case 'in':
      return Constraint_Op.IN;
    case 'exists':
      return Constraint_Op.EXISTS;
    case '!exists':
      return Constraint_Op.NOT_EXISTS;
  }
}

/** TaskRef: where a workload task lives in the cell (its job and its index there). */
export interface TaskRef {
  user: string;
  job: string;
  index: number;
}

/** workloadKey names a workload task the way the trace does: user/job/index (trace index, not the cell's). */
export function workloadKey(t: { user: string; job: string; index: number }): string {
  return `${t.user}/${t.job}/${t.index}`;
}

/** CellJobs: the CreateJob bodies for a set of workload tasks, and where each task landed. */
export interface CellJobs {
  bodies: Body[];
  specs: JobSpec[];
  /** refs: workloadKey -> the task's job and index in the cell. */
  refs: Map<string, TaskRef>;
}

/**
 * jobsFor groups workload tasks into jobs (same user, job, priority, spread and constraints: a job has one
 * priority), dense task indexes in trace-index order, the most common request as the template and the others as
 * per-task overrides. `suffix` makes the names of later submissions of an existing job distinct.
 */
export function jobsFor(cell: string, tasks: readonly WorkloadTask[], suffix = ''): CellJobs {
  const groups = new Map<string, WorkloadTask[]>();
  const variantsOf = new Map<string, Set<string>>();
  for (const t of tasks) {
    const shape = `${t.priority}|${JSON.stringify(t.spread)}|${JSON.stringify(t.constraints)}`;
    const key = `${t.user}\u0000${t.job}\u0000${shape}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [t]);
    else g.push(t);
    const vk = `${t.user}\u0000${t.job}`;
    const v = variantsOf.get(vk) ?? new Set<string>();
    v.add(shape);
    variantsOf.set(vk, v);
  }
  const out: CellJobs = { bodies: [], specs: [], refs: new Map() };
  const used = new Set<string>();
  for (const g of groups.values()) {
    g.sort((a, b) => a.index - b.index);
    const first = g[0] as WorkloadTask;
    const user = cellName(first.user, 'u');
    const several = (variantsOf.get(`${first.user}\u0000${first.job}`)?.size ?? 1) > 1;
    // Variants of one job are named by priority, then numbered when they share it (spread or constraints differ).
    let base = cellName(`${first.job}${several ? `-p${first.priority}` : ''}${suffix}`, 'j');
    for (let k = 2; used.has(`${user}/${base}`); k++) base = cellName(`${first.job}-p${first.priority}-${k}${suffix}`, 'j');
    used.add(`${user}/${base}`);
    // A trace job larger than a cell job is split into parts, in index order.
    for (let from = 0, part = 0; from < g.length; from += MAX_TASKS_PER_JOB, part++) {
      const slice = g.slice(from, from + MAX_TASKS_PER_JOB);
      const name = part === 0 ? base : cellName(`${base}-${part}`, 'j');
      const spec = jobSpecFor(cell, user, name, slice);
      out.specs.push(spec);
      out.bodies.push(bodies.createJob(spec));
      slice.forEach((t, i) => out.refs.set(workloadKey(t), { user, job: name, index: i }));
    }
  }
  return out;
}

function limitKey(r: Resources): string {
  return `${r.cpuMillis}/${r.ramBytes}/${r.diskBytes}/${r.ports}`;
}

function jobSpecFor(cell: string, user: string, name: string, tasks: readonly WorkloadTask[]): JobSpec {
  const first = tasks[0];
  assert(first !== undefined, 'a job has tasks');
  const counts = new Map<string, { n: number; r: Resources }>();
  for (const t of tasks) {
    const k = limitKey(t.limit);
    const c = counts.get(k);
    if (c === undefined) counts.set(k, { n: 1, r: t.limit });
    else c.n++;
  }
  let template = first.limit;
  let best = 0;
  for (const c of counts.values()) if (c.n > best) [best, template] = [c.n, c.r];
  const constraints = first.constraints.map((c) => ({ key: c.key, op: op(c.op), values: [...c.values] }));
  const task = (r: Resources) => taskSpec({ command: '/bin/true', args: [], requirements: { ...r }, constraints });
  const overrides: TaskOverride[] = [];
  const tk = limitKey(template);
  tasks.forEach((t, i) => {
    if (limitKey(t.limit) !== tk) overrides.push({ index: i, spec: task(t.limit) });
  });
  if (overrides.length > MAX_OVERRIDES_PER_JOB) throw new InvalidArgument('workload', `job ${first.user}/${first.job} has ${overrides.length} distinct per-task requests, more than the ${MAX_OVERRIDES_PER_JOB} overrides a job may carry`);
  return jobSpec({
    cell,
    user,
    name,
    priority: first.priority,
    taskCount: tasks.length,
    task: task(template),
    overrides,
    spread: { maxPerMachine: first.spread.maxPerMachine, maxPerRack: first.spread.maxPerRack, maxPerPowerDomain: first.spread.maxPerPowerDomain },
    annotations: { source: 'workload', 'workload-job': first.job.slice(0, 200) },
  });
}

/** machineBodies registers every workload machine UP. */
export function machineBodies(machines: readonly WorkloadMachine[]): Body[] {
  return machines.map((m) =>
    bodies.registerMachine(machine(m.name, m.capacity, { attributes: { ...m.attributes }, rack: m.rack, powerDomain: m.powerDomain, state: MachineState.UP })),
  );
}

/**
 * quotaBodies grants each user, in each priority band that takes quota, exactly the demand of its jobs there
 * (the FREE band is unlimited). Prod quotas are admitted only while all of them fit the cell's capacity, as in
 * a live cell; a workload whose prod demand exceeds the cell is refused there, with the master's message.
 */
export function quotaBodies(specs: readonly JobSpec[]): Body[] {
  const demand = new Map<string, { user: string; band: PriorityBand; r: Resources }>();
  for (const s of specs) {
    const band = bandOf(s.priority);
    if (band === PriorityBand.FREE) continue;
    const key = `${s.user}/${band}`;
    const d = demand.get(key) ?? { user: s.user, band, r: ZERO };
    d.r = add(d.r, jobDemand(s));
    demand.set(key, d);
  }
  return [...demand.values()].map((d) => bodies.setQuota(d.user, d.band, d.r));
}
