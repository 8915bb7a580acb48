// Field-by-field validation of everything that can enter the cell state: job specs and the bodies of replicated
// commands. Pure functions; every failure is an InvalidArgument naming the field (a dotted camelCase path, as
// the generated TypeScript spells it). The API runs them before proposing; apply() runs them again so a bad
// command can never corrupt a replica, only be refused with the same answer everywhere.
import { InvalidArgument } from '../../model/errors';
import { validateMachineName, validateName, parseTaskId, type TaskId } from '../../model/ids';
import { validatePriority } from '../../model/priority';
import { validateResources, type Resources } from '../../model/resources';
import { EventType, PriorityBand } from '../../model/index';
import {
  Constraint_Op,
  JobSpec,
  MachineState,
  RestartPolicy_Kind,
  TaskSpec,
  type Constraint,
  type HealthCheck,
  type Machine,
  type RestartPolicy,
  type TaskOverride,
} from '../../proto/index';
import {
  MAX_ANNOTATIONS,
  MIN_PORT_BASE,
  TASK_PORT_BASE,
  MAX_ARGS,
  MAX_ARG_BYTES,
  MAX_COMMAND_BYTES,
  MAX_CONSTRAINTS,
  MAX_CONSTRAINT_VALUES,
  MAX_ENV_ENTRIES,
  MAX_ENV_VALUE_BYTES,
  MAX_JOB_SPEC_BYTES,
  MAX_MACHINE_ATTRIBUTES,
  MAX_MACHINE_PORTS,
  MAX_MESSAGE_TEXT_BYTES,
  MAX_OVERRIDES_PER_JOB,
  MAX_PORTS_PER_TASK,
  MAX_REQUEST_ID_BYTES,
  MAX_TASKS_PER_JOB,
  MAX_TASK_CPU_MILLIS,
  MAX_TASK_DISK_BYTES,
  MAX_TASK_RAM_BYTES,
  MAX_TASK_SPEC_BYTES,
  RESTART_BACKOFF_MAX_MS,
  RESTART_RESET_AFTER_MS_MAX,
} from '../../cells/limits';

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const ATTRIBUTE_KEY = /^[a-z][a-z0-9_.-]{0,62}$/;
const ANNOTATION_KEY = /^[a-z0-9][a-z0-9_./-]{0,126}$/;
const REQUEST_ID = /^[\x21-\x7e]+$/;
const HOST_PORT = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/;
const MAX_SMALL_STRING_BYTES = 256;
const MAX_HEALTH_INTERVAL_MS = 3_600_000;
const MAX_KILL_GRACE_MS = 600_000;
const MAX_RESTARTS = 1_000_000;

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** text checks a free-form string: bounded, no NUL (it ends up in argv, env, files). */
export function validateText(s: unknown, field: string, maxBytes: number, required: boolean): string {
  if (s === undefined || s === null || s === '') {
    if (required) throw new InvalidArgument(field, 'is required');
    return '';
  }
  if (typeof s !== 'string') throw new InvalidArgument(field, `must be a string, got ${typeof s}`);
  if (bytes(s) > maxBytes) throw new InvalidArgument(field, `is ${bytes(s)} bytes, more than the limit of ${maxBytes}`);
  if (s.includes('\0')) throw new InvalidArgument(field, 'must not contain NUL characters');
  return s;
}

export function validateRequestId(id: unknown, field = 'requestId'): string {
  if (typeof id !== 'string' || id === '') throw new InvalidArgument(field, 'is required (a client-chosen idempotency key)');
  if (bytes(id) > MAX_REQUEST_ID_BYTES) throw new InvalidArgument(field, `is ${bytes(id)} bytes, more than the limit of ${MAX_REQUEST_ID_BYTES}`);
  if (!REQUEST_ID.test(id)) throw new InvalidArgument(field, 'must be printable ASCII without spaces');
  return id;
}

export function validateUint(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidArgument(field, `must be an integer, got ${String(v)}`);
  if (v < 0) throw new InvalidArgument(field, `must not be negative, got ${v}`);
  if (v > max) throw new InvalidArgument(field, `must be at most ${max}, got ${v}`);
  return v;
}

export function validateEnum<E extends number>(v: unknown, field: string, allowed: readonly E[], names: Record<number, string>): E {
  if (typeof v !== 'number' || !allowed.includes(v as E)) {
    throw new InvalidArgument(field, `must be one of ${allowed.map((a) => names[a] ?? String(a)).join(', ')}, got ${String(v)}`);
  }
  return v as E;
}

/** validateStringMap bounds a map<string,string> and returns it with keys sorted, so equal maps encode equally. */
function validateStringMap(m: unknown, field: string, maxEntries: number, key: RegExp, keyRule: string, maxValueBytes: number): Record<string, string> {
  if (m === undefined || m === null) return {};
  if (typeof m !== 'object' || Array.isArray(m)) throw new InvalidArgument(field, 'must be a map');
  const entries = Object.entries(m as Record<string, unknown>);
  if (entries.length > maxEntries) throw new InvalidArgument(field, `has ${entries.length} entries, more than the limit of ${maxEntries}`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.test(k)) throw new InvalidArgument(`${field}[${JSON.stringify(k.slice(0, 64))}]`, `key must be ${keyRule}`);
    out[k] = validateText(v, `${field}[${JSON.stringify(k)}]`, maxValueBytes, false);
  }
  return out;
}

/** validateRequirements is validateResources plus per-task bounds and "a task asks for some CPU and RAM". */
export function validateRequirements(r: Partial<Resources> | undefined, field: string): Resources {
  const v = validateResources(r, field);
  if (v.cpuMillis === 0) throw new InvalidArgument(`${field}.cpuMillis`, 'must be positive');
  if (v.ramBytes === 0) throw new InvalidArgument(`${field}.ramBytes`, 'must be positive');
  if (v.cpuMillis > MAX_TASK_CPU_MILLIS) throw new InvalidArgument(`${field}.cpuMillis`, `must be at most ${MAX_TASK_CPU_MILLIS}, got ${v.cpuMillis}`);
  if (v.ramBytes > MAX_TASK_RAM_BYTES) throw new InvalidArgument(`${field}.ramBytes`, `must be at most ${MAX_TASK_RAM_BYTES}, got ${v.ramBytes}`);
  if (v.diskBytes > MAX_TASK_DISK_BYTES) throw new InvalidArgument(`${field}.diskBytes`, `must be at most ${MAX_TASK_DISK_BYTES}, got ${v.diskBytes}`);
  if (v.ports > MAX_PORTS_PER_TASK) throw new InvalidArgument(`${field}.ports`, `must be at most ${MAX_PORTS_PER_TASK}, got ${v.ports}`);
  return v;
}

function validateConstraint(c: Constraint, field: string): Constraint {
  if (!ATTRIBUTE_KEY.test(c.key ?? '')) throw new InvalidArgument(`${field}.key`, c.key ? `${JSON.stringify(c.key.slice(0, 64))} is not an attribute name` : 'is required');
  const op = validateEnum(c.op, `${field}.op`, [Constraint_Op.EQ, Constraint_Op.NE, Constraint_Op.IN, Constraint_Op.EXISTS, Constraint_Op.NOT_EXISTS], Constraint_Op);
  const values = c.values ?? [];
  if (values.length > MAX_CONSTRAINT_VALUES) throw new InvalidArgument(`${field}.values`, `has ${values.length} values, more than the limit of ${MAX_CONSTRAINT_VALUES}`);
  values.forEach((v, i) => validateText(v, `${field}.values[${i}]`, MAX_SMALL_STRING_BYTES, true));
  const want = op === Constraint_Op.EQ || op === Constraint_Op.NE ? 'one' : op === Constraint_Op.IN ? 'some' : 'none';
  if (want === 'one' && values.length !== 1) throw new InvalidArgument(`${field}.values`, `${Constraint_Op[op]} takes exactly one value, got ${values.length}`);
  if (want === 'some' && values.length === 0) throw new InvalidArgument(`${field}.values`, 'IN takes at least one value');
  if (want === 'none' && values.length !== 0) throw new InvalidArgument(`${field}.values`, `${Constraint_Op[op]} takes no values`);
  return { key: c.key, op, values: [...values] };
}

function validateHealthCheck(h: HealthCheck | undefined, field: string, ports: number): HealthCheck | undefined {
  if (h === undefined || h === null) return undefined;
  const httpPath = validateText(h.httpPath, `${field}.httpPath`, MAX_SMALL_STRING_BYTES * 4, true);
  if (!httpPath.startsWith('/')) throw new InvalidArgument(`${field}.httpPath`, 'must start with /');
  const portIndex = validateUint(h.portIndex, `${field}.portIndex`, MAX_PORTS_PER_TASK);
  if (portIndex >= ports) throw new InvalidArgument(`${field}.portIndex`, `is ${portIndex} but the task asks for ${ports} port(s)`);
  const intervalMs = validateUint(h.intervalMs, `${field}.intervalMs`, MAX_HEALTH_INTERVAL_MS);
  const timeoutMs = validateUint(h.timeoutMs, `${field}.timeoutMs`, MAX_HEALTH_INTERVAL_MS);
  if (intervalMs > 0 && timeoutMs > intervalMs) throw new InvalidArgument(`${field}.timeoutMs`, `must not exceed intervalMs (${intervalMs})`);
  const failuresBeforeRestart = validateUint(h.failuresBeforeRestart, `${field}.failuresBeforeRestart`, 1000);
  return { httpPath, portIndex, intervalMs, timeoutMs, failuresBeforeRestart };
}

function validateRestartPolicy(p: RestartPolicy | undefined, field: string): RestartPolicy | undefined {
  if (p === undefined || p === null) return undefined;
  const kind = validateEnum(
    p.kind,
    `${field}.kind`,
    [RestartPolicy_Kind.KIND_UNSPECIFIED, RestartPolicy_Kind.ALWAYS, RestartPolicy_Kind.ON_FAILURE, RestartPolicy_Kind.NEVER],
    RestartPolicy_Kind,
  );
  const maxRestarts = validateUint(p.maxRestarts, `${field}.maxRestarts`, MAX_RESTARTS);
  const backoffInitialMs = validateUint(p.backoffInitialMs, `${field}.backoffInitialMs`, RESTART_BACKOFF_MAX_MS);
  const backoffMaxMs = validateUint(p.backoffMaxMs, `${field}.backoffMaxMs`, RESTART_BACKOFF_MAX_MS);
  if (backoffMaxMs > 0 && backoffInitialMs > backoffMaxMs) throw new InvalidArgument(`${field}.backoffInitialMs`, `must not exceed backoffMaxMs (${backoffMaxMs})`);
  const resetAfterMs = validateUint(p.resetAfterMs, `${field}.resetAfterMs`, RESTART_RESET_AFTER_MS_MAX);
  return { kind, maxRestarts, backoffInitialMs, backoffMaxMs, resetAfterMs };
}

/** validateTaskSpec checks one TaskSpec and returns a normalised copy (maps sorted). */
export function validateTaskSpec(t: TaskSpec | undefined, field: string): TaskSpec {
  if (t === undefined || t === null) throw new InvalidArgument(field, 'is required');
  const command = validateText(t.command, `${field}.command`, MAX_COMMAND_BYTES, true);
  const args = t.args ?? [];
  if (args.length > MAX_ARGS) throw new InvalidArgument(`${field}.args`, `has ${args.length} arguments, more than the limit of ${MAX_ARGS}`);
  args.forEach((a, i) => validateText(a, `${field}.args[${i}]`, MAX_ARG_BYTES, false));
  const env = validateStringMap(t.env, `${field}.env`, MAX_ENV_ENTRIES, ENV_KEY, 'an environment variable name', MAX_ENV_VALUE_BYTES);
  const workingDir = validateText(t.workingDir, `${field}.workingDir`, MAX_COMMAND_BYTES, false);
  const requirements = validateRequirements(t.requirements, `${field}.requirements`);
  const constraints = t.constraints ?? [];
  if (constraints.length > MAX_CONSTRAINTS) throw new InvalidArgument(`${field}.constraints`, `has ${constraints.length} constraints, more than the limit of ${MAX_CONSTRAINTS}`);
  const spec: TaskSpec = {
    command,
    args: [...args],
    env,
    workingDir,
    requirements,
    constraints: constraints.map((c, i) => validateConstraint(c, `${field}.constraints[${i}]`)),
    healthCheck: validateHealthCheck(t.healthCheck, `${field}.healthCheck`, requirements.ports),
    restartPolicy: validateRestartPolicy(t.restartPolicy, `${field}.restartPolicy`),
    latencySensitive: t.latencySensitive === true,
    killGraceMs: validateUint(t.killGraceMs, `${field}.killGraceMs`, MAX_KILL_GRACE_MS),
  };
  const size = TaskSpec.encode(spec).finish().length;
  if (size > MAX_TASK_SPEC_BYTES) throw new InvalidArgument(field, `encodes to ${size} bytes, more than the limit of ${MAX_TASK_SPEC_BYTES}`);
  return spec;
}

/**
 * validateJobSpec checks every field of a JobSpec for the cell `cellName` and returns a normalised copy: maps
 * sorted, overrides sorted by index, update policy max_tasks_down at least 1.
 */
export function validateJobSpec(s: JobSpec | undefined, field: string, cellName: string): JobSpec {
  if (s === undefined || s === null) throw new InvalidArgument(field, 'is required');
  const name = validateName(s.name, `${field}.name`);
  const user = validateName(s.user, `${field}.user`);
  const cell = validateName(s.cell, `${field}.cell`);
  if (cell !== cellName) throw new InvalidArgument(`${field}.cell`, `is ${JSON.stringify(cell)} but this is cell ${JSON.stringify(cellName)}`);
  const priority = validatePriority(s.priority, `${field}.priority`);
  const taskCount = validateUint(s.taskCount, `${field}.taskCount`, MAX_TASKS_PER_JOB);
  if (taskCount === 0) throw new InvalidArgument(`${field}.taskCount`, 'must be at least 1');
  const task = validateTaskSpec(s.task, `${field}.task`);
  const overridesIn = s.overrides ?? [];
  if (overridesIn.length > MAX_OVERRIDES_PER_JOB) throw new InvalidArgument(`${field}.overrides`, `has ${overridesIn.length} entries, more than the limit of ${MAX_OVERRIDES_PER_JOB}`);
  const seen = new Set<number>();
  const overrides: TaskOverride[] = overridesIn.map((o, i) => {
    const f = `${field}.overrides[${i}]`;
    const index = validateUint(o.index, `${f}.index`, MAX_TASKS_PER_JOB);
    if (index >= taskCount) throw new InvalidArgument(`${f}.index`, `is ${index} but the job has ${taskCount} task(s)`);
    if (seen.has(index)) throw new InvalidArgument(`${f}.index`, `task ${index} is overridden twice`);
    seen.add(index);
    return { index, spec: validateTaskSpec(o.spec, `${f}.spec`) };
  });
  overrides.sort((a, b) => a.index - b.index);
  const maxTasksDown = validateUint(s.updatePolicy?.maxTasksDown ?? 0, `${field}.updatePolicy.maxTasksDown`, MAX_TASKS_PER_JOB);
  const spread = {
    maxPerMachine: validateUint(s.spread?.maxPerMachine ?? 0, `${field}.spread.maxPerMachine`, MAX_TASKS_PER_JOB),
    maxPerRack: validateUint(s.spread?.maxPerRack ?? 0, `${field}.spread.maxPerRack`, MAX_TASKS_PER_JOB),
    maxPerPowerDomain: validateUint(s.spread?.maxPerPowerDomain ?? 0, `${field}.spread.maxPerPowerDomain`, MAX_TASKS_PER_JOB),
  };
  const annotations = validateStringMap(s.annotations, `${field}.annotations`, MAX_ANNOTATIONS, ANNOTATION_KEY, 'a lower-case name', MAX_ENV_VALUE_BYTES);
  const out: JobSpec = {
    name,
    user,
    cell,
    priority,
    taskCount,
    task,
    overrides,
    updatePolicy: { maxTasksDown: Math.max(1, maxTasksDown) },
    spread,
    annotations,
  };
  const size = JobSpec.encode(out).finish().length;
  if (size > MAX_JOB_SPEC_BYTES) throw new InvalidArgument(field, `encodes to ${size} bytes, more than the limit of ${MAX_JOB_SPEC_BYTES}`);
  return out;
}

/** validateTaskIdIn parses a task id and checks that it belongs to this cell. */
export function validateTaskIdIn(id: unknown, field: string, cellName: string): TaskId {
  if (typeof id !== 'string' || id === '') throw new InvalidArgument(field, 'is required');
  if (bytes(id) > 4 * MAX_SMALL_STRING_BYTES) throw new InvalidArgument(field, 'is too long to be a task id');
  const t = parseTaskId(id, field);
  if (t.cell !== cellName) throw new InvalidArgument(`${field}.cell`, `is ${JSON.stringify(t.cell)} but this is cell ${JSON.stringify(cellName)}`);
  return t;
}

export const TRANSITION_EVENTS: readonly EventType[] = [
  EventType.SCHEDULE,
  EventType.EVICT,
  EventType.FAIL,
  EventType.FINISH,
  EventType.KILL,
  EventType.LOST,
  EventType.RESTART,
];

export const SETTABLE_MACHINE_STATES: readonly MachineState[] = [MachineState.UP, MachineState.DRAINING, MachineState.DOWN];

export const QUOTA_BANDS: readonly PriorityBand[] = [
  PriorityBand.FREE,
  PriorityBand.BEST_EFFORT,
  PriorityBand.MID,
  PriorityBand.PRODUCTION,
  PriorityBand.MONITORING,
];

/** validateMachine checks a machine registration: identity, address, capacity, attributes, failure domains. */
export function validateMachine(m: Machine | undefined, field: string): Machine {
  if (m === undefined || m === null) throw new InvalidArgument(field, 'is required');
  const name = validateMachineName(m.name, `${field}.name`);
  const address = validateText(m.address, `${field}.address`, MAX_SMALL_STRING_BYTES, false);
  if (address !== '') {
    const hp = HOST_PORT.exec(address);
    if (!hp || Number(hp[2]) > 65535) throw new InvalidArgument(`${field}.address`, `${JSON.stringify(address)} is not host:port`);
  }
  const capacity = validateResources(m.capacity, `${field}.capacity`);
  if (capacity.ports > MAX_MACHINE_PORTS) throw new InvalidArgument(`${field}.capacity.ports`, `must be at most ${MAX_MACHINE_PORTS}, got ${capacity.ports}`);
  const portBase = m.portBase === undefined || m.portBase === 0 ? TASK_PORT_BASE : m.portBase;
  if (!Number.isInteger(portBase) || portBase < MIN_PORT_BASE || portBase + capacity.ports > 65_536) {
    throw new InvalidArgument(`${field}.portBase`, `ports [${portBase}, ${portBase + capacity.ports}) must lie within [${MIN_PORT_BASE}, 65536)`);
  }
  const attributes = validateStringMap(m.attributes, `${field}.attributes`, MAX_MACHINE_ATTRIBUTES, ATTRIBUTE_KEY, 'a lower-case name', MAX_SMALL_STRING_BYTES);
  const rack = validateText(m.rack, `${field}.rack`, MAX_SMALL_STRING_BYTES, false) || 'rack-0';
  const powerDomain = validateText(m.powerDomain, `${field}.powerDomain`, MAX_SMALL_STRING_BYTES, false) || 'power-0';
  const state =
    m.state === MachineState.MACHINE_STATE_UNSPECIFIED || m.state === undefined
      ? MachineState.UP
      : validateEnum(m.state, `${field}.state`, SETTABLE_MACHINE_STATES, MachineState);
  return {
    name,
    address,
    capacity,
    attributes,
    rack,
    powerDomain,
    state,
    generation: 0,
    allocatedLimit: undefined,
    allocatedReservation: undefined,
    usage: undefined,
    lastPollMs: 0,
    portBase,
  };
}

export function validateMessage(s: unknown, field: string): string {
  return validateText(s, field, MAX_MESSAGE_TEXT_BYTES, false);
}
