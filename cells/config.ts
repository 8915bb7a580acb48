// The cell configuration file (YAML; format in cells/README.md): replicas, scheduler policy, reclamation,
// Paxos and link timing, machines, quotas, BNS. loadCellConfig validates every field and reports the first
// problem as `file:line:col: field: problem`, so a bad file never reaches a daemon.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Document } from 'yaml';
import { InvalidArgument, BorgError } from '../model/errors';
import { validateName, validateMachineName } from '../model/ids';
import { parseBytes, parseCpuMillis, parseDurationMs } from '../model/units';
import { parsePriority, bandOf, PriorityBand } from '../model/priority';
import type { Resources } from '../model/resources';
import { MAX_MACHINES_PER_CELL, MIN_PORT_BASE, TASK_PORT_BASE } from './limits';

export type FitPolicy = 'worst' | 'best' | 'hybrid';
export const FIT_POLICIES: readonly FitPolicy[] = ['worst', 'best', 'hybrid'];

export interface ReplicaConfig {
  id: number;
  /** address is host:port of the replica's gRPC server (API and Paxos). */
  address: string;
  /** statusAddress is host:port of the replica's HTTP status page. */
  statusAddress: string;
  dataDir: string;
}

export interface SchedulerConfig {
  policy: FitPolicy;
  scoreCaching: boolean;
  equivalenceClasses: boolean;
  relaxedRandomization: boolean;
  /** feasibleLimit: stop scoring after this many feasible machines (relaxed randomization). */
  feasibleLimit: number;
  passIntervalMs: number;
  seed: number;
}

export interface ReclamationConfig {
  startDelayMs: number;
  intervalMs: number;
  /** safetyMargin: fraction of the limit added to peak usage when estimating a reservation. */
  safetyMargin: number;
  /** decay: fraction of the gap between reservation and target closed per interval. */
  decay: number;
}

export interface PaxosConfig {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  leaseTicks: number;
  /** maxClockDrift: bound on relative clock-rate error between replicas that the lease assumes. */
  maxClockDrift: number;
}

export interface LinkConfig {
  pollIntervalMs: number;
  missedPollsBeforeDown: number;
  /** rescheduleTasksPerSecond bounds how fast tasks of DOWN machines are replaced. */
  rescheduleTasksPerSecond: number;
}

export interface MachineConfig {
  name: string;
  /** address of the Borglet (host:port); empty for machines that a simulated Borglet serves. */
  address: string;
  capacity: Resources;
  attributes: Record<string, string>;
  rack: string;
  powerDomain: string;
  /** portBase: first of the machine's task ports; machines carved out of one host need disjoint ranges. */
  portBase: number;
}

export interface SimulatedMachinesConfig {
  count: number;
  /** address (host:port) where the simulated Borglets process (sim/borglets) serves every simulated machine. */
  address: string;
  capacity: Resources;
  machinesPerRack: number;
  racksPerPowerDomain: number;
  attributes: Record<string, string>;
}

export interface QuotaConfig {
  user: string;
  band: PriorityBand;
  limit: Resources;
}

export interface CellConfig {
  name: string;
  replicas: ReplicaConfig[];
  scheduler: SchedulerConfig;
  reclamation: ReclamationConfig;
  paxos: PaxosConfig;
  link: LinkConfig;
  machines: MachineConfig[];
  simulatedMachines: SimulatedMachinesConfig | undefined;
  quotas: QuotaConfig[];
  admins: string[];
  bns: { redis: string | undefined };
  security: { tls: boolean; caDir: string };
}

/** CellConfigError is a config problem with its place in the file. */
export class CellConfigError extends BorgError {
  override name = 'CellConfigError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super('invalid_argument', `${file}:${line}:${col}: ${field}: ${problem}`);
  }
}

type Path = (string | number)[];
type Obj = Record<string, unknown>;

function fieldName(path: Path): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

/** Reader walks the parsed YAML, checking types and rejecting unknown keys, with paths for messages. */
class Reader {
  constructor(readonly fail: (path: Path, problem: string, at?: 'key' | 'value') => never) {}

  obj(v: unknown, path: Path, allowed: readonly string[]): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be a mapping, got ${describe(v)}`);
    const o = v as Obj;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown field${suggest(k, allowed)}`, 'key');
    }
    return o;
  }

  list(v: unknown, path: Path): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be a list, got ${describe(v)}`);
    return v;
  }

  str(v: unknown, path: Path): string {
    if (typeof v !== 'string' || v === '') this.fail(path, v === undefined ? 'is required' : `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  int(v: unknown, path: Path, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, v === undefined ? 'is required' : `must be an integer, got ${describe(v)}`);
    if (v < lo || v > hi) this.fail(path, `must be in [${lo}, ${hi}], got ${v}`);
    return v;
  }

  num(v: unknown, path: Path, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `must be a number, got ${describe(v)}`);
    if (v < lo || v > hi) this.fail(path, `must be in [${lo}, ${hi}], got ${v}`);
    return v;
  }

  bool(v: unknown, path: Path): boolean {
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, got ${describe(v)}`);
    return v;
  }

  /** wrap turns an InvalidArgument from a shared parser (units, names) into a positioned error. */
  wrap<T>(path: Path, f: (field: string) => T): T {
    try {
      return f(fieldName(path));
    } catch (e: unknown) {
      if (e instanceof InvalidArgument) this.fail(path, e.message.slice(e.field.length + 2));
      throw e;
    }
  }

  address(v: unknown, path: Path): string {
    const s = this.str(v, path);
    const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/.exec(s);
    if (!m || Number(m[2]) > 65535) this.fail(path, `${JSON.stringify(s)} is not host:port`);
    return s;
  }

  resources(v: unknown, path: Path): Resources {
    const o = this.obj(v, path, ['cpu', 'ram', 'disk', 'ports']);
    return {
      cpuMillis: o.cpu === undefined ? 0 : this.wrap([...path, 'cpu'], (f) => parseCpuMillis(o.cpu, f)),
      ramBytes: o.ram === undefined ? 0 : this.wrap([...path, 'ram'], (f) => parseBytes(o.ram, f)),
      diskBytes: o.disk === undefined ? 0 : this.wrap([...path, 'disk'], (f) => parseBytes(o.disk, f)),
      ports: o.ports === undefined ? 0 : this.int(o.ports, [...path, 'ports'], 0, 65535),
    };
  }

  attributes(v: unknown, path: Path): Record<string, string> {
    if (v === undefined) return {};
    const o = this.obj(v, path, Object.keys((v ?? {}) as Obj));
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (!/^[a-z][a-z0-9_.-]{0,62}$/.test(k)) this.fail([...path, k], 'attribute keys are lower-case names');
      if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') this.fail([...path, k], `must be a scalar, got ${describe(val)}`);
      out[k] = String(val);
    }
    return out;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

/** suggest names the closest allowed key, for typos. */
export function suggest(key: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const dist = editDistance(key.toLowerCase(), a.toLowerCase());
    if (dist < bestD) [best, bestD] = [a, dist];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean ${JSON.stringify(best)}?` : `; expected one of ${allowed.join(', ')}`;
}

const TOP_KEYS = ['cell', 'replicas', 'scheduler', 'reclamation', 'paxos', 'link', 'machines', 'simulatedMachines', 'quotas', 'admins', 'bns', 'security'] as const;

function parseConfig(root: unknown, r: Reader, baseDir: string): CellConfig {
  const top = r.obj(root, [], TOP_KEYS);
  const name = r.wrap(['cell'], (f) => validateName(top.cell, f));

  const replicaList = r.list(top.replicas, ['replicas']);
  if (![1, 3, 5].includes(replicaList.length)) r.fail(['replicas'], `a cell has 1, 3 or 5 replicas, got ${replicaList.length}`);
  const replicas = replicaList.map((v, i): ReplicaConfig => {
    const p: Path = ['replicas', i];
    const o = r.obj(v, p, ['id', 'address', 'statusAddress', 'dataDir']);
    const dataDir = r.str(o.dataDir, [...p, 'dataDir']);
    return {
      id: r.int(o.id, [...p, 'id'], 1, 255),
      address: r.address(o.address, [...p, 'address']),
      statusAddress: r.address(o.statusAddress, [...p, 'statusAddress']),
      dataDir: dataDir.startsWith('/') ? dataDir : `${baseDir}/${dataDir}`,
    };
  });
  unique(r, replicas.map((x) => x.id), (i) => ['replicas', i, 'id']);
  unique(r, replicas.map((x) => x.address), (i) => ['replicas', i, 'address']);
  unique(r, replicas.map((x) => x.dataDir), (i) => ['replicas', i, 'dataDir']);

  const s = r.obj(top.scheduler ?? {}, ['scheduler'], ['policy', 'scoreCaching', 'equivalenceClasses', 'relaxedRandomization', 'feasibleLimit', 'passInterval', 'seed']);
  const policy = s.policy ?? 'hybrid';
  if (!FIT_POLICIES.includes(policy as FitPolicy)) r.fail(['scheduler', 'policy'], `must be one of ${FIT_POLICIES.join(', ')}, got ${describe(policy)}`);
  const scheduler: SchedulerConfig = {
    policy: policy as FitPolicy,
    scoreCaching: s.scoreCaching === undefined ? true : r.bool(s.scoreCaching, ['scheduler', 'scoreCaching']),
    equivalenceClasses: s.equivalenceClasses === undefined ? true : r.bool(s.equivalenceClasses, ['scheduler', 'equivalenceClasses']),
    relaxedRandomization: s.relaxedRandomization === undefined ? true : r.bool(s.relaxedRandomization, ['scheduler', 'relaxedRandomization']),
    feasibleLimit: s.feasibleLimit === undefined ? 64 : r.int(s.feasibleLimit, ['scheduler', 'feasibleLimit'], 1, MAX_MACHINES_PER_CELL),
    passIntervalMs: s.passInterval === undefined ? 500 : r.wrap(['scheduler', 'passInterval'], (f) => parseDurationMs(s.passInterval, f)),
    seed: s.seed === undefined ? 1 : r.int(s.seed, ['scheduler', 'seed'], 0, 2 ** 32 - 1),
  };

  const rc = r.obj(top.reclamation ?? {}, ['reclamation'], ['startDelay', 'interval', 'safetyMargin', 'decay']);
  const reclamation: ReclamationConfig = {
    startDelayMs: rc.startDelay === undefined ? 300_000 : r.wrap(['reclamation', 'startDelay'], (f) => parseDurationMs(rc.startDelay, f)),
    intervalMs: rc.interval === undefined ? 10_000 : r.wrap(['reclamation', 'interval'], (f) => parseDurationMs(rc.interval, f)),
    safetyMargin: rc.safetyMargin === undefined ? 0.15 : r.num(rc.safetyMargin, ['reclamation', 'safetyMargin'], 0, 1),
    decay: rc.decay === undefined ? 0.1 : r.num(rc.decay, ['reclamation', 'decay'], 0.001, 1),
  };
  if (reclamation.intervalMs < 100) r.fail(['reclamation', 'interval'], 'must be at least 100ms');

  const px = r.obj(top.paxos ?? {}, ['paxos'], ['tick', 'electionTicks', 'heartbeatTicks', 'leaseTicks', 'maxClockDrift']);
  const paxos: PaxosConfig = {
    tickMs: px.tick === undefined ? 50 : r.wrap(['paxos', 'tick'], (f) => parseDurationMs(px.tick, f)),
    electionTicks: px.electionTicks === undefined ? 10 : r.int(px.electionTicks, ['paxos', 'electionTicks'], 2, 10_000),
    heartbeatTicks: px.heartbeatTicks === undefined ? 2 : r.int(px.heartbeatTicks, ['paxos', 'heartbeatTicks'], 1, 10_000),
    leaseTicks: px.leaseTicks === undefined ? 8 : r.int(px.leaseTicks, ['paxos', 'leaseTicks'], 1, 10_000),
    maxClockDrift: px.maxClockDrift === undefined ? 0.05 : r.num(px.maxClockDrift, ['paxos', 'maxClockDrift'], 0, 0.5),
  };
  if (paxos.heartbeatTicks >= paxos.electionTicks) r.fail(['paxos', 'heartbeatTicks'], `must be below electionTicks (${paxos.electionTicks})`);
  if (paxos.leaseTicks >= paxos.electionTicks) r.fail(['paxos', 'leaseTicks'], `must be below electionTicks (${paxos.electionTicks}) so a lease expires before a rival can be elected`);
  if (paxos.tickMs < 1) r.fail(['paxos', 'tick'], 'must be at least 1ms');

  const lk = r.obj(top.link ?? {}, ['link'], ['pollInterval', 'missedPollsBeforeDown', 'rescheduleTasksPerSecond']);
  const link: LinkConfig = {
    pollIntervalMs: lk.pollInterval === undefined ? 2000 : r.wrap(['link', 'pollInterval'], (f) => parseDurationMs(lk.pollInterval, f)),
    missedPollsBeforeDown: lk.missedPollsBeforeDown === undefined ? 5 : r.int(lk.missedPollsBeforeDown, ['link', 'missedPollsBeforeDown'], 1, 1000),
    rescheduleTasksPerSecond: lk.rescheduleTasksPerSecond === undefined ? 100 : r.int(lk.rescheduleTasksPerSecond, ['link', 'rescheduleTasksPerSecond'], 1, 1_000_000),
  };
  if (link.pollIntervalMs < 10) r.fail(['link', 'pollInterval'], 'must be at least 10ms');

  const machines = r.list(top.machines ?? [], ['machines']).map((v, i): MachineConfig => {
    const p: Path = ['machines', i];
    const o = r.obj(v, p, ['name', 'address', 'capacity', 'attributes', 'rack', 'powerDomain', 'portBase']);
    const capacity = r.resources(o.capacity, [...p, 'capacity']);
    const portBase = o.portBase === undefined ? TASK_PORT_BASE : r.int(o.portBase, [...p, 'portBase'], MIN_PORT_BASE, 65_535);
    if (portBase + capacity.ports > 65_536) r.fail([...p, 'portBase'], `ports [${portBase}, ${portBase + capacity.ports}) run past 65535`);
    return {
      name: r.wrap([...p, 'name'], (f) => validateMachineName(o.name, f)),
      address: o.address === undefined ? '' : r.address(o.address, [...p, 'address']),
      capacity,
      attributes: r.attributes(o.attributes, [...p, 'attributes']),
      rack: o.rack === undefined ? 'rack-0' : r.str(o.rack, [...p, 'rack']),
      powerDomain: o.powerDomain === undefined ? 'power-0' : r.str(o.powerDomain, [...p, 'powerDomain']),
      portBase,
    };
  });
  unique(r, machines.map((m) => m.name), (i) => ['machines', i, 'name']);
  unique(r, machines.filter((m) => m.address).map((m) => m.address), (i) => ['machines', i, 'address']);
  // Machines on one host share its port space: their task port ranges must not overlap.
  machines.forEach((m, i) => {
    const host = m.address.slice(0, m.address.lastIndexOf(':'));
    const clash = machines.findIndex((o, j) => j < i && o.address !== '' && o.address.slice(0, o.address.lastIndexOf(':')) === host && o.portBase < m.portBase + m.capacity.ports && m.portBase < o.portBase + o.capacity.ports);
    if (m.address !== '' && clash >= 0) r.fail(['machines', i, 'portBase'], `task ports [${m.portBase}, ${m.portBase + m.capacity.ports}) overlap those of ${machines[clash]?.name} on the same host ${host}`);
  });

  let simulatedMachines: SimulatedMachinesConfig | undefined;
  if (top.simulatedMachines !== undefined) {
    const p: Path = ['simulatedMachines'];
    const o = r.obj(top.simulatedMachines, p, ['count', 'address', 'capacity', 'machinesPerRack', 'racksPerPowerDomain', 'attributes']);
    simulatedMachines = {
      count: r.int(o.count, [...p, 'count'], 1, MAX_MACHINES_PER_CELL),
      address: r.address(o.address, [...p, 'address']),
      capacity: r.resources(o.capacity, [...p, 'capacity']),
      machinesPerRack: o.machinesPerRack === undefined ? 40 : r.int(o.machinesPerRack, [...p, 'machinesPerRack'], 1, 10_000),
      racksPerPowerDomain: o.racksPerPowerDomain === undefined ? 10 : r.int(o.racksPerPowerDomain, [...p, 'racksPerPowerDomain'], 1, 10_000),
      attributes: r.attributes(o.attributes, [...p, 'attributes']),
    };
  }
  if (machines.length + (simulatedMachines?.count ?? 0) > MAX_MACHINES_PER_CELL) r.fail(['machines'], `a cell has at most ${MAX_MACHINES_PER_CELL} machines`);

  const quotas = r.list(top.quotas ?? [], ['quotas']).map((v, i): QuotaConfig => {
    const p: Path = ['quotas', i];
    const o = r.obj(v, p, ['user', 'priority', 'limit']);
    const priority = typeof o.priority === 'number' ? o.priority : r.wrap([...p, 'priority'], (f) => parsePriority(r.str(o.priority, [...p, 'priority']), f));
    return {
      user: r.wrap([...p, 'user'], (f) => validateName(o.user, f)),
      band: bandOf(r.int(priority, [...p, 'priority'], 0, 1000)),
      limit: r.resources(o.limit, [...p, 'limit']),
    };
  });
  unique(r, quotas.map((q) => `${q.user}/${q.band}`), (i) => ['quotas', i]);

  const admins = r.list(top.admins ?? [], ['admins']).map((v, i) => r.wrap(['admins', i], (f) => validateName(v, f)));

  const b = r.obj(top.bns ?? {}, ['bns'], ['redis']);
  const sec = r.obj(top.security ?? {}, ['security'], ['tls', 'caDir']);
  const caDir = sec.caDir === undefined ? `.borg/${name}/ca` : r.str(sec.caDir, ['security', 'caDir']);

  return {
    name,
    replicas,
    scheduler,
    reclamation,
    paxos,
    link,
    machines,
    simulatedMachines,
    quotas,
    admins,
    bns: { redis: b.redis === undefined ? undefined : r.address(b.redis, ['bns', 'redis']) },
    security: { tls: sec.tls === undefined ? true : r.bool(sec.tls, ['security', 'tls']), caDir: caDir.startsWith('/') ? caDir : `${baseDir}/${caDir}` },
  };
}

function unique<T>(r: Reader, values: T[], pathOf: (i: number) => Path): void {
  const seen = new Map<T, number>();
  values.forEach((v, i) => {
    const first = seen.get(v);
    if (first !== undefined) r.fail(pathOf(i), `duplicate ${JSON.stringify(v)} (also at ${fieldName(pathOf(first))})`);
    seen.set(v, i);
  });
}

/**
 * parseCellConfig parses YAML text. `file` names the source in errors; relative data directories are taken
 * relative to `baseDir`.
 */
export function parseCellConfig(text: string, file = '<config>', baseDir = '.'): CellConfig {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = lineCounter.linePos(firstError.pos[0]);
    throw new CellConfigError(file, pos.line, pos.col, '(syntax)', firstError.message.split('\n')[0] ?? 'YAML syntax error');
  }
  const fail = (path: Path, problem: string, at: 'key' | 'value' = 'value'): never => {
    // Point at the deepest node of the path that exists (the key itself for unknown keys), else its parent.
    let node: unknown;
    const last = path[path.length - 1];
    if (at === 'key' && typeof last === 'string') {
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      if (isMap(parent)) node = parent.items.find((pair) => (pair.key as { value?: unknown } | null)?.value === last)?.key ?? undefined;
    }
    for (let n = path.length; n >= 0 && node === undefined; n--) node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    const pos = range ? lineCounter.linePos(range[0]) : { line: 1, col: 1 };
    throw new CellConfigError(file, pos.line, pos.col, fieldName(path) || '(top)', problem);
  };
  const root: unknown = isMap(doc.contents) || isSeq(doc.contents) ? doc.toJS({ maxAliasCount: 100 }) : doc.contents === null ? undefined : doc.toJS();
  return parseConfig(root, new Reader(fail), baseDir);
}

/** loadCellConfig reads and validates a cell config file. */
export function loadCellConfig(path: string, baseDir = process.cwd()): CellConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new BorgError('not_found', `cannot read cell config ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return parseCellConfig(text, path, baseDir);
}
