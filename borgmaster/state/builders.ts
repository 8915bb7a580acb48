// Builders for specs and commands with sensible defaults, for tests, benchmarks and tools that drive a CellState
// directly (the Fauxmaster, link-shard tests). Nothing here is a fake: the builders only fill in fields.
import { GiB, MiB, type Resources } from '../../model/resources';
import { EventType, MachineState, type Command, type JobSpec, type Machine, type TaskSpec, type TaskTransition } from '../../proto/index';

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
    ...partial,
  };
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
        ...t,
      })),
    },
  }),
  reservations: (updates: { taskId: string; machine: string; reservation: Resources }[]): Body => ({ $case: 'reservations', value: { updates } }),
};
