// Builders for specs and commands with sensible defaults, for tests, benchmarks and tools that drive a CellState
// directly (the Fauxmaster, link-shard tests). Nothing here is a fake: the builders only fill in fields.
import { GiB, MiB, type Resources } from '../../model/resources';
import { assert } from '../../model/assert';
import { CellState } from './cell_state';
import { EventType, MachineState, PriorityBand, type Command, type JobSpec, type Machine, type TaskSpec, type TaskTransition } from '../../proto/index';

export type JobSpecInput = Partial<Omit<JobSpec, 'task'>> & { task?: Partial<TaskSpec> };

export function taskSpec(partial: Partial<TaskSpec> = {}): TaskSpec {
  return {
    command: '/bin/sleep',
    args: ['3600'],
    env: {},
    workingDir: '',
    requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 },
    constraints: [],
    healthCheck: undefined,
    restartPolicy: undefined,
    latencySensitive: false,
    killGraceMs: 0,
    ...partial,
  };
}

export function jobSpec(partial: JobSpecInput = {}): JobSpec {
  const { task, ...rest } = partial;
  return {
    name: 'web',
    user: 'alice',
    cell: 'test',
    priority: 200,
    taskCount: 1,
    overrides: [],
    updatePolicy: { maxTasksDown: 1 },
    spread: undefined,
    annotations: {},
    ...rest,
    task: taskSpec(task),
  };
}

export function machine(name: string, capacity: Partial<Resources> = {}, partial: Partial<Machine> = {}): Machine {
  return {
    name,
    address: '',
    capacity: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 100 * GiB, ports: 100, ...capacity },
    attributes: {},
    rack: 'rack-0',
    powerDomain: 'power-0',
    state: MachineState.MACHINE_STATE_UNSPECIFIED,
    generation: 0,
    allocatedLimit: undefined,
    allocatedReservation: undefined,
    usage: undefined,
    lastPollMs: 0,
    portBase: 0,
    ...partial,
  } as Machine;
}

type Body = NonNullable<Command['body']>;

export function command(body: Body, opts: { requestId?: string; caller?: string; timeMs?: number } = {}): Command {
  return { requestId: opts.requestId ?? '', caller: opts.caller ?? '', timeMs: opts.timeMs ?? 0, body };
}

export const bodies = {
  noop: (): Body => ({ $case: 'noop', value: {} }),
  createJob: (spec: JobSpec): Body => ({ $case: 'createJob', value: { spec } }),
  updateJob: (spec: JobSpec): Body => ({ $case: 'updateJob', value: { spec } }),
  killJob: (user: string, job: string): Body => ({ $case: 'killJob', value: { user, job } }),
  registerMachine: (m: Machine): Body => ({ $case: 'registerMachine', value: { machine: m } }),
  setMachineState: (name: string, state: MachineState, reason = ''): Body => ({ $case: 'setMachineState', value: { machine: name, state, reason } }),
  setQuota: (user: string, band: number, limit: Resources): Body => ({ $case: 'setQuota', value: { user, band, limit } }),
  transitions: (transitions: Partial<TaskTransition>[]): Body => ({
    $case: 'transitions',
    value: {
      transitions: transitions.map((t) => ({
        taskId: '',
        event: EventType.SCHEDULE,
        machine: '',
        specVersion: 0,
        victimTaskIds: [],
        exitCode: 0,
        message: '',
        restarts: 0,
        ...t,
      })),
    },
  }),
  reservations: (updates: { taskId: string; machine: string; reservation: Resources }[]): Body => ({ $case: 'reservations', value: { updates } }),
  health: (updates: { taskId: string; machine: string; healthy: boolean }[]): Body => ({ $case: 'health', value: { updates } }),
};

/**
 * largeCell builds a cell of `jobs` prod jobs of `tasksPerJob` tasks on `machines` machines through ordinary
 * commands: every task scheduled, the first task of each job failed once (so back-off, events and restarts are
 * populated). For checkpoint tests and the state benchmark.
 */
export function largeCell(jobs: number, tasksPerJob: number, machines: number, cell = 'big'): CellState {
  const s = new CellState(cell);
  let i = 0;
  let t = 1_700_000_000_000;
  const apply = (body: Body) => {
    const out = s.apply(command(body, { timeMs: (t += 7) }), ++i);
    assert(out.result.ok && out.result.rejected.length === 0, `largeCell: ${out.result.errorMessage}${out.result.rejected[0]?.reason ?? ''}`);
  };
  for (let m = 0; m < machines; m++) apply(bodies.registerMachine(machine(`m${m}`, { cpuMillis: 64_000, ramBytes: 256 * GiB, ports: 1000 }, { rack: `r${m % 50}` })));
  apply(bodies.setQuota('u', PriorityBand.PRODUCTION, { cpuMillis: 64_000 * machines, ramBytes: 256 * GiB * machines, diskBytes: 0, ports: 1000 * machines }));
  for (let j = 0; j < jobs; j++) {
    apply(bodies.createJob(jobSpec({ cell, user: 'u', name: `job${j}`, priority: 200, taskCount: tasksPerJob, task: { requirements: { cpuMillis: 100, ramBytes: 128 * MiB, diskBytes: 0, ports: 1 } } })));
    const list: Partial<TaskTransition>[] = [];
    for (let k = 0; k < tasksPerJob; k++) list.push({ taskId: `${cell}/u/job${j}/${k}`, machine: `m${(j * tasksPerJob + k) % machines}` });
    apply(bodies.transitions(list));
    apply(bodies.transitions([{ taskId: `${cell}/u/job${j}/0`, event: EventType.FAIL, exitCode: 3 }]));
  }
  return s;
}
