// Many simulated Borglets in one object (B15 §3.3 protocol, synthetic tasks): the decision core of the
// sim/borglets daemon. Each machine obeys ballots exactly like the real Borglet (refuses older ones, takes newer
// ones, persists nothing), makes its synthetic tasks match the master's complete desired state (starts what is
// listed, kills what is not), and reports the full actual state with seeded synthetic usage. Tasks run no
// process: a task "runs" from the poll that started it until its sampled duration (env SIM_DURATION_MS, ±25%)
// ends, when it reports DEAD with FINISH (or FAIL when env SIM_EXIT_CODE is non-zero). Pure: Clock and Rng in.
import type { Clock } from '../../model/clock';
import type { Rng } from '../../model/rng';
import { assert } from '../../model/assert';
import { InvalidArgument, NotFound, Unavailable } from '../../model/errors';
import { EventType, TaskState } from '../../model/task_state';
import { resources, type Resources } from '../../model/resources';
import { MAX_TASKS_PER_MACHINE } from '../../cells/limits';
import type { MachineConfig } from '../../cells/config';
import { validateDesiredTask } from '../../borglet/spec';
import { judgeBallot } from '../../borglet/ballot';
import { TaskSpec, type Ballot, type BorgletLogsRequest, type BorgletLogsResponse, type DesiredTask, type PollRequest, type PollResponse, type TaskStatus } from '../../proto/index';

/** SIM_DURATION_ENV: a task whose spec sets it finishes after about this many milliseconds. */
export const SIM_DURATION_ENV = 'SIM_DURATION_MS';
/** SIM_EXIT_CODE_ENV: the exit code a finishing simulated task reports (non-zero makes it a FAIL). */
export const SIM_EXIT_CODE_ENV = 'SIM_EXIT_CODE';

interface SimTask {
  taskId: string;
  specVersion: number;
  priority: number;
  /** runKey: a hash of what the run is made of (spec and ports); a new version with the same key runs on. */
  runKey: number;
  limit: Resources;
  pid: number;
  startTimeMs: number;
  /** endAtMs: when the task finishes by itself; Infinity for tasks that run until killed. */
  endAtMs: number;
  exitCode: number;
  dead: boolean;
  lastEvent: EventType;
  message: string;
  endTimeMs: number;
  /** cpuFraction, ramFraction: the seeded share of its limit the task uses. */
  cpuFraction: number;
  ramFraction: number;
}

interface SimMachine {
  config: MachineConfig;
  seenBallot: Ballot;
  tasks: Map<string, SimTask>;
  startMs: number;
  rng: Rng;
  partitioned: boolean;
  /** lastPollMs: when the machine last heard a poll (0: never), for the poll-interval figures. */
  lastPollMs: number;
  /** desiredVersion: the version of the last complete desired state reconciled against (0: none), echoed back. */
  desiredVersion: number;
  /**
   * reply: the machine's last report (not refused), kept until something in it changes (a reconcile, a task
   * ending, a newer ballot): synthetic usage is constant, so a quiet machine's report is the same every poll.
   */
  reply: PollResponse | undefined;
}

/** PollIntervalStats: the time between successive polls of one machine, over every machine (ms). */
export interface PollIntervalStats {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** MAX_INTERVAL_SAMPLES bounds the samples kept between two readings (10,000 machines for ~20 polls each). */
const MAX_INTERVAL_SAMPLES = 200_000;

/** SimCounters: what the daemon did, so tests and benchmarks can check that no task was restarted. */
export interface SimCounters {
  polls: number;
  refused: number;
  dropped: number;
  starts: number;
  kills: number;
  finishes: number;
  /** fullPolls: polls carrying a complete desired state; specsReceived: task specs they carried. */
  fullPolls: number;
  specsReceived: number;
}

export class SimBorglets {
  private readonly machines = new Map<string, SimMachine>();
  /** taskMachine: where each known task is, for TaskLogs (which names only the task). */
  private readonly taskMachine = new Map<string, string>();
  private intervals: number[] = [];
  private nextPid = 1000;
  readonly counters: SimCounters = { polls: 0, refused: 0, dropped: 0, starts: 0, kills: 0, finishes: 0, fullPolls: 0, specsReceived: 0 };

  constructor(
    readonly cell: string,
    machines: readonly MachineConfig[],
    private readonly clock: Clock,
    rng: Rng,
  ) {
    const now = clock.nowMs();
    for (const m of machines) {
      assert(!this.machines.has(m.name), `machine ${m.name} listed twice`);
      this.machines.set(m.name, { config: m, seenBallot: { round: 0, replica: 0 }, tasks: new Map(), startMs: now, rng: rng.fork(m.name), partitioned: false, lastPollMs: 0, desiredVersion: 0, reply: undefined });
    }
  }

  get size(): number {
    return this.machines.size;
  }

  /** partition makes a machine drop every poll (a network partition, seen from the master) until healed. */
  partition(machine: string, on: boolean): void {
    this.machine(machine).partitioned = on;
  }

  /** tasksOn lists the task ids a machine is running (alive or reported dead but not yet forgotten). */
  tasksOn(machine: string): string[] {
    return [...this.machine(machine).tasks.keys()];
  }

  /** runningTasks counts live synthetic tasks across every machine. */
  runningTasks(): number {
    let n = 0;
    for (const m of this.machines.values()) for (const t of m.tasks.values()) if (!t.dead) n++;
    return n;
  }

  /** pollIntervals summarises the poll intervals seen since the last call, and starts a new window. */
  pollIntervals(): PollIntervalStats {
    const xs = this.intervals.sort((a, b) => a - b);
    this.intervals = [];
    const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
    return { count: xs.length, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), maxMs: xs[xs.length - 1] ?? 0 };
  }

  ballotSeen(machine: string): Ballot {
    return { ...this.machine(machine).seenBallot };
  }

  private machine(name: string): SimMachine {
    const m = this.machines.get(name);
    if (m === undefined) throw new NotFound(`simulated machine ${JSON.stringify(name)}`);
    return m;
  }

  /** poll serves one master poll for the machine the request names. */
  poll(req: PollRequest): PollResponse {
    if (req.cell !== '' && req.cell !== this.cell) throw new InvalidArgument('cell', `these Borglets belong to cell ${JSON.stringify(this.cell)}, not ${JSON.stringify(req.cell)}`);
    if (req.machine === '') throw new InvalidArgument('machine', 'is required: one process serves many simulated machines');
    const m = this.machines.get(req.machine);
    if (m === undefined) throw new InvalidArgument('machine', `${JSON.stringify(req.machine)} is not a simulated machine of cell ${this.cell}`);
    if (req.ballot === undefined) throw new InvalidArgument('ballot', 'is required');
    if (req.tasks.length > MAX_TASKS_PER_MACHINE) throw new InvalidArgument('tasks', `has ${req.tasks.length} entries, at most ${MAX_TASKS_PER_MACHINE} per machine`);
    const ids = new Set<string>();
    req.tasks.forEach((t, i) => {
      if (t.taskId === '' || t.taskId.length > 512) throw new InvalidArgument(`tasks[${i}].taskId`, 'must be a task id (cell/user/job/index)');
      if (ids.has(t.taskId)) throw new InvalidArgument(`tasks[${i}].taskId`, `${t.taskId} is listed twice`);
      ids.add(t.taskId);
    });
    if (m.partitioned) {
      this.counters.dropped++;
      throw new Unavailable(`simulated machine ${m.config.name} is partitioned away`);
    }
    this.counters.polls++;
    const now = this.clock.nowMs();
    if (m.lastPollMs > 0 && this.intervals.length < MAX_INTERVAL_SAMPLES) this.intervals.push(now - m.lastPollMs);
    m.lastPollMs = now;
    const verdict = judgeBallot(m.seenBallot, req.ballot);
    if (verdict.kind === 'refuse') {
      this.counters.refused++;
      return this.response(m, true, req.pollSeq);
    }
    // Unlike the real Borglet nothing is persisted: a restarted simulator has no tasks to protect either.
    if (verdict.newer) {
      m.seenBallot = { round: req.ballot.round, replica: req.ballot.replica };
      m.reply = undefined;
    }
    this.finishDue(m, now);
    // An authoritative poll is the complete desired state; its version is kept and echoed. A poll that is not
    // authoritative changes nothing: with a version it means "unchanged since that version", which holds when
    // the echo matches, and when it does not (this process restarted) the master sends the full state next.
    if (req.authoritative) {
      m.reply = undefined;
      this.reconcile(m, req.tasks, now);
      m.desiredVersion = req.desiredVersion ?? 0;
      this.counters.fullPolls++;
      this.counters.specsReceived += req.tasks.reduce((n, t) => n + (t.spec === undefined ? 0 : 1), 0);
    }
    return this.response(m, false, req.pollSeq);
  }

  taskLogs(req: BorgletLogsRequest): BorgletLogsResponse {
    const machine = this.taskMachine.get(req.taskId);
    const t = machine === undefined ? undefined : this.machines.get(machine)?.tasks.get(req.taskId);
    if (t === undefined) throw new NotFound(`logs of task ${JSON.stringify(req.taskId)}`);
    // A simulated task has no process and so no output; say so rather than invent any.
    const text = req.stderr ? '' : `simulated task ${t.taskId} on ${machine}: pid ${t.pid}, no process, no output\n`;
    const data = Buffer.from(text);
    const tail = req.tailBytes > 0 && data.length > req.tailBytes ? data.subarray(data.length - req.tailBytes) : data;
    return { data: tail, truncated: tail.length < data.length };
  }

  private finishDue(m: SimMachine, now: number): void {
    for (const t of m.tasks.values()) {
      if (t.dead || t.endAtMs > now) continue;
      m.reply = undefined;
      t.dead = true;
      t.endTimeMs = t.endAtMs;
      t.lastEvent = t.exitCode === 0 ? EventType.FINISH : EventType.FAIL;
      t.message = `simulated run ended with exit code ${t.exitCode}`;
      this.counters.finishes++;
    }
  }

  private reconcile(m: SimMachine, desired: readonly DesiredTask[], now: number): void {
    const wanted = new Set<string>();
    desired.forEach((d, i) => {
      wanted.add(d.taskId);
      const existing = m.tasks.get(d.taskId);
      // Same spec version: nothing to do (a dead one stays reported until the master stops listing it).
      if (existing !== undefined && existing.specVersion === d.specVersion) {
        existing.priority = d.priority;
        return;
      }
      // A new version of the same run (a priority change among them) is adopted in place, as the real Borglet does.
      if (existing !== undefined && !existing.dead && existing.runKey === runKeyOf(d)) {
        existing.specVersion = d.specVersion;
        existing.priority = d.priority;
        return;
      }
      let limit: Resources;
      let env: Record<string, string>;
      try {
        const v = validateDesiredTask(d, m.config.capacity, `tasks[${i}]`);
        limit = v.limit;
        env = d.spec?.env ?? {};
      } catch (e: unknown) {
        if (!(e instanceof InvalidArgument)) throw e;
        this.put(m, { ...this.blank(d, now), dead: true, lastEvent: EventType.FAIL, exitCode: 127, message: `invalid task spec: ${e.message}`, endTimeMs: now });
        return;
      }
      if (existing !== undefined && !existing.dead) this.counters.kills++; // an update stops the old run first
      this.put(m, this.start(m, d, limit, env, now));
    });
    for (const [id, t] of m.tasks) {
      if (wanted.has(id)) continue;
      // Not in the desired state: killed at once (no process to wait for), and forgotten.
      if (!t.dead) this.counters.kills++;
      m.tasks.delete(id);
      this.taskMachine.delete(id);
    }
  }

  private blank(d: DesiredTask, now: number): SimTask {
    return { taskId: d.taskId, specVersion: d.specVersion, priority: d.priority, runKey: runKeyOf(d), limit: resources(), pid: 0, startTimeMs: now, endAtMs: Infinity, exitCode: 0, dead: false, lastEvent: EventType.SCHEDULE, message: '', endTimeMs: 0, cpuFraction: 0, ramFraction: 0 };
  }

  private start(m: SimMachine, d: DesiredTask, limit: Resources, env: Record<string, string>, now: number): SimTask {
    const duration = Number(env[SIM_DURATION_ENV]);
    const exit = Number(env[SIM_EXIT_CODE_ENV] ?? '0');
    const endAtMs = Number.isFinite(duration) && duration >= 0 ? now + Math.round(duration * (0.75 + 0.5 * m.rng.next())) : Infinity;
    this.counters.starts++;
    return {
      ...this.blank(d, now),
      limit,
      pid: this.nextPid++,
      endAtMs,
      exitCode: Number.isInteger(exit) && exit >= 0 && exit < 256 ? exit : 1,
      cpuFraction: 0.1 + 0.6 * m.rng.next(),
      ramFraction: 0.2 + 0.6 * m.rng.next(),
    };
  }

  private put(m: SimMachine, t: SimTask): void {
    m.tasks.set(t.taskId, t);
    this.taskMachine.set(t.taskId, m.config.name);
  }

  private status(t: SimTask): TaskStatus {
    const usage = t.dead ? resources() : resources({ cpuMillis: Math.round(t.limit.cpuMillis * t.cpuFraction), ramBytes: Math.round(t.limit.ramBytes * t.ramFraction) });
    return {
      taskId: t.taskId,
      specVersion: t.specVersion,
      state: t.dead ? TaskState.DEAD : TaskState.RUNNING,
      lastEvent: t.lastEvent,
      pid: t.pid,
      exitCode: t.exitCode,
      signal: '',
      oomKilled: false,
      restarts: 0,
      startTimeMs: t.startTimeMs,
      endTimeMs: t.endTimeMs,
      limit: { ...t.limit },
      // No reclamation here: the reservation stays at the limit, so the master sees no reservation changes.
      reservation: { ...t.limit },
      usage,
      cpuThrottledMs: 0,
      message: t.message,
      priority: t.priority,
      healthy: !t.dead,
    };
  }

  /** response is the machine's full actual state; pollSeq echoes the poll it answers (PollStream matches by it). */
  private response(m: SimMachine, refused: boolean, pollSeq: number): PollResponse {
    if (!refused && m.reply !== undefined) return { ...m.reply, pollSeq };
    const tasks: TaskStatus[] = [];
    let cpu = 0;
    let ram = 0;
    for (const t of m.tasks.values()) {
      const s = this.status(t);
      cpu += s.usage?.cpuMillis ?? 0;
      ram += s.usage?.ramBytes ?? 0;
      tasks.push(s);
    }
    const reply: PollResponse = {
      machine: m.config.name,
      ballotSeen: { ...m.seenBallot },
      refused,
      borgletStartMs: m.startMs,
      facts: {
        hostname: m.config.name,
        capacity: { ...m.config.capacity },
        attributes: { ...m.config.attributes, rack: m.config.rack, power_domain: m.config.powerDomain },
        os: 'simulated',
        cores: Math.max(1, Math.ceil(m.config.capacity.cpuMillis / 1000)),
        usage: resources({ cpuMillis: cpu, ramBytes: ram }),
        cgroupVersion: '',
      },
      // A refused poll reports no tasks: the deposed master may act on nothing it hears from this machine.
      tasks: refused ? [] : tasks,
      desiredVersion: m.desiredVersion,
      pollSeq,
      error: undefined,
    };
    if (!refused) m.reply = reply;
    return reply;
  }
}

/** runKeyOf: FNV-1a over the encoded spec and the ports, the inputs a run is made of. */
function runKeyOf(d: DesiredTask): number {
  let h = 0x811c9dc5;
  const mix = (byte: number): void => {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  };
  if (d.spec !== undefined) for (const byte of TaskSpec.encode(d.spec).finish()) mix(byte);
  for (const port of d.ports) for (let k = 0; k < 4; k++) mix((port >>> (8 * k)) & 0xff);
  return h;
}
