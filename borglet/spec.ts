// Validation of what the master orders: each DesiredTask is checked field by field before anything starts, so a
// bad spec (negative or absurd limits, bad ids, oversized args) gets an error naming the field and starts
// nothing. Pure: the machine's capacity comes in; whether the binary exists is checked by the runtime (IO).
import type { DesiredTask, TaskSpec } from '../proto/index';
import { RestartPolicy_Kind } from '../proto/index';
import { InvalidArgument } from '../model/errors';
import { parseTaskId, bnsName as bnsNameOf } from '../model/ids';
import { validatePriority } from '../model/priority';
import { validateResources, formatBytes, formatCores, type Resources } from '../model/resources';
import { restartTiming, type RestartTiming } from '../model/restart';
import { healthTiming } from '../model/health';
import {
  HEALTH_INTERVAL_MS_MIN,
  KILL_GRACE_MS_DEFAULT,
  KILL_GRACE_MS_MAX,
  MAX_ARGS,
  MAX_ARG_BYTES,
  MAX_COMMAND_BYTES,
  MAX_ENV_ENTRIES,
  MAX_ENV_VALUE_BYTES,
  MAX_PORTS_PER_TASK,
  RESTART_BACKOFF_MAX_MS,
  RESTART_RESET_AFTER_MS_MAX,
  TASK_RAM_MIN_BYTES,
} from '../cells/limits';

export type RestartKind = 'always' | 'on_failure' | 'never';

export interface RestartRule extends RestartTiming {
  kind: RestartKind;
  /** maxRestarts 0 means unlimited. */
  maxRestarts: number;
}

export interface HealthRule {
  path: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
  failuresBeforeRestart: number;
}

/** ValidTask is a DesiredTask that passed validation, with defaults applied. */
export interface ValidTask {
  taskId: string;
  /** group is the task's cgroup (and state directory) name: the task id with '/' turned into '.'. */
  group: string;
  specVersion: number;
  spec: TaskSpec;
  priority: number;
  bnsName: string;
  ports: number[];
  limit: Resources;
  killGraceMs: number;
  restart: RestartRule;
  health: HealthRule | null;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** groupName maps a task id (cell/user/job/index, names without dots) to a unique cgroup name. */
export function groupName(taskId: string): string {
  return taskId.replaceAll('/', '.');
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function restartRule(p: TaskSpec['restartPolicy'], field: string): RestartRule {
  const kindOf = (k: RestartPolicy_Kind | undefined): RestartKind => {
    switch (k) {
      case undefined:
      case RestartPolicy_Kind.KIND_UNSPECIFIED:
      case RestartPolicy_Kind.ON_FAILURE:
        return 'on_failure';
      case RestartPolicy_Kind.ALWAYS:
        return 'always';
      case RestartPolicy_Kind.NEVER:
        return 'never';
      default:
        throw new InvalidArgument(`${field}.kind`, `unknown restart kind ${String(k)}`);
    }
  };
  const t = restartTiming(p);
  if (t.backoffMaxMs > RESTART_BACKOFF_MAX_MS) throw new InvalidArgument(`${field}.backoffMaxMs`, `must be at most ${RESTART_BACKOFF_MAX_MS}, got ${t.backoffMaxMs}`);
  if (p?.backoffMaxMs && t.backoffInitialMs > p.backoffMaxMs) throw new InvalidArgument(`${field}.backoffInitialMs`, `must not exceed backoffMaxMs (${p.backoffMaxMs}), got ${t.backoffInitialMs}`);
  if (t.resetAfterMs > RESTART_RESET_AFTER_MS_MAX) throw new InvalidArgument(`${field}.resetAfterMs`, `must be at most ${RESTART_RESET_AFTER_MS_MAX}, got ${t.resetAfterMs}`);
  return { kind: kindOf(p?.kind), maxRestarts: p?.maxRestarts ?? 0, ...t };
}

/**
 * validateDesiredTask checks one ordered task against the machine's capacity. `field` prefixes error paths
 * (e.g. `tasks[3]`). Throws InvalidArgument naming the first bad field.
 */
const PLACEHOLDER = /\$\{(port(\d{0,2})|task_index)\}/g;

/**
 * substitutePlaceholders replaces `${port}` (the first port), `${portN}` (port N) and `${task_index}`; any other
 * `${...}` (a shell variable, say) is left alone. A port the task was not given is an error naming the field.
 */
export function substitutePlaceholders(s: string, ports: readonly number[], index: number, field: string): string {
  if (!s.includes('${')) return s;
  return s.replace(PLACEHOLDER, (m: string, name: string, n: string) => {
    if (name === 'task_index') return String(index);
    const i = n === '' ? 0 : Number(n);
    const port = ports[i];
    if (port === undefined) throw new InvalidArgument(field, `${m} names port ${i}, but the task has ${ports.length} port${ports.length === 1 ? '' : 's'}`);
    return String(port);
  });
}

export function validateDesiredTask(d: DesiredTask, capacity: Resources, field: string): ValidTask {
  const id = parseTaskId(d.taskId, `${field}.taskId`);
  const priority = validatePriority(d.priority, `${field}.priority`);
  const spec = d.spec;
  const f = `${field}.spec`;
  if (spec === undefined) throw new InvalidArgument(f, 'is required');
  if (spec.command === '') throw new InvalidArgument(`${f}.command`, 'is required');
  if (bytes(spec.command) > MAX_COMMAND_BYTES) throw new InvalidArgument(`${f}.command`, `is longer than ${MAX_COMMAND_BYTES} bytes`);
  if (spec.command.includes('\0')) throw new InvalidArgument(`${f}.command`, 'contains a NUL byte');
  if (spec.args.length > MAX_ARGS) throw new InvalidArgument(`${f}.args`, `has ${spec.args.length} entries, at most ${MAX_ARGS}`);
  spec.args.forEach((a, i) => {
    if (bytes(a) > MAX_ARG_BYTES) throw new InvalidArgument(`${f}.args[${i}]`, `is longer than ${MAX_ARG_BYTES} bytes`);
    if (a.includes('\0')) throw new InvalidArgument(`${f}.args[${i}]`, 'contains a NUL byte');
  });
  const env = Object.entries(spec.env);
  if (env.length > MAX_ENV_ENTRIES) throw new InvalidArgument(`${f}.env`, `has ${env.length} entries, at most ${MAX_ENV_ENTRIES}`);
  for (const [k, v] of env) {
    if (!ENV_KEY.test(k)) throw new InvalidArgument(`${f}.env`, `${JSON.stringify(k)} is not a valid variable name`);
    if (k.startsWith('BORG_')) throw new InvalidArgument(`${f}.env.${k}`, 'BORG_* variables are set by the Borglet');
    if (bytes(v) > MAX_ENV_VALUE_BYTES || v.includes('\0')) throw new InvalidArgument(`${f}.env.${k}`, `must be at most ${MAX_ENV_VALUE_BYTES} bytes without NUL`);
  }
  if (spec.workingDir !== '' && (!spec.workingDir.startsWith('/') || spec.workingDir.includes('\0'))) {
    throw new InvalidArgument(`${f}.workingDir`, `must be an absolute path, got ${JSON.stringify(spec.workingDir)}`);
  }
  const limit = validateResources(spec.requirements, `${f}.requirements`);
  if (limit.ramBytes < TASK_RAM_MIN_BYTES) {
    throw new InvalidArgument(`${f}.requirements.ramBytes`, `must be at least ${formatBytes(TASK_RAM_MIN_BYTES)} (the task's memory limit), got ${limit.ramBytes}`);
  }
  if (limit.ramBytes > capacity.ramBytes) {
    throw new InvalidArgument(`${f}.requirements.ramBytes`, `${formatBytes(limit.ramBytes)} exceeds the machine's capacity of ${formatBytes(capacity.ramBytes)}`);
  }
  if (limit.cpuMillis > capacity.cpuMillis) {
    throw new InvalidArgument(`${f}.requirements.cpuMillis`, `${formatCores(limit.cpuMillis)} exceeds the machine's capacity of ${formatCores(capacity.cpuMillis)}`);
  }
  if (limit.diskBytes > capacity.diskBytes) {
    throw new InvalidArgument(`${f}.requirements.diskBytes`, `${formatBytes(limit.diskBytes)} exceeds the machine's capacity of ${formatBytes(capacity.diskBytes)}`);
  }
  if (d.ports.length > MAX_PORTS_PER_TASK) throw new InvalidArgument(`${field}.ports`, `has ${d.ports.length} entries, at most ${MAX_PORTS_PER_TASK}`);
  if (d.ports.length < limit.ports) throw new InvalidArgument(`${field}.ports`, `the spec asks for ${limit.ports} ports but ${d.ports.length} were assigned`);
  const seen = new Set<number>();
  d.ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new InvalidArgument(`${field}.ports[${i}]`, `${p} is not a port number`);
    if (seen.has(p)) throw new InvalidArgument(`${field}.ports[${i}]`, `port ${p} is assigned twice`);
    seen.add(p);
  });
  const killGraceMs = spec.killGraceMs || KILL_GRACE_MS_DEFAULT;
  if (killGraceMs > KILL_GRACE_MS_MAX) throw new InvalidArgument(`${f}.killGraceMs`, `must be at most ${KILL_GRACE_MS_MAX}, got ${killGraceMs}`);
  let health: HealthRule | null = null;
  const h = spec.healthCheck;
  if (h !== undefined && h.httpPath !== '') {
    if (!h.httpPath.startsWith('/')) throw new InvalidArgument(`${f}.healthCheck.httpPath`, `must start with /, got ${JSON.stringify(h.httpPath)}`);
    const port = d.ports[h.portIndex];
    if (port === undefined) throw new InvalidArgument(`${f}.healthCheck.portIndex`, `${h.portIndex} is not one of the task's ${d.ports.length} ports`);
    const timing = healthTiming(h);
    if (timing.intervalMs < HEALTH_INTERVAL_MS_MIN) throw new InvalidArgument(`${f}.healthCheck.intervalMs`, `must be at least ${HEALTH_INTERVAL_MS_MIN}, got ${timing.intervalMs}`);
    health = { path: h.httpPath, port, ...timing };
  }
  // The placeholders BCL's `port`, `port_n(i)` and `task_index` leave in args and env values take their values
  // here, where the ports are known (B15 §2.6: a task learns its ports when it starts).
  const runtimeSpec = {
    ...spec,
    args: spec.args.map((a, i) => substitutePlaceholders(a, d.ports, id.index, `${f}.args[${i}]`)),
    env: Object.fromEntries(env.map(([k, v]) => [k, substitutePlaceholders(v, d.ports, id.index, `${f}.env.${k}`)])),
  };
  return {
    taskId: d.taskId,
    group: groupName(d.taskId),
    specVersion: d.specVersion,
    spec: runtimeSpec,
    priority,
    bnsName: d.bnsName || bnsNameOf(id),
    ports: [...d.ports],
    limit,
    killGraceMs,
    restart: restartRule(spec.restartPolicy, `${f}.restartPolicy`),
    health,
  };
}
