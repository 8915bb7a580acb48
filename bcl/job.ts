// The job schema: turns each evaluated `job NAME = { ... }` record into a JobSpec proto exactly as the API takes
// it, checking every field (names, priority, resources, bounds from cells/limits.ts) and pointing errors at the
// line that set the field, in whichever file (template or job) that was.
import { BclError, type Pos, type Source } from './errors';
import type { JobDecl } from './evaluator';
import { formatNumber, formatQuantity, heightOf, show, typeName, type Field, type Value } from './values';
import { suggest } from '../cells/config';
import {
  KILL_GRACE_MS_MAX,
  HEALTH_INTERVAL_MS_MIN,
  MAX_ANNOTATIONS,
  MAX_ARGS,
  MAX_ARG_BYTES,
  MAX_COMMAND_BYTES,
  MAX_CONSTRAINTS,
  MAX_CONSTRAINT_VALUES,
  MAX_ENV_ENTRIES,
  MAX_ENV_VALUE_BYTES,
  MAX_JOB_SPEC_BYTES,
  MAX_OVERRIDES_PER_JOB,
  MAX_PORTS_PER_TASK,
  MAX_TASKS_PER_JOB,
  MAX_TASK_CPU_MILLIS,
  MAX_TASK_DISK_BYTES,
  MAX_TASK_RAM_BYTES,
  MAX_TASK_SPEC_BYTES,
  RESTART_BACKOFF_MAX_MS,
  RESTART_RESET_AFTER_MS_MAX,
  TASK_RAM_MIN_BYTES,
  BCL_MAX_OUTPUT_BYTES,
} from '../cells/limits';
import { NAMED_PRIORITIES, PRIORITY_MAX, PRIORITY_MIN } from '../model/priority';
import { NAME_PATTERN } from '../model/ids';
import {
  Constraint_Op,
  JobSpec,
  RestartPolicy_Kind,
  TaskSpec,
  type Constraint,
  type HealthCheck,
  type RestartPolicy,
  type Resources,
} from '../proto/index';

/** TASK_FIELDS may appear in a job record and in a per-task override (`tasks[i] = { ... }`). */
export const TASK_FIELDS = [
  'command',
  'args',
  'env',
  'working_dir',
  'requirements',
  'constraints',
  'health_check',
  'restart_policy',
  'latency_sensitive',
  'kill_grace',
] as const;

/** JOB_FIELDS are every field a job record may have. */
export const JOB_FIELDS = ['user', 'cell', 'priority', 'replicas', 'update_policy', 'spread', 'annotations', 'tasks', ...TASK_FIELDS] as const;

const REQUIREMENT_FIELDS = ['cpu', 'ram', 'disk', 'ports'] as const;
const HEALTH_FIELDS = ['path', 'port_index', 'interval', 'timeout', 'failures'] as const;
const RESTART_FIELDS = ['kind', 'max_restarts', 'backoff_initial', 'backoff_max', 'reset_after'] as const;
const UPDATE_FIELDS = ['max_tasks_down'] as const;
const SPREAD_FIELDS = ['max_per_machine', 'max_per_rack', 'max_per_power_domain'] as const;
const RESTART_KINDS: Readonly<Record<string, RestartPolicy_Kind>> = {
  always: RestartPolicy_Kind.ALWAYS,
  on_failure: RestartPolicy_Kind.ON_FAILURE,
  never: RestartPolicy_Kind.NEVER,
};
// These rules match the master's admission checks (borgmaster/state/validate.ts), so a job BCL accepts is not
// refused at submit; test/bcl_master_validate.test.ts keeps the two in step.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const ANNOTATION_KEY = /^[a-z0-9][a-z0-9_./-]{0,126}$/;
const MAX_CONSTRAINT_VALUE_BYTES = 256;
const MAX_HEALTH_PATH_BYTES = 1024;
const MAX_HEALTH_INTERVAL_MS = 3_600_000;
const MAX_RESTARTS = 1_000_000;

export interface JobOptions {
  /** cell is used by jobs that do not set `cell` (the CLI's --cell; "local" if absent). */
  cell?: string;
  /** user is used by jobs that do not set `user`; without it, `user` is required. */
  user?: string;
}

/** toJobSpecs checks each job record against the schema and builds its JobSpec. */
export function toJobSpecs(decls: readonly JobDecl[], options: JobOptions = {}): JobSpec[] {
  let totalBytes = 0;
  return decls.map((d) => {
    const spec = new JobReader(d).read(options);
    totalBytes += JobSpec.encode(spec).finish().length;
    if (totalBytes > BCL_MAX_OUTPUT_BYTES) throw new BclError(d.src, d.pos, `the jobs encode to more than ${BCL_MAX_OUTPUT_BYTES} bytes`);
    return spec;
  });
}

/** Where is the field a value came from, or the job declaration for a missing field. */
interface Where {
  at: Pos;
  src: Source;
}

type Fields = ReadonlyMap<string, Field>;

class JobReader {
  constructor(private readonly decl: JobDecl) {}

  private fail(where: Where, path: string, problem: string): never {
    throw new BclError(where.src, where.at, `job ${JSON.stringify(this.decl.name)}: ${path}${path ? ' ' : ''}${problem}`);
  }

  private get here(): Where {
    return { at: this.decl.pos, src: this.decl.src };
  }

  /** record checks that f is a record whose keys are all allowed, suggesting the nearest for a typo. */
  private record(v: Value, where: Where, path: string, allowed: readonly string[]): Fields {
    if (v.kind !== 'record') this.fail(where, path, `must be a record, got ${typeName(v)} ${show(v)}`);
    for (const [k, f] of v.fields) {
      if (!allowed.includes(k)) this.fail(f, path ? `${path}.${k}` : k, `is not a field${path ? ` of ${path}` : ' of a job'}${suggest(k, allowed)}`);
    }
    return v.fields;
  }

  read(options: JobOptions): JobSpec {
    const d = this.decl;
    if (!NAME_PATTERN.test(d.name)) {
      this.fail(this.here, '', `has an invalid name: ${JSON.stringify(d.name)} is not a lower-case letter followed by up to 62 of a-z 0-9 _ -`);
    }
    const fields = this.record(d.value, this.here, '', JOB_FIELDS);
    const user = this.name(fields.get('user'), 'user', options.user);
    const cell = this.name(fields.get('cell'), 'cell', options.cell ?? 'local');
    const priority = this.priority(fields.get('priority'));
    const replicasField = fields.get('replicas');
    const taskCount = replicasField ? this.int(replicasField, 'replicas', 1, MAX_TASKS_PER_JOB) : 1;
    const task = this.task(fields, '', 'job');
    const overrides = this.overrides(fields, taskCount);
    const updatePolicy = this.updatePolicy(fields.get('update_policy'));
    const spread = this.spread(fields.get('spread'));
    const annotationsField = fields.get('annotations');
    const annotations = this.stringMap(annotationsField, 'annotations', MAX_ANNOTATIONS, 'annotation');
    for (const k of Object.keys(annotations)) {
      if (!ANNOTATION_KEY.test(k)) {
        this.fail(annotationsField ?? this.here, `annotations.${k}`, `${JSON.stringify(k)} is not an annotation name (a-z 0-9 then up to 126 of a-z 0-9 _ . / -)`);
      }
    }
    const spec: JobSpec = { name: d.name, user, cell, priority, taskCount, task, overrides, updatePolicy, spread, annotations };
    const bytes = JobSpec.encode(spec).finish().length;
    if (bytes > MAX_JOB_SPEC_BYTES) this.fail(this.here, '', `encodes to ${bytes} bytes; the limit is ${MAX_JOB_SPEC_BYTES}`);
    return spec;
  }

  private name(f: Field | undefined, path: string, fallback: string | undefined): string {
    if (!f) {
      if (fallback === undefined) this.fail(this.here, path, 'is required');
      if (!NAME_PATTERN.test(fallback)) this.fail(this.here, path, `default ${JSON.stringify(fallback)} is not a valid name (a lower-case letter, then up to 62 of a-z 0-9 _ -)`);
      return fallback;
    }
    const s = this.str(f, path, 63);
    if (!NAME_PATTERN.test(s)) this.fail(f, path, `${JSON.stringify(s)} is not a valid name (a lower-case letter, then up to 62 of a-z 0-9 _ -)`);
    return s;
  }

  private priority(f: Field | undefined): number {
    if (!f) this.fail(this.here, 'priority', `is required: a number in [${PRIORITY_MIN}, ${PRIORITY_MAX}] or one of ${Object.keys(NAMED_PRIORITIES).join(', ')}`);
    if (f.value.kind === 'string') {
      const n = NAMED_PRIORITIES[f.value.s];
      if (n === undefined) this.fail(f, 'priority', `${JSON.stringify(f.value.s)} is not a priority${suggest(f.value.s, Object.keys(NAMED_PRIORITIES))}`);
      return n;
    }
    return this.int(f, 'priority', PRIORITY_MIN, PRIORITY_MAX);
  }

  private task(fields: Fields, prefix: string, what: string): TaskSpec {
    const p = (k: string): string => `${prefix}${k}`;
    const cmd = fields.get('command');
    if (!cmd) this.fail(this.here, p('command'), `is required${what === 'job' ? '' : ` in ${what}`}`);
    const command = this.str(cmd, p('command'), MAX_COMMAND_BYTES);
    if (command === '') this.fail(cmd, p('command'), 'must not be empty');
    const argsF = fields.get('args');
    const args = argsF ? this.stringList(argsF, p('args'), MAX_ARGS, MAX_ARG_BYTES) : [];
    const env = this.env(fields.get('env'), p('env'));
    const wd = fields.get('working_dir');
    const workingDir = wd ? this.str(wd, p('working_dir'), MAX_COMMAND_BYTES) : '';
    const requirements = this.requirements(fields.get('requirements'), p('requirements'));
    const constraints = this.constraints(fields.get('constraints'), p('constraints'));
    const healthCheck = this.healthCheck(fields.get('health_check'), p('health_check'), requirements.ports);
    const restartPolicy = this.restartPolicy(fields.get('restart_policy'), p('restart_policy'));
    const ls = fields.get('latency_sensitive');
    const latencySensitive = ls ? this.bool(ls, p('latency_sensitive')) : false;
    const kg = fields.get('kill_grace');
    const killGraceMs = kg ? this.durationMs(kg, p('kill_grace'), 0, KILL_GRACE_MS_MAX) : 0;
    const spec: TaskSpec = { command, args, env, workingDir, requirements, constraints, healthCheck, restartPolicy, latencySensitive, killGraceMs };
    const bytes = TaskSpec.encode(spec).finish().length;
    if (bytes > MAX_TASK_SPEC_BYTES) this.fail(this.here, prefix.replace(/\.$/, '') || 'task', `encodes to ${bytes} bytes; the limit is ${MAX_TASK_SPEC_BYTES}`);
    return spec;
  }

  /** overrides merges each `tasks[i]` patch into the job's task fields, giving complete per-task specs. */
  private overrides(fields: Fields, taskCount: number): { index: number; spec: TaskSpec }[] {
    const tf = fields.get('tasks');
    if (!tf) return [];
    if (tf.value.kind !== 'record') this.fail(tf, 'tasks', `must be a record of per-task overrides (tasks[0] = { ... }), got ${typeName(tf.value)}`);
    if (tf.value.fields.size > MAX_OVERRIDES_PER_JOB) this.fail(tf, 'tasks', `has ${tf.value.fields.size} overrides; the limit is ${MAX_OVERRIDES_PER_JOB}`);
    const out: { index: number; spec: TaskSpec }[] = [];
    let bytes = 0;
    for (const [key, f] of tf.value.fields) {
      const path = `tasks[${key}]`;
      if (!/^(0|[1-9][0-9]*)$/.test(key)) this.fail(f, path, `must be indexed by a task number, got ${JSON.stringify(key)}`);
      const index = Number(key);
      if (index >= taskCount) this.fail(f, path, `overrides task ${index}, but the job has ${taskCount} task${taskCount === 1 ? '' : 's'} (0 to ${taskCount - 1})`);
      const patch = this.record(f.value, f, path, TASK_FIELDS);
      const merged = new Map<string, Field>();
      for (const k of TASK_FIELDS) {
        const base = fields.get(k);
        const over = patch.get(k);
        const m = over ? (base ? mergeDeep(base, over) : over) : base;
        if (m) merged.set(k, m);
      }
      const spec = this.task(merged, `${path}.`, path);
      bytes += TaskSpec.encode(spec).finish().length;
      if (bytes > MAX_JOB_SPEC_BYTES) this.fail(f, 'tasks', `the overrides encode to more than ${MAX_JOB_SPEC_BYTES} bytes`);
      out.push({ index, spec });
    }
    return out.sort((a, b) => a.index - b.index);
  }

  private requirements(f: Field | undefined, path: string): Resources {
    if (!f) this.fail(this.here, path, 'is required: { cpu = 500m, ram = 256MiB } (disk and ports are optional)');
    const r = this.record(f.value, f, path, REQUIREMENT_FIELDS);
    const cpu = r.get('cpu');
    const ram = r.get('ram');
    if (!cpu) this.fail(f, `${path}.cpu`, 'is required (e.g. cpu = 500m)');
    if (!ram) this.fail(f, `${path}.ram`, 'is required (e.g. ram = 256MiB)');
    const disk = r.get('disk');
    const ports = r.get('ports');
    const cpuMillis = this.quantity(cpu, `${path}.cpu`, 'cpu', 1, MAX_TASK_CPU_MILLIS);
    return {
      cpuMillis,
      ramBytes: this.quantity(ram, `${path}.ram`, 'bytes', TASK_RAM_MIN_BYTES, MAX_TASK_RAM_BYTES),
      diskBytes: disk ? this.quantity(disk, `${path}.disk`, 'bytes', 0, MAX_TASK_DISK_BYTES) : 0,
      ports: ports ? this.int(ports, `${path}.ports`, 0, MAX_PORTS_PER_TASK) : 0,
    };
  }

  private constraints(f: Field | undefined, path: string): Constraint[] {
    if (!f) return [];
    if (f.value.kind !== 'list') this.fail(f, path, `must be a list of constraints like [attr("os") == "linux"], got ${typeName(f.value)}`);
    if (f.value.items.length > MAX_CONSTRAINTS) this.fail(f, path, `has ${f.value.items.length} constraints; the limit is ${MAX_CONSTRAINTS}`);
    return f.value.items.map((v, i) => {
      if (v.kind !== 'constraint') this.fail(f, `${path}[${i}]`, `must be a constraint such as attr("os") == "linux", got ${typeName(v)} ${show(v)}`);
      if (v.values.length > MAX_CONSTRAINT_VALUES) this.fail(f, `${path}[${i}]`, `has ${v.values.length} values; the limit is ${MAX_CONSTRAINT_VALUES}`);
      for (const x of v.values) {
        if (x === '' || x.includes('\0') || Buffer.byteLength(x) > MAX_CONSTRAINT_VALUE_BYTES) {
          this.fail(f, `${path}[${i}]`, `compares with ${JSON.stringify(x.slice(0, 40))}; a value is 1 to ${MAX_CONSTRAINT_VALUE_BYTES} bytes without NUL`);
        }
      }
      return { key: v.key, op: Constraint_Op[v.op], values: [...v.values] };
    });
  }

  private healthCheck(f: Field | undefined, path: string, ports: number): HealthCheck | undefined {
    if (!f) return undefined;
    const h = this.record(f.value, f, path, HEALTH_FIELDS);
    const pf = h.get('path');
    if (!pf) this.fail(f, `${path}.path`, 'is required (e.g. path = "/healthz")');
    const httpPath = this.str(pf, `${path}.path`, MAX_HEALTH_PATH_BYTES);
    if (!httpPath.startsWith('/')) this.fail(pf, `${path}.path`, `must start with "/", got ${JSON.stringify(httpPath)}`);
    const pi = h.get('port_index');
    const portIndex = pi ? this.int(pi, `${path}.port_index`, 0, MAX_PORTS_PER_TASK - 1) : 0;
    if (portIndex >= ports) this.fail(pi ?? f, `${path}.port_index`, `is ${portIndex}, but the task asks for ${ports} port${ports === 1 ? '' : 's'} (set requirements.ports)`);
    const iv = h.get('interval');
    const to = h.get('timeout');
    const fl = h.get('failures');
    const intervalMs = iv ? this.durationMs(iv, `${path}.interval`, HEALTH_INTERVAL_MS_MIN, MAX_HEALTH_INTERVAL_MS) : 0;
    const timeoutMs = to ? this.durationMs(to, `${path}.timeout`, 1, MAX_HEALTH_INTERVAL_MS) : 0;
    if (to && intervalMs > 0 && timeoutMs > intervalMs) {
      this.fail(to, `${path}.timeout`, `(${formatQuantity('duration', timeoutMs)}) is longer than interval (${formatQuantity('duration', intervalMs)})`);
    }
    return { httpPath, portIndex, intervalMs, timeoutMs, failuresBeforeRestart: fl ? this.int(fl, `${path}.failures`, 1, 1000) : 0 };
  }

  private restartPolicy(f: Field | undefined, path: string): RestartPolicy | undefined {
    if (!f) return undefined;
    const r = this.record(f.value, f, path, RESTART_FIELDS);
    const kf = r.get('kind');
    let kind = RestartPolicy_Kind.KIND_UNSPECIFIED;
    if (kf) {
      const s = this.str(kf, `${path}.kind`, 64);
      const k = RESTART_KINDS[s];
      if (k === undefined) this.fail(kf, `${path}.kind`, `${JSON.stringify(s)} is not a restart kind${suggest(s, Object.keys(RESTART_KINDS))}`);
      kind = k;
    }
    const mr = r.get('max_restarts');
    const bi = r.get('backoff_initial');
    const bm = r.get('backoff_max');
    const ra = r.get('reset_after');
    const policy = {
      kind,
      maxRestarts: mr ? this.int(mr, `${path}.max_restarts`, 0, MAX_RESTARTS) : 0,
      backoffInitialMs: bi ? this.durationMs(bi, `${path}.backoff_initial`, 0, RESTART_BACKOFF_MAX_MS) : 0,
      backoffMaxMs: bm ? this.durationMs(bm, `${path}.backoff_max`, 0, RESTART_BACKOFF_MAX_MS) : 0,
      resetAfterMs: ra ? this.durationMs(ra, `${path}.reset_after`, 1, RESTART_RESET_AFTER_MS_MAX) : 0,
    };
    if (bi && bm && policy.backoffInitialMs > policy.backoffMaxMs) {
      this.fail(bi, `${path}.backoff_initial`, `(${formatQuantity('duration', policy.backoffInitialMs)}) is longer than backoff_max (${formatQuantity('duration', policy.backoffMaxMs)})`);
    }
    return policy;
  }

  private updatePolicy(f: Field | undefined): { maxTasksDown: number } | undefined {
    if (!f) return undefined;
    const u = this.record(f.value, f, 'update_policy', UPDATE_FIELDS);
    const m = u.get('max_tasks_down');
    return { maxTasksDown: m ? this.int(m, 'update_policy.max_tasks_down', 0, MAX_TASKS_PER_JOB) : 0 };
  }

  private spread(f: Field | undefined): { maxPerMachine: number; maxPerRack: number; maxPerPowerDomain: number } | undefined {
    if (!f) return undefined;
    const s = this.record(f.value, f, 'spread', SPREAD_FIELDS);
    const n = (k: (typeof SPREAD_FIELDS)[number]): number => {
      const x = s.get(k);
      return x ? this.int(x, `spread.${k}`, 0, MAX_TASKS_PER_JOB) : 0;
    };
    return { maxPerMachine: n('max_per_machine'), maxPerRack: n('max_per_rack'), maxPerPowerDomain: n('max_per_power_domain') };
  }

  private env(f: Field | undefined, path: string): { [k: string]: string } {
    const env = this.stringMap(f, path, MAX_ENV_ENTRIES, 'variable');
    for (const k of Object.keys(env)) {
      if (!ENV_NAME.test(k)) this.fail(f ?? this.here, `${path}.${k}`, `${JSON.stringify(k)} is not an environment variable name (up to 256 of A-Z a-z 0-9 _, not starting with a digit)`);
    }
    return env;
  }

  private stringMap(f: Field | undefined, path: string, maxEntries: number, what: string): { [k: string]: string } {
    const out: { [k: string]: string } = {};
    if (!f) return out;
    if (f.value.kind !== 'record') this.fail(f, path, `must be a record of strings, got ${typeName(f.value)}`);
    if (f.value.fields.size > maxEntries) this.fail(f, path, `has ${f.value.fields.size} entries; the limit is ${maxEntries}`);
    for (const [k, v] of f.value.fields) {
      if (k === '' || k.length > 253) this.fail(v, path, `${what} names are 1 to 253 characters, got ${JSON.stringify(k.slice(0, 40))}`);
      // A plain object would silently drop this key (it names the prototype), losing the user's setting.
      if (k === '__proto__') this.fail(v, `${path}.${k}`, `${JSON.stringify(k)} is reserved`);
      out[k] = this.scalarString(v, `${path}.${k}`, MAX_ENV_VALUE_BYTES);
    }
    return out;
  }

  private stringList(f: Field, path: string, maxItems: number, maxBytes: number): string[] {
    if (f.value.kind !== 'list') this.fail(f, path, `must be a list of strings, got ${typeName(f.value)} ${show(f.value)}`);
    if (f.value.items.length > maxItems) this.fail(f, path, `has ${f.value.items.length} items; the limit is ${maxItems}`);
    return f.value.items.map((v, i) => this.scalarString({ value: v, at: f.at, src: f.src }, `${path}[${i}]`, maxBytes));
  }

  /** scalarString accepts a string, or a number, quantity or bool spelled as "${...}" would (args = ["--n", 3]). */
  private scalarString(f: Field, path: string, maxBytes: number): string {
    const v = f.value;
    let s: string;
    if (v.kind === 'string') s = v.s;
    else if (v.kind === 'number') s = formatNumber(v.n);
    else if (v.kind === 'bool') s = String(v.b);
    else if (v.kind === 'cpu' || v.kind === 'bytes' || v.kind === 'duration') s = formatQuantity(v.kind, v.n);
    else this.fail(f, path, `must be a string, got ${typeName(v)} ${show(v)}`);
    if (s.includes('\0')) this.fail(f, path, 'must not contain NUL characters');
    if (Buffer.byteLength(s) > maxBytes) this.fail(f, path, `is ${Buffer.byteLength(s)} bytes; the limit is ${maxBytes}`);
    return s;
  }

  private str(f: Field, path: string, maxBytes: number): string {
    if (f.value.kind !== 'string') this.fail(f, path, `must be a string, got ${typeName(f.value)} ${show(f.value)}`);
    if (f.value.s.includes('\0')) this.fail(f, path, 'must not contain NUL characters');
    if (Buffer.byteLength(f.value.s) > maxBytes) this.fail(f, path, `is ${Buffer.byteLength(f.value.s)} bytes; the limit is ${maxBytes}`);
    return f.value.s;
  }

  private bool(f: Field, path: string): boolean {
    if (f.value.kind !== 'bool') this.fail(f, path, `must be true or false, got ${typeName(f.value)} ${show(f.value)}`);
    return f.value.b;
  }

  private int(f: Field, path: string, min: number, max: number): number {
    const v = f.value;
    if (v.kind !== 'number') this.fail(f, path, `must be a number, got ${typeName(v)} ${show(v)}`);
    if (!Number.isInteger(v.n)) this.fail(f, path, `must be a whole number, got ${formatNumber(v.n)}`);
    if (v.n < min || v.n > max) this.fail(f, path, `must be in [${min}, ${max}], got ${formatNumber(v.n)}`);
    return v.n;
  }

  /** quantity reads cpu (500m, or a number of cores) or bytes (2GiB, or a number of bytes) as a whole base unit. */
  private quantity(f: Field, path: string, dim: 'cpu' | 'bytes', min: number, max: number): number {
    const v = f.value;
    let n: number;
    if (v.kind === dim) n = v.n;
    else if (v.kind === 'number') n = dim === 'cpu' ? v.n * 1000 : v.n;
    else this.fail(f, path, `must be ${dim === 'cpu' ? 'cpu (e.g. 500m) or a number of cores' : 'bytes (e.g. 512MiB) or a number of bytes'}, got ${typeName(v)} ${show(v)}`);
    if (!Number.isInteger(n)) {
      this.fail(f, path, dim === 'cpu' ? `must be a whole number of millicores, got ${formatNumber(n)}m` : `must be a whole number of bytes, got ${formatNumber(n)}`);
    }
    if (n < min || n > max) this.fail(f, path, `must be in [${formatQuantity(dim, min)}, ${formatQuantity(dim, max)}], got ${formatQuantity(dim, n)}`);
    return n;
  }

  private durationMs(f: Field, path: string, min: number, max: number): number {
    const v = f.value;
    if (v.kind !== 'duration' && v.kind !== 'number') this.fail(f, path, `must be a duration (e.g. 10s) or a number of milliseconds, got ${typeName(v)} ${show(v)}`);
    if (!Number.isInteger(v.n)) this.fail(f, path, `must be a whole number of milliseconds, got ${formatNumber(v.n)}`);
    if (v.n < min || v.n > max) this.fail(f, path, `must be in [${formatQuantity('duration', min)}, ${formatQuantity('duration', max)}], got ${formatQuantity('duration', v.n)}`);
    return v.n;
  }
}

/** mergeDeep applies a per-task patch: records merge field by field, anything else replaces. */
function mergeDeep(base: Field, over: Field): Field {
  if (base.value.kind !== 'record' || over.value.kind !== 'record') return over;
  const fields = new Map(base.value.fields);
  let size = 2;
  for (const [k, f] of over.value.fields) {
    const b = fields.get(k);
    fields.set(k, b ? mergeDeep(b, f) : f);
  }
  let height = 1;
  for (const [k, f] of fields) {
    size += k.length + (f.value.kind === 'record' || f.value.kind === 'list' ? f.value.size : 8) + 4;
    height = Math.max(height, heightOf(f.value) + 1);
  }
  return { value: { kind: 'record', fields, size, height }, at: over.at, src: over.src };
}
