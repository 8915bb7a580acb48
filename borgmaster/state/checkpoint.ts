// Checkpoints of the whole cell state (B15 §3.1): snapshot() encodes a CellState as one Checkpoint message and
// restore() rebuilds it. Tasks refer to their job and machine by position, so the encoding stays small and fast
// for 100,000-task cells. Derived numbers (counts, allocations, usage, version refs) are recomputed on restore
// and then every invariant is checked, so a checkpoint that does not describe a consistent cell is refused.
// The order of a machine's task set is not part of the state (every consumer of it is order-insensitive).
import { assert, AssertionError } from '../../model/assert';
import { BorgError } from '../../model/errors';
import { validateResources } from '../../model/resources';
import { TASK_PORT_BASE } from '../../cells/limits';
import { Checkpoint, CheckpointTask, type CheckpointEvent, type CheckpointEvents, type JobSpec } from '../../proto/index';
import { CellState } from './cell_state';
import { NO_PORTS, effectiveTaskSpec, limitOf, newSpecVersion, type JobRec, type MachineRec, type SpecVersion, type TaskRec } from './records';
import { addUsage, bandKey, jobDemand as jobDemandOf, zeroUsage } from './quota';
import { charge } from './placement';
import { bandOf, isProd } from '../../model/priority';
import { TaskState } from '../../proto/index';
import { machineView } from './views';

/** CHECKPOINT_FORMAT 2 packs the event history (CheckpointEvents); restore also reads format 1 (one message per event). */
export const CHECKPOINT_FORMAT = 2;
const CHECKPOINT_FORMATS_READ = [1, 2];

/** packEvents writes the event history column by column with its strings interned (format 2). */
export function packEvents(events: readonly CheckpointEvent[]): CheckpointEvents {
  const index = new Map<string, number>([['', 0]]);
  const strings: string[] = [''];
  const intern = (x: string): number => {
    let i = index.get(x);
    if (i === undefined) {
      i = strings.length;
      strings.push(x);
      index.set(x, i);
    }
    return i;
  };
  const n = events.length;
  const out: CheckpointEvents = { strings, timeMsDelta: new Array<number>(n), logIndexDelta: new Array<number>(n), taskId: new Array<number>(n), type: new Array<number>(n), machine: new Array<number>(n), user: new Array<number>(n), job: new Array<number>(n), priority: new Array<number>(n), message: new Array<number>(n) };
  let time = 0;
  let log = 0;
  for (let i = 0; i < n; i++) {
    const e = events[i] as CheckpointEvent;
    out.timeMsDelta[i] = e.timeMs - time;
    out.logIndexDelta[i] = e.logIndex - log;
    time = e.timeMs;
    log = e.logIndex;
    out.taskId[i] = intern(e.taskId);
    out.type[i] = e.type;
    out.machine[i] = intern(e.machine);
    out.user[i] = intern(e.user);
    out.job[i] = intern(e.job);
    out.priority[i] = e.priority;
    out.message[i] = intern(e.message);
  }
  return out;
}

/** unpackEvents reverses packEvents; CheckpointCorrupt when the columns disagree or point outside the table. */
export function unpackEvents(p: CheckpointEvents): CheckpointEvent[] {
  const n = p.timeMsDelta.length;
  check(
    [p.logIndexDelta, p.taskId, p.type, p.machine, p.user, p.job, p.priority, p.message].every((c) => c.length === n),
    'packed events: columns of different lengths',
  );
  const str = (i: number, what: string): string => {
    const v = p.strings[i];
    check(v !== undefined, `packed events: ${what} refers to string ${i} of ${p.strings.length}`);
    return v;
  };
  const out = new Array<CheckpointEvent>(n);
  let time = 0;
  let log = 0;
  for (let i = 0; i < n; i++) {
    time += p.timeMsDelta[i] as number;
    log += p.logIndexDelta[i] as number;
    out[i] = {
      timeMs: time,
      logIndex: log,
      taskId: str(p.taskId[i] as number, 'task_id'),
      type: p.type[i] as number,
      machine: str(p.machine[i] as number, 'machine'),
      user: str(p.user[i] as number, 'user'),
      job: str(p.job[i] as number, 'job'),
      priority: p.priority[i] as number,
      message: str(p.message[i] as number, 'message'),
    };
  }
  return out;
}

/** CheckpointCorrupt: the bytes do not decode to a consistent cell state. */
export class CheckpointCorrupt extends BorgError {
  override name = 'CheckpointCorrupt';
  constructor(problem: string, options?: { cause?: unknown }) {
    super('invalid_argument', `checkpoint: ${problem}`, options);
  }
}

/** snapshot encodes the whole state. */
export function snapshot(state: CellState): Uint8Array {
  const machineIndex = new Map<MachineRec, number>();
  const machines = [...state.machines.values()].map((m, i) => {
    machineIndex.set(m, i);
    return machineView(m);
  });
  const jobs: Checkpoint['jobs'] = [];
  const tasks: CheckpointTask[] = [];
  let j = 0;
  for (const job of state.jobs.values()) {
    const older = [...job.specs.values()].filter((v) => v !== job.current).map((v) => ({ version: v.version, spec: v.spec }));
    jobs.push({ spec: job.current.spec, specVersion: job.current.version, createdMs: job.createdMs, olderSpecs: older, rolloutCursor: job.rolloutCursor });
    for (const t of job.tasks) {
      tasks.push({
        job: j,
        index: t.index,
        state: t.state,
        lastEvent: t.lastEvent,
        machine: t.machine === undefined ? -1 : (machineIndex.get(t.machine) as number),
        specVersion: t.specVersion,
        reservation: t.reservation,
        ports: t.ports as number[],
        restarts: t.restarts,
        machineRestarts: t.machineRestarts,
        failures: t.failures,
        startTimeMs: t.startTimeMs,
        stateTimeMs: t.stateTimeMs,
        notBeforeMs: t.notBeforeMs,
        exitCode: t.exitCode,
        message: t.message,
        updateDown: t.updateDown,
        healthy: t.healthy,
        healthTimeMs: t.healthTimeMs,
      });
    }
    j++;
  }
  const requests = [...state.requests.all()].map(([key, r]) => ({ key, fingerprint: r.fingerprint, result: r.result }));
  const packedEvents = packEvents(state.events.toArray());
  return Checkpoint.encode({
    format: CHECKPOINT_FORMAT,
    cell: state.cell,
    appliedIndex: state.appliedIndex,
    timeMs: state.timeMs,
    machines,
    jobs,
    tasks,
    quotas: [...state.quotas.values()].map((q) => ({ user: q.user, band: q.band, cell: state.cell, limit: q.limit, used: undefined })),
    requests,
    events: [],
    packedEvents,
  }).finish();
}

function check(cond: unknown, problem: string): asserts cond {
  if (!cond) throw new CheckpointCorrupt(problem);
}

/** restore rebuilds a state from snapshot() bytes; CheckpointCorrupt when they are not a consistent cell. */
export function restore(bytes: Uint8Array, options: { eventCapacity?: number; requestCapacity?: number; requestTaskIds?: number } = {}): CellState {
  let cp: Checkpoint;
  try {
    cp = Checkpoint.decode(bytes);
  } catch (e: unknown) {
    throw new CheckpointCorrupt(`does not decode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  check(CHECKPOINT_FORMATS_READ.includes(cp.format), `format ${cp.format}, expected one of ${CHECKPOINT_FORMATS_READ.join(', ')}`);
  check(cp.format === 1 ? cp.packedEvents === undefined : cp.events.length === 0, `format ${cp.format} with events in the other format's field`);
  let state: CellState;
  try {
    state = new CellState(cp.cell, options);
  } catch (e: unknown) {
    throw new CheckpointCorrupt(`cell name ${JSON.stringify(cp.cell)}`, { cause: e });
  }
  try {
    const machines: MachineRec[] = cp.machines.map((m) => {
      check(!state.machines.has(m.name), `machine ${m.name} twice`);
      const rec: MachineRec = {
        name: m.name,
        address: m.address,
        capacity: validateResources(m.capacity, `machines.${m.name}.capacity`),
        attributes: m.attributes,
        rack: m.rack,
        powerDomain: m.powerDomain,
        state: m.state,
        generation: m.generation,
        tasks: new Set(),
        allocatedLimit: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        allocatedReservation: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        prodLimit: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 },
        usedPorts: new Set(),
        portBase: m.portBase || TASK_PORT_BASE,
      };
      state.machines.set(m.name, rec);
      return rec;
    });
    const jobs: JobRec[] = cp.jobs.map((cj) => {
      const spec = cj.spec as JobSpec;
      check(spec !== undefined && spec.task !== undefined, 'job without spec');
      const current = newSpecVersion(cj.specVersion, spec);
      const specs = new Map<number, SpecVersion>([[current.version, current]]);
      for (const o of cj.olderSpecs) {
        check(o.spec !== undefined && o.spec.task !== undefined && !specs.has(o.version), 'bad older spec');
        specs.set(o.version, newSpecVersion(o.version, o.spec));
      }
      const id = `${state.cell}/${spec.user}/${spec.name}`;
      check(!state.jobs.has(id), `job ${id} twice`);
      const job: JobRec = {
        id,
        user: spec.user,
        name: spec.name,
        current,
        specs,
        createdMs: cj.createdMs,
        tasks: [],
        rolloutCursor: cj.rolloutCursor,
        downCount: 0,
        pending: 0,
        running: 0,
        healthy: 0,
        dead: 0,
      };
      state.jobs.set(id, job);
      const key = bandKey(job.user, bandOf(spec.priority));
      state.usage.set(key, addUsage(state.usage.get(key) ?? zeroUsage(), jobDemandOf(spec)));
      return job;
    });
    for (const ct of cp.tasks) {
      const job = jobs[ct.job];
      check(job !== undefined, `task refers to job ${ct.job}`);
      check(ct.index === job.tasks.length, `task ${job.id}/${ct.index} out of order`);
      const v = job.specs.get(ct.specVersion);
      check(v !== undefined, `task ${job.id}/${ct.index} at unknown version ${ct.specVersion}`);
      v.refs++;
      const machine = ct.machine >= 0 ? machines[ct.machine] : undefined;
      check(ct.machine < 0 || machine !== undefined, `task ${job.id}/${ct.index} on unknown machine ${ct.machine}`);
      const task: TaskRec = {
        job,
        index: ct.index,
        id: `${job.id}/${ct.index}`,
        state: ct.state,
        lastEvent: ct.lastEvent,
        machine,
        specVersion: ct.specVersion,
        spec: effectiveTaskSpec(v, ct.index),
        reservation: ct.reservation,
        ports: ct.ports.length === 0 ? NO_PORTS : ct.ports,
        restarts: ct.restarts,
        machineRestarts: ct.machineRestarts,
        failures: ct.failures,
        startTimeMs: ct.startTimeMs,
        stateTimeMs: ct.stateTimeMs,
        notBeforeMs: ct.notBeforeMs,
        exitCode: ct.exitCode,
        message: ct.message,
        updateDown: ct.updateDown,
        healthy: ct.healthy,
        healthTimeMs: ct.healthTimeMs,
      };
      check(!task.healthy || task.state === TaskState.RUNNING, `task ${task.id} is healthy but not running`);
      job.tasks.push(task);
      if (task.state === TaskState.PENDING) job.pending++;
      else if (task.state === TaskState.RUNNING) job.running++;
      if (task.healthy) job.healthy++;
      else if (task.state === TaskState.DEAD) job.dead++;
      if (task.updateDown) job.downCount++;
      if (machine !== undefined) {
        machine.tasks.add(task);
        for (const p of task.ports) machine.usedPorts.add(p);
        charge(machine, limitOf(task), task.reservation ?? limitOf(task), 1, isProd(job.current.spec.priority));
      }
    }
    for (const q of cp.quotas) state.quotas.set(bandKey(q.user, q.band), { user: q.user, band: q.band, limit: validateResources(q.limit, 'quota.limit') });
    for (const r of cp.requests) {
      check(r.result !== undefined, `request ${r.key} without result`);
      state.requests.put(r.key, { fingerprint: r.fingerprint, result: r.result });
    }
    for (const e of cp.format === 1 ? cp.events : cp.packedEvents === undefined ? [] : unpackEvents(cp.packedEvents)) state.events.push(e);
    state.restoredAt(cp.appliedIndex, cp.timeMs, cp.tasks.length);
    state.checkInvariants();
  } catch (e: unknown) {
    if (e instanceof CheckpointCorrupt) throw e;
    // The bytes came from outside this process: anything that breaks while rebuilding means they are bad.
    if (e instanceof AssertionError || e instanceof BorgError || e instanceof Error) throw new CheckpointCorrupt(e.message, { cause: e });
    throw e;
  }
  assert(state.appliedIndex === cp.appliedIndex, 'restored index');
  return state;
}

