// The Borglet (B15 §3.3): runs the tasks its master orders as real processes in cgroups, reports their full
// state on every poll, reclaims unused reservations, sheds non-prod load under pressure, and keeps tasks running
// whatever happens to the master or to itself. This class is the thin IO shell: the decisions (validation,
// ballots, reclamation, pressure, restart policy, health) are pure functions in their own files.
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assert, unreachable } from '../model/assert';
import { BorgError, InvalidArgument, NotFound } from '../model/errors';
import { systemClock, type Clock } from '../model/clock';
import { isProd } from '../model/priority';
import { EventType, TaskState } from '../model/task_state';
import { equal, formatBytes, formatCores, resources, sum, type Resources } from '../model/resources';
import type { ReclamationConfig } from '../cells/config';
import { BORGLET_DEAD_TASKS_MAX, BORGLET_ENDED_TASK_LOGS_MAX, BORGLET_SAMPLE_INTERVAL_MS_DEFAULT, MAX_MACHINE_PORTS, MAX_TASKS_PER_MACHINE, TASK_PIDS_MAX } from '../cells/limits';
import { TaskSpec, type Ballot, type BorgletLogsRequest, type BorgletLogsResponse, type DesiredTask, type PollRequest, type PollResponse, type TaskStatus } from '../proto/index';
import { CGROUP_NAME_PATTERN, detectCgroupDriver, sharesFromCpuMillis, type CgroupDriver, type DriverPreference, type TaskCgroupLimits } from './cgroups/index';
import { validateDesiredTask, groupName, type ValidTask } from './spec';
import { formatBallot, judgeBallot } from './ballot';
import { reclaim, peakWindowMs, UsageWindow } from './reclaim';
import { cpuPlan, memoryEvictions, type PressureTask } from './pressure';
import { afterExit, forgives, type ExitInfo } from './restart_policy';
import { sameRunSpec } from '../model/task_spec';
import { healthStep, probeHttp } from './health';
import { decodeStatus, detectIsolation, ignoresAsNamespaceInit, Launcher, procStat, processAlive, resolveCommand, runDelayNs, sandboxRoot, DEFAULT_PATH, type Isolation, type LaunchEvent } from './runtime';
import { keepEndedLogs, logPath, pruneEndedLogs, rotateIfLarge, tailLog } from './logs';
import { loadState, saveState, type PersistedTask, type Phase } from './state_file';
import { capacityOf, readHostFacts, type HostFacts } from './facts';

export interface BorgletOptions {
  machine: string;
  cell?: string;
  stateDir: string;
  reclamation: ReclamationConfig;
  /** capacity overrides dimensions of the host's facts (one host acting as several small machines). */
  capacity?: Partial<Resources>;
  attributes?: Record<string, string>;
  sampleIntervalMs?: number;
  cgroupDriver?: DriverPreference;
  taskUser?: string;
  clock?: Clock;
  /** log receives one line per notable event (starts, exits, evictions); default: stderr. */
  log?: (line: string) => void;
}

/** taskDirName: the name of a task's directories (its cgroup's), or undefined for an id that cannot name one. */
function taskDirName(taskId: string): string | undefined {
  const g = groupName(taskId);
  return CGROUP_NAME_PATTERN.test(g) && !g.includes('..') ? g : undefined;
}

/** Rec is the Borglet's record of one task: what is persisted plus what lives only in this process. */
interface Rec extends PersistedTask {
  valid: ValidTask | null;
  /** next is a newer spec to start once the current run has stopped (an update). */
  next: ValidTask | null;
  restartAfterStop: boolean;
  window: UsageWindow;
  lastCpu: { atMs: number; ns: number } | null;
  usage: { cpuMillis: number; ramBytes: number };
  /** waitCpuMillis: the rate at which the task's processes waited for a CPU (see runDelayNs). */
  waitCpuMillis: number;
  lastWait: { atMs: number; ns: number } | null;
  throttledNs: number;
  stopDeadlineMs: number;
  cpuQuotaMillis: number | null;
  health: { failures: number; healthy: boolean; nextMs: number; probing: boolean };
  /** lastExit: how the last run ended, for the message of the run that restarts it. */
  lastExit: string;
}

/** START_WAIT_MS: how long a poll waits for the tasks it started to be running before it replies anyway. */
const START_WAIT_MS = 2_000;
/** START_TIMEOUT_MS: a run the launcher has not even forked after this long has failed to start. */
const START_TIMEOUT_MS = 30_000;

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Borglet {
  readonly machine: string;
  readonly startMs: number;
  readonly capacity: Resources;
  private readonly records = new Map<string, Rec>();
  private seenBallot: Ballot = { round: 0, replica: 0 };
  /**
   * desiredVersion: the master's version of the last complete desired state reconciled against, echoed in every
   * response so steady-state polls carry no specs. Kept in memory only: after a restart it is 0 and the master
   * sends the complete state again, which this Borglet reconciles against its recorded tasks.
   */
  private desiredVersion = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private throttling = false;
  private ticks = 0;
  private pendingRemoval = new Set<string>();
  private pollChain: Promise<unknown> = Promise.resolve();
  private readonly launcher: Launcher;
  /** sandboxes: where tasks' working directories go when not beside their files (runtime.ts sandboxRoot). */
  private sandboxes: string | undefined;
  /** tokens: launch token (group:runId) -> record, for the launcher's reports. */
  private readonly tokens = new Map<string, Rec>();
  private readonly startWaiters = new Map<string, () => void>();
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly sampleIntervalMs: number;

  private constructor(
    private readonly opts: BorgletOptions,
    readonly host: HostFacts,
    readonly driver: CgroupDriver,
    readonly isolation: Isolation,
  ) {
    this.machine = opts.machine;
    this.clock = opts.clock ?? systemClock;
    this.startMs = this.clock.nowMs();
    this.log = opts.log ?? ((l) => process.stderr.write(`borglet ${opts.machine}: ${l}\n`));
    this.sampleIntervalMs = opts.sampleIntervalMs ?? BORGLET_SAMPLE_INTERVAL_MS_DEFAULT;
    this.capacity = capacityOf(host, opts.capacity ?? {}, Math.min(MAX_MACHINE_PORTS, 1_000));
    this.launcher = new Launcher((e) => this.onLaunchEvent(e), this.log);
  }

  /** create reads the host, picks the cgroup driver, and recovers tasks from the state file and cgroups. */
  static async create(opts: BorgletOptions): Promise<Borglet> {
    mkdirSync(join(opts.stateDir, 'tasks'), { recursive: true });
    const host = await readHostFacts(opts.stateDir);
    const driver = detectCgroupDriver(opts.machine, opts.cgroupDriver ?? 'auto');
    const isolation = detectIsolation(opts.taskUser ?? 'nobody');
    const b = new Borglet(opts, host, driver, isolation);
    b.sandboxes = sandboxRoot(b.tasksDir, isolation, opts.cell, opts.machine, b.log);
    b.recover();
    return b;
  }

  /** endedLogs: how many tasks' logs endedDir holds (counted at start, kept up to date since). */
  private endedLogs = 0;

  /** endedDir keeps the logs of tasks that left the machine (logs.ts keepEndedLogs). */
  private get endedDir(): string {
    return join(this.opts.stateDir, 'ended');
  }

  private get tasksDir(): string {
    return join(this.opts.stateDir, 'tasks');
  }

  // ---------------------------------------------------------------- recovery

  /** recover adopts the tasks of the state file that still run, settles the ones that ended, kills orphans. */
  private recover(): void {
    this.driver.setupMachine({ memoryBytes: this.capacity.ramBytes, cpuMillis: this.capacity.cpuMillis });
    const state = loadState(this.opts.stateDir);
    if (state !== undefined) {
      if (state.machine !== this.machine) throw new BorgError('failed_precondition', `state dir ${this.opts.stateDir} belongs to machine ${state.machine}, not ${this.machine}`);
      this.seenBallot = state.seenBallot;
      for (const p of state.tasks) {
        const rec = this.fromPersisted(p);
        this.records.set(rec.taskId, rec);
        if (rec.phase === 'starting' || rec.phase === 'running' || rec.phase === 'stopping') {
          if (this.runAlive(rec)) {
            if (rec.phase === 'starting') {
              // Recorded before its pids: the first process to join the group is the task's root.
              rec.phase = 'running';
              if (rec.pid === 0) rec.pid = this.driver.members(groupName(rec.taskId))[0] ?? 0;
            }
            if (rec.phase === 'stopping') this.signalStop(rec, rec.stopDeadlineMs - this.clock.nowMs());
            this.log(`adopted ${rec.taskId} pid ${rec.pid}`);
          } else {
            this.settleAdoptedExit(rec);
          }
        }
      }
    }
    const known = new Set([...this.records.values()].map((r) => groupName(r.taskId)));
    // Sandboxes outside the state dir (sandboxRoot) that no record owns: their state dir was removed meanwhile.
    if (this.sandboxes !== undefined) for (const d of readdirSync(this.sandboxes)) if (!known.has(d)) rmSync(join(this.sandboxes, d), { recursive: true, force: true });
    this.endedLogs = pruneEndedLogs(this.endedDir, BORGLET_ENDED_TASK_LOGS_MAX);
    for (const g of this.driver.list()) {
      if (known.has(g) && this.records.get(this.taskIdOfGroup(g))?.phase !== 'dead') continue;
      // A group without a live record: made by a Borglet that crashed before recording the start, or left over
      // from a dead task. Its processes are not ours to keep.
      this.driver.kill(g, 'SIGKILL');
      this.pendingRemoval.add(g);
    }
    this.removePending();
    this.dirty = true;
    this.flush();
  }

  /**
   * runAlive: the run's wrapper lives (checked with its start time against pid reuse); for a run recorded before
   * its wrapper reported, any process left in the task's group.
   */
  private runAlive(r: Rec): boolean {
    if (r.wrapperPid > 0) return processAlive(r.wrapperPid, r.wrapperStartTicks);
    return this.driver.members(groupName(r.taskId)).length > 0;
  }

  private taskIdOfGroup(g: string): string {
    for (const r of this.records.values()) if (groupName(r.taskId) === g) return r.taskId;
    return '';
  }

  private fromPersisted(p: PersistedTask): Rec {
    let valid: ValidTask | null = null;
    if (p.spec !== '') {
      const spec = TaskSpec.decode(Buffer.from(p.spec, 'base64'));
      const d: DesiredTask = { taskId: p.taskId, specVersion: p.specVersion, spec, priority: p.priority, bnsName: p.bnsName, ports: p.ports };
      // Checked against no capacity: the task was accepted once, and a smaller --ram on restart must not orphan it.
      const unbounded = { cpuMillis: Number.MAX_SAFE_INTEGER, ramBytes: Number.MAX_SAFE_INTEGER, diskBytes: Number.MAX_SAFE_INTEGER, ports: Number.MAX_SAFE_INTEGER };
      try {
        valid = validateDesiredTask(d, unbounded, 'state');
      } catch (e: unknown) {
        // A newer Borglet may be stricter than the one that accepted the task: keep the run (it can still be
        // watched and stopped) but never start it again.
        this.log(`${p.taskId}: its recorded spec no longer validates (${errMessage(e)}); it will not be restarted`);
      }
    }
    const rec = this.blank(p.taskId, valid);
    Object.assign(rec, p);
    rec.stopDeadlineMs = this.clock.nowMs() + (valid?.killGraceMs ?? 0);
    return rec;
  }

  private toPersisted(r: Rec): PersistedTask {
    return {
      taskId: r.taskId,
      specVersion: r.specVersion,
      spec: r.valid ? Buffer.from(TaskSpec.encode(r.valid.spec).finish()).toString('base64') : '',
      priority: r.priority,
      bnsName: r.bnsName,
      ports: r.ports,
      phase: r.phase,
      pid: r.pid,
      wrapperPid: r.wrapperPid,
      wrapperStartTicks: r.wrapperStartTicks,
      runId: r.runId,
      startTimeMs: r.startTimeMs,
      endTimeMs: r.endTimeMs,
      restarts: r.restarts,
      streak: r.streak,
      streakReset: r.streakReset,
      exitCode: r.exitCode,
      signal: r.signal,
      oomKilled: r.oomKilled,
      lastEvent: r.lastEvent,
      message: r.message,
      reservation: r.reservation,
      lastDecayMs: r.lastDecayMs,
      oomBaseline: r.oomBaseline,
      nextRestartMs: r.nextRestartMs,
      forget: r.forget,
    };
  }

  private blank(taskId: string, valid: ValidTask | null): Rec {
    return {
      taskId,
      specVersion: valid?.specVersion ?? 0,
      spec: '',
      priority: valid?.priority ?? 0,
      bnsName: valid?.bnsName ?? '',
      ports: valid?.ports ?? [],
      phase: 'dead',
      pid: 0,
      wrapperPid: 0,
      wrapperStartTicks: 0,
      runId: 0,
      startTimeMs: 0,
      endTimeMs: 0,
      restarts: 0,
      streak: 0,
      streakReset: false,
      exitCode: null,
      signal: null,
      oomKilled: false,
      lastEvent: EventType.SUBMIT,
      message: '',
      reservation: valid ? { ...valid.limit } : resources(),
      lastDecayMs: 0,
      oomBaseline: 0,
      nextRestartMs: 0,
      forget: false,
      valid,
      next: null,
      restartAfterStop: false,
      window: new UsageWindow(),
      lastCpu: null,
      usage: { cpuMillis: 0, ramBytes: 0 },
      waitCpuMillis: 0,
      lastWait: null,
      throttledNs: 0,
      stopDeadlineMs: 0,
      cpuQuotaMillis: null,
      health: { failures: 0, healthy: true, nextMs: 0, probing: false },
      lastExit: '',
    };
  }

  /** taskDir is the task's directory (logs, exit statuses; its sandbox too, see workDir). Validated ids only. */
  private taskDir(r: Rec): string {
    return join(this.tasksDir, this.dirName(r));
  }

  /** workDir is the task's sandbox, its working directory unless its spec names one (runtime.ts sandboxRoot). */
  private workDir(r: Rec): string {
    return this.sandboxes === undefined ? join(this.taskDir(r), 'work') : join(this.sandboxes, this.dirName(r));
  }

  private dirName(r: Rec): string {
    const g = taskDirName(r.taskId);
    assert(g !== undefined, `task directory for an unvalidated id ${JSON.stringify(r.taskId)}`);
    return g;
  }

  /** forgetFiles removes a forgotten task's directories but keeps its logs (ended/). Only validated tasks have any. */
  private forgetFiles(r: Rec): void {
    if (r.valid === null) return;
    try {
      // Over the bound, the oldest go a quarter at a time (one listing per quarter, not per task).
      if (keepEndedLogs(this.taskDir(r), this.endedDir, this.dirName(r))) this.endedLogs++;
      if (this.endedLogs > BORGLET_ENDED_TASK_LOGS_MAX) this.endedLogs = pruneEndedLogs(this.endedDir, (BORGLET_ENDED_TASK_LOGS_MAX * 3) / 4);
    } catch (e: unknown) {
      this.log(`could not keep the logs of ${r.taskId}: ${errMessage(e)}`);
    }
    rmSync(this.taskDir(r), { recursive: true, force: true });
    if (this.sandboxes !== undefined) rmSync(this.workDir(r), { recursive: true, force: true });
  }

  private statusFile(r: Rec): string {
    return join(this.taskDir(r), `exit-${r.runId}`);
  }

  /** settleAdoptedExit handles a task that ended while no Borglet was its parent: its wrapper left the status. */
  private settleAdoptedExit(r: Rec): void {
    let status: number | null = null;
    try {
      const text = readFileSync(this.statusFile(r), 'utf8').trim();
      if (/^\d+$/.test(text)) status = Number(text);
    } catch {
      // the wrapper itself was killed: the status is lost
    }
    this.onExit(r, r.runId, status, status === null ? 'SIGKILL' : null, status === null ? 'exit status lost (the task wrapper was killed)' : '');
  }

  // ---------------------------------------------------------------- running tasks

  private env(v: ValidTask, cwd: string): Record<string, string> {
    const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: cwd, ...v.spec.env };
    env.BORG_TASK_ID = v.taskId;
    env.BORG_BNS_NAME = v.bnsName;
    env.BORG_MACHINE = this.machine;
    if (this.opts.cell) env.BORG_CELL = this.opts.cell;
    env.BORG_PORTS = v.ports.join(',');
    if (v.ports[0] !== undefined) env.BORG_PORT = String(v.ports[0]);
    v.ports.forEach((p, i) => (env[`BORG_PORT_${i}`] = String(p)));
    return env;
  }

  private reject(r: Rec, message: string): void {
    r.phase = 'dead';
    r.lastEvent = EventType.FAIL;
    r.message = message;
    r.pid = 0;
    r.endTimeMs = this.clock.nowMs();
    this.dirty = true;
    this.log(`${r.taskId}: ${message}`);
  }

  /**
   * startRun starts the task's current spec: checks what only the host can tell (binary, working directory),
   * makes and limits the cgroup, then launches. Anything wrong before the launch marks the task dead with the
   * reason and starts nothing.
   */
  private startRun(r: Rec, message = ''): Promise<void> {
    const v = r.valid;
    assert(v !== null, 'startRun needs a valid spec');
    const now = this.clock.nowMs();
    r.runId += 1;
    r.exitCode = null;
    r.signal = null;
    r.oomKilled = false;
    r.message = message;
    r.pid = 0;
    r.startTimeMs = now;
    r.endTimeMs = 0;
    r.reservation = { ...v.limit };
    r.lastDecayMs = 0;
    r.window.clear();
    r.lastCpu = null;
    r.lastWait = null;
    r.waitCpuMillis = 0;
    r.usage = { cpuMillis: 0, ramBytes: 0 };
    r.cpuQuotaMillis = null;
    r.health = { failures: 0, healthy: v.health === null, nextMs: now + (v.health?.intervalMs ?? 0), probing: false };
    const dir = this.taskDir(r);
    const group = groupName(r.taskId);
    let command: string;
    let cwd: string;
    try {
      mkdirSync(dir, { recursive: true });
      cwd = v.spec.workingDir;
      if (cwd === '') {
        cwd = this.workDir(r);
        mkdirSync(cwd, { recursive: true });
        if (this.isolation.user) chownSync(cwd, this.isolation.user.uid, this.isolation.user.gid);
      } else if (!existsSync(cwd)) {
        throw new InvalidArgument('spec.workingDir', `${JSON.stringify(cwd)} does not exist on ${this.machine}`);
      }
      command = resolveCommand(v.spec.command, this.env(v, cwd), cwd, 'spec.command');
    } catch (e: unknown) {
      this.reject(r, `invalid task spec: ${errMessage(e)}`);
      return Promise.resolve();
    }
    try {
      this.driver.create(group);
      this.driver.setLimits(group, cgroupLimits(v, null));
      r.oomBaseline = this.driver.usage(group).oomKills;
      rmSync(this.statusFile(r), { force: true });
      const runId = r.runId;
      const token = `${group}:${runId}`;
      r.phase = 'starting';
      r.lastEvent = EventType.SCHEDULE;
      r.wrapperPid = 0;
      r.wrapperStartTicks = 0;
      this.dirty = true;
      const started = new Promise<void>((resolve) => this.startWaiters.set(token, resolve));
      this.tokens.set(token, r);
      this.launcher.launch({
        token,
        command,
        args: v.spec.args,
        env: this.env(v, cwd),
        cwd,
        procsFiles: this.driver.procsFiles(group),
        // Under a machine-wide OOM the kernel should pick non-prod first, lowest priority first.
        oomScoreAdj: isProd(v.priority) ? 0 : 1000 - Math.min(119, v.priority),
        statusFile: this.statusFile(r),
        stdoutPath: logPath(dir, 'stdout'),
        stderrPath: logPath(dir, 'stderr'),
        launchFile: join(dir, 'launch.sh'),
        isolation: this.isolation,
      });
      return started;
    } catch (e: unknown) {
      this.reject(r, `cannot start: ${errMessage(e)}`);
      this.driver.kill(group, 'SIGKILL');
      this.pendingRemoval.add(group);
      return Promise.resolve();
    }
  }

  /** onLaunchEvent applies the launcher's reports: the wrapper's pid, the task's pid (running), the exit. */
  private onLaunchEvent(e: LaunchEvent): void {
    const r = this.tokens.get(e.token);
    const runId = Number(e.token.slice(e.token.lastIndexOf(':') + 1));
    if (r === undefined || r.runId !== runId) {
      this.tokens.delete(e.token);
      return;
    }
    switch (e.kind) {
      case 'wrapper':
        r.wrapperPid = e.value;
        r.wrapperStartTicks = procStat(e.value)?.startTicks ?? 0;
        this.dirty = true;
        return;
      case 'pid':
        if (r.phase === 'starting') {
          r.pid = e.value;
          r.phase = 'running';
          this.dirty = true;
          this.log(`started ${r.taskId} pid ${e.value} (run ${runId})`);
        } else if (r.phase === 'stopping') {
          // Stopped while starting: the polite signal went out before the process had joined its group.
          r.pid = e.value;
          this.signalStop(r, r.stopDeadlineMs - this.clock.nowMs());
        }
        this.startWaiters.get(e.token)?.();
        this.startWaiters.delete(e.token);
        return;
      case 'exit':
        this.tokens.delete(e.token);
        this.startWaiters.get(e.token)?.();
        this.startWaiters.delete(e.token);
        this.onExit(r, runId, e.value, null, '');
        this.flushSoon();
        return;
      default:
        unreachable(e.kind, 'launch event');
    }
  }

  /** onExit settles a run's end, whoever noticed it first (the launcher's report, or the liveness check). */
  private onExit(r: Rec, runId: number, status: number | null, wrapperSignal: NodeJS.Signals | null, note: string): void {
    if (r.runId !== runId || r.phase === 'dead' || r.phase === 'backoff') return;
    const group = groupName(r.taskId);
    const now = this.clock.nowMs();
    const decoded = status === null ? { code: null, signal: wrapperSignal } : decodeStatus(status);
    const oom = this.driver.exists(group) && this.driver.usage(group).oomKills > r.oomBaseline;
    // The task is its cgroup: processes it left behind die with it.
    this.driver.kill(group, 'SIGKILL');
    this.pendingRemoval.add(group);
    // The OOM killer always sends SIGKILL; say so even where a wrapper layer turned it into an exit code.
    r.exitCode = oom && decoded.signal === null ? null : decoded.code;
    r.signal = oom && decoded.signal === null ? 'SIGKILL' : decoded.signal;
    r.oomKilled = oom;
    r.endTimeMs = now;
    r.pid = 0;
    r.usage = { cpuMillis: 0, ramBytes: 0 };
    this.dirty = true;
    const how = oom ? 'was OOM-killed' : decoded.signal ? `was killed by ${decoded.signal}` : `exited with code ${decoded.code}`;
    this.log(`${r.taskId} ${how}${note ? ` (${note})` : ''}`);
    if (r.phase === 'stopping' && !r.restartAfterStop) {
      // lastEvent and message already say why it was stopped.
      this.afterStopped(r);
      return;
    }
    const restartAfterStop = r.restartAfterStop;
    r.restartAfterStop = false;
    const exit: ExitInfo = { code: decoded.code, signal: decoded.signal, oomKilled: oom };
    const rule = r.valid?.restart ?? { kind: 'never', maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 };
    if (forgives(rule, r.startTimeMs, now)) {
      r.streak = 0;
      r.streakReset = true;
    }
    const next = afterExit(rule, restartAfterStop ? { ...exit, code: 1 } : exit, r.streak);
    r.streak += 1;
    r.lastEvent = next.event;
    const why = restartAfterStop ? r.message : `${how}${note ? ` (${note})` : ''}`;
    r.lastExit = why;
    if (next.kind === 'restart') {
      r.phase = 'backoff';
      r.nextRestartMs = now + next.delayMs;
      r.message = `${why}; restarting in ${next.delayMs}ms`;
    } else {
      r.phase = 'dead';
      r.message = why;
    }
  }

  /** afterStopped finishes a deliberate stop: forget the task, start its update, or leave it dead. */
  private afterStopped(r: Rec): void {
    r.phase = 'dead';
    r.pid = 0;
    if (r.next) {
      const v = r.next;
      r.next = null;
      // A run spec no run serves in place is one the master never updates in place: it took the task down and placed
      // it here again (a rolling update), and the new run starts a new placement, not a restart.
      if (r.valid === null || !sameRun(r.valid, v)) void this.startPlacement(r, v);
      else {
        // The master updated the task in place and this run could not carry on under the new version (its cgroup
        // would not resize, or it was waiting out a restart back-off): a restart on the machine, reported as one.
        r.restarts += 1;
        this.adopt(r, v);
        void this.startRun(r, `previous run: ${r.message}`);
      }
    } else if (r.forget) {
      this.records.delete(r.taskId);
      this.pendingRemoval.add(groupName(r.taskId));
      this.removePending();
      this.forgetFiles(r);
    }
    this.dirty = true;
  }

  /**
   * resize sets the cgroup of r's run to the limits of version v when they changed (cpu, ram, latency sensitivity),
   * keeping any throttling quota; the reservation starts over at the new limit, as for a new run. Returns why the
   * kernel refused (v1 refuses a memory limit below what the group uses), or undefined.
   */
  private resize(r: Rec, v: ValidTask): string | undefined {
    const old = r.valid;
    if (old === null || (equal(old.limit, v.limit) && cgroupLimits(old, null).cpuShares === cgroupLimits(v, null).cpuShares)) return undefined;
    try {
      this.driver.setLimits(groupName(r.taskId), cgroupLimits(v, r.cpuQuotaMillis));
    } catch (e: unknown) {
      return errMessage(e);
    }
    r.reservation = { ...v.limit };
    this.log(`${r.taskId} resized in place to ${formatCores(v.limit.cpuMillis)} cores, ${formatBytes(v.limit.ramBytes)} ram`);
    return undefined;
  }

  private adopt(r: Rec, v: ValidTask): void {
    // A running task's new health check applies from its next probe, counting failures afresh; none means healthy.
    if (r.valid !== null && JSON.stringify(r.valid.health) !== JSON.stringify(v.health)) {
      r.health = { failures: 0, healthy: v.health === null || r.health.healthy, nextMs: this.clock.nowMs() + (v.health?.intervalMs ?? 0), probing: r.health.probing };
    }
    r.valid = v;
    r.specVersion = v.specVersion;
    r.priority = v.priority;
    r.bnsName = v.bnsName;
    r.ports = v.ports;
    r.forget = false;
  }

  /** signalStop sends the polite signal now and arms the SIGKILL deadline. */
  private signalStop(r: Rec, graceMs: number): void {
    const group = groupName(r.taskId);
    r.stopDeadlineMs = this.clock.nowMs() + Math.max(0, graceMs);
    if (graceMs <= 0) {
      this.driver.kill(group, 'SIGKILL');
      return;
    }
    this.driver.kill(group, 'SIGTERM');
    for (const pid of this.driver.pids(group)) {
      if (ignoresAsNamespaceInit(pid, 'SIGTERM')) {
        // Kill the namespace's unshare parent rather than the init itself: --kill-child takes the namespace down
        // with it, and the wrapper then sees a clean SIGKILL (util-linux 2.38's unshare exits 1 when its child
        // dies of SIGKILL, which would read as an ordinary failure).
        const parent = procStat(pid)?.ppid ?? 0;
        const target = parent > 0 && this.driver.pids(group).includes(parent) ? parent : pid;
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** startPlacement starts a task the master placed here anew: its counts on this machine start over. */
  private startPlacement(r: Rec, v: ValidTask): Promise<void> {
    this.adopt(r, v);
    r.restarts = 0;
    r.streak = 0;
    r.streakReset = false;
    return this.startRun(r);
  }

  /** stopRun stops a task for a reason (event + message); with `next`, starts that version after it stopped. */
  private stopRun(r: Rec, event: EventType, message: string, opts: { graceMs?: number; forget?: boolean; next?: ValidTask | null; restart?: boolean }): void {
    if (opts.forget !== undefined) r.forget = opts.forget;
    if (opts.next !== undefined) r.next = opts.next;
    r.restartAfterStop = opts.restart ?? false;
    r.lastEvent = event;
    r.message = message;
    this.dirty = true;
    switch (r.phase) {
      case 'starting':
      case 'running':
      case 'stopping':
        r.phase = 'stopping';
        this.signalStop(r, opts.graceMs ?? r.valid?.killGraceMs ?? 0);
        this.log(`stopping ${r.taskId}: ${message}`);
        return;
      case 'backoff':
      case 'dead':
        this.afterStopped(r);
        return;
    }
  }

  // ---------------------------------------------------------------- the poll

  /** poll serves one master poll; polls are handled one at a time so orders never interleave. */
  poll(req: PollRequest): Promise<PollResponse> {
    const run = this.pollChain.then(() => this.pollNow(req));
    this.pollChain = run.catch(() => undefined);
    return run;
  }

  private async pollNow(req: PollRequest): Promise<PollResponse> {
    if (req.machine !== '' && req.machine !== this.machine) throw new InvalidArgument('machine', `this Borglet serves ${JSON.stringify(this.machine)}, not ${JSON.stringify(req.machine)}`);
    if (req.ballot === undefined) throw new InvalidArgument('ballot', 'is required');
    if (req.tasks.length > MAX_TASKS_PER_MACHINE) throw new InvalidArgument('tasks', `has ${req.tasks.length} entries, at most ${MAX_TASKS_PER_MACHINE} per machine`);
    const ids = new Set<string>();
    req.tasks.forEach((t, i) => {
      if (t.taskId === '' || t.taskId.length > 512) throw new InvalidArgument(`tasks[${i}].taskId`, 'must be a task id (cell/user/job/index)');
      if (ids.has(t.taskId)) throw new InvalidArgument(`tasks[${i}].taskId`, `${t.taskId} is listed twice`);
      ids.add(t.taskId);
    });
    const verdict = judgeBallot(this.seenBallot, req.ballot);
    if (verdict.kind === 'refuse') return this.response(true, req.pollSeq);
    if (verdict.newer) {
      // Persist before acting: after a crash this Borglet must still refuse every older master.
      const previous = this.seenBallot;
      this.seenBallot = { round: req.ballot.round, replica: req.ballot.replica };
      this.dirty = true;
      try {
        this.flush();
      } catch (e: unknown) {
        this.seenBallot = previous;
        throw new BorgError('unavailable', `cannot persist ballot ${formatBallot(req.ballot)}, so no orders are taken: ${errMessage(e)}`, { cause: e });
      }
    }
    if (req.authoritative) {
      const starts = this.reconcile(req.tasks);
      this.desiredVersion = req.desiredVersion ?? 0;
      // Persist the orders (new records in phase `starting`) while the launcher forks: the fsync and the process
      // start overlap. A Borglet killed before the pids reach the disk adopts those runs by cgroup membership.
      this.flush();
      if (starts.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(starts), new Promise((r) => (timer = setTimeout(r, START_WAIT_MS)))]);
        clearTimeout(timer);
        this.flushSoon();
      }
    }
    if (this.dirty && this.flushTimer === null) this.flush();
    return this.response(false, req.pollSeq);
  }

  /** reconcile makes the machine match the master's complete desired state. Returns the starts under way. */
  private reconcile(desired: DesiredTask[]): Promise<void>[] {
    const starts: Promise<void>[] = [];
    const wanted = new Set<string>();
    desired.forEach((d, i) => {
      wanted.add(d.taskId);
      const existing = this.records.get(d.taskId);
      let v: ValidTask;
      try {
        v = validateDesiredTask(d, this.capacity, `tasks[${i}]`);
      } catch (e: unknown) {
        if (!(e instanceof InvalidArgument)) throw e;
        if (existing && existing.specVersion === d.specVersion && existing.valid === null) return;
        const message = `invalid task spec: ${e.message}`;
        if (existing && existing.phase !== 'dead') {
          this.stopRun(existing, EventType.KILL, `replaced by spec version ${d.specVersion}, which is invalid: ${e.message}`, { next: null, forget: false });
          existing.specVersion = d.specVersion;
          return;
        }
        const r = this.blank(d.taskId, null);
        r.specVersion = d.specVersion;
        r.priority = typeof d.priority === 'number' ? d.priority : 0;
        this.records.set(d.taskId, r);
        this.reject(r, message);
        return;
      }
      if (existing === undefined) {
        const r = this.blank(d.taskId, v);
        this.records.set(d.taskId, r);
        starts.push(this.startRun(r));
      } else if (existing.specVersion !== v.specVersion || existing.valid === null) {
        if ((existing.phase === 'running' || existing.phase === 'starting') && existing.next === null && existing.valid !== null && sameRun(existing.valid, v)) {
          // A new version one run serves (a new priority, policy or limits; model/task_spec): the run carries on
          // under it (B15 §2.3), its cgroup resized; a limit the kernel refuses (ram below the task's use) restarts it.
          const refused = this.resize(existing, v);
          if (refused === undefined) {
            this.adopt(existing, v);
            this.dirty = true;
          } else this.stopRun(existing, EventType.UPDATE_RUNNING, `restarting at spec version ${v.specVersion}: its cgroup could not be resized (${refused})`, { next: v, forget: false });
        } else if (existing.phase === 'dead') {
          starts.push(this.startPlacement(existing, v));
        } else {
          this.stopRun(existing, EventType.UPDATE_RUNNING, `updating to spec version ${v.specVersion}`, { next: v, forget: false });
        }
      } else {
        existing.forget = false;
        existing.priority = v.priority;
      }
    });
    for (const r of [...this.records.values()]) {
      if (wanted.has(r.taskId)) continue;
      if (r.phase === 'dead') {
        this.records.delete(r.taskId);
        this.forgetFiles(r);
        this.dirty = true;
      } else if (!(r.phase === 'stopping' && r.forget)) {
        this.stopRun(r, EventType.KILL, 'killed: the master no longer wants this task here', { forget: true, next: null });
      }
    }
    return starts;
  }

  /** response is the full actual state; pollSeq echoes the poll it answers (a PollStream matches replies by it). */
  private response(refused: boolean, pollSeq: number): PollResponse {
    const tasks = [...this.records.values()].map((r) => this.status(r));
    return {
      machine: this.machine,
      pollSeq,
      error: undefined,
      ballotSeen: { ...this.seenBallot },
      refused,
      borgletStartMs: this.startMs,
      desiredVersion: this.desiredVersion,
      facts: {
        hostname: this.host.hostname,
        capacity: { ...this.capacity },
        attributes: { ...(this.opts.attributes ?? {}), 'borglet.isolation': this.isolation.summary, 'borglet.cgroups': this.driver.description },
        os: this.host.os,
        cores: this.host.cores,
        usage: resources({
          cpuMillis: Math.round(tasks.reduce((s, t) => s + (t.usage?.cpuMillis ?? 0), 0)),
          ramBytes: tasks.reduce((s, t) => s + (t.usage?.ramBytes ?? 0), 0),
        }),
        cgroupVersion: this.driver.version,
      },
      tasks,
    };
  }

  private status(r: Rec): TaskStatus {
    const state = ((p: Phase): TaskState => {
      switch (p) {
        case 'starting':
          return TaskState.PENDING;
        case 'running':
        case 'backoff':
        case 'stopping':
          return TaskState.RUNNING;
        case 'dead':
          return TaskState.DEAD;
      }
    })(r.phase);
    return {
      taskId: r.taskId,
      specVersion: r.specVersion,
      state,
      lastEvent: r.lastEvent,
      pid: r.pid,
      exitCode: r.exitCode ?? 0,
      signal: r.signal ?? '',
      oomKilled: r.oomKilled,
      restarts: r.restarts,
      streak: r.streak,
      streakReset: r.streakReset,
      startTimeMs: r.startTimeMs,
      endTimeMs: r.endTimeMs,
      limit: r.valid ? { ...r.valid.limit } : resources(),
      reservation: { ...r.reservation },
      usage: resources({ cpuMillis: Math.round(r.usage.cpuMillis), ramBytes: r.usage.ramBytes }),
      cpuThrottledMs: Math.floor(r.throttledNs / 1e6),
      message: r.phase === 'backoff' || r.phase === 'dead' || r.phase === 'stopping' || r.cpuQuotaMillis === null ? r.message : `${r.message === '' ? '' : `${r.message}; `}cpu throttled to ${r.cpuQuotaMillis}m`,
      priority: r.priority,
      healthy: r.phase === 'running' && r.health.healthy,
    };
  }

  /** statuses is the current view of every task (what the next poll would report). */
  statuses(): TaskStatus[] {
    return [...this.records.values()].map((r) => this.status(r));
  }

  get ballotSeen(): Ballot {
    return { ...this.seenBallot };
  }

  taskLogs(req: BorgletLogsRequest): BorgletLogsResponse {
    const r = this.records.get(req.taskId);
    const stream = req.stderr ? 'stderr' : 'stdout';
    if (r !== undefined && r.valid !== null) return tailLog(this.taskDir(r), stream, req.tailBytes);
    // A task that left the machine: what was kept of its logs, if anything.
    const ended = taskDirName(req.taskId);
    if (ended !== undefined && existsSync(join(this.endedDir, ended))) return tailLog(join(this.endedDir, ended), stream, req.tailBytes);
    throw new NotFound(`logs of task ${JSON.stringify(req.taskId)} on ${this.machine}`);
  }

  // ---------------------------------------------------------------- the periodic loop

  /** run starts the sampling loop (usage, reclamation, pressure, restarts, health). */
  run(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (e: unknown) {
        this.log(`tick failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }, this.sampleIntervalMs);
  }

  /** stop ends the loop. Tasks keep running: nothing kills a task because its Borglet went away (B15 §4). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.launcher.close();
    this.flush();
  }

  /** tick is one round of the loop; exposed for tests that drive time themselves. */
  tick(): void {
    const now = this.clock.nowMs();
    this.ticks++;
    for (const r of [...this.records.values()]) {
      if (r.phase === 'running' || r.phase === 'stopping' || r.phase === 'starting') {
        // Runs this process launched report their exit through the launcher; /proc is the fallback for them (every
        // fifth tick) and the only way for runs adopted from an earlier Borglet.
        const launchedHere = this.tokens.has(`${groupName(r.taskId)}:${r.runId}`);
        const checkNow = !launchedHere || this.ticks % 5 === 0;
        if (checkNow && (r.wrapperPid > 0 || r.phase !== 'starting') && !this.runAlive(r)) {
          this.settleAdoptedExit(r);
          continue;
        }
        this.sample(r, now);
      }
      if (r.phase === 'starting' && r.wrapperPid === 0 && now - r.startTimeMs > START_TIMEOUT_MS) {
        // The launcher never reported this run (it died before forking it): the start failed, and nothing runs.
        this.tokens.delete(`${groupName(r.taskId)}:${r.runId}`);
        this.onExit(r, r.runId, null, 'SIGKILL', `the launcher never started it within ${START_TIMEOUT_MS}ms`);
        continue;
      }
      if (r.phase === 'stopping' && now >= r.stopDeadlineMs) this.driver.kill(groupName(r.taskId), 'SIGKILL');
      if (r.phase === 'backoff' && now >= r.nextRestartMs) {
        r.restarts += 1;
        // The run says why it is a restart (in the master's RESTART event and the task's message) until it ends.
        void this.startRun(r, r.lastExit === '' ? '' : `previous run: ${r.lastExit}`);
      }
      if (r.phase === 'running' && r.valid) {
        const out = reclaim(
          { limit: r.valid.limit, reservation: r.reservation, startMs: r.startTimeMs, lastDecayMs: r.lastDecayMs, usage: r.usage, peak: r.window.peak(now - peakWindowMs(this.opts.reclamation)) },
          this.opts.reclamation,
          now,
        );
        if (out.reservation.cpuMillis !== r.reservation.cpuMillis || out.reservation.ramBytes !== r.reservation.ramBytes) this.dirty = true;
        r.reservation = out.reservation;
        r.lastDecayMs = out.lastDecayMs;
        this.checkHealth(r, now);
      }
    }
    this.relievePressure();
    this.removePending();
    if (this.ticks % 10 === 0) this.rotateLogs();
    this.trimDead();
    this.flush();
  }

  private sample(r: Rec, now: number): void {
    const group = groupName(r.taskId);
    const u = this.driver.usage(group);
    const cpuMillis = r.lastCpu && now > r.lastCpu.atMs ? Math.max(0, (u.cpuUsageNs - r.lastCpu.ns) / (now - r.lastCpu.atMs) / 1000) : 0;
    r.lastCpu = { atMs: now, ns: u.cpuUsageNs };
    const waitNs = runDelayNs(this.driver.members(group));
    // A process that exits takes its run delay with it; a drop just means no reading this round.
    r.waitCpuMillis = r.lastWait && now > r.lastWait.atMs ? Math.max(0, (waitNs - r.lastWait.ns) / (now - r.lastWait.atMs) / 1000) : 0;
    r.lastWait = { atMs: now, ns: waitNs };
    r.usage = { cpuMillis, ramBytes: u.memoryBytes };
    r.throttledNs = u.cpuThrottledNs;
    r.window.push({ atMs: now, cpuMillis: Math.round(cpuMillis), ramBytes: u.memoryBytes });
  }

  private relievePressure(): void {
    const live: PressureTask[] = [];
    for (const r of this.records.values()) {
      if (r.phase !== 'running' || r.valid === null) continue;
      live.push({
        taskId: r.taskId,
        priority: r.priority,
        latencySensitive: r.valid.spec.latencySensitive,
        limitCpuMillis: r.valid.limit.cpuMillis,
        limitRamBytes: r.valid.limit.ramBytes,
        reservationRamBytes: r.reservation.ramBytes,
        usageCpuMillis: r.usage.cpuMillis,
        waitCpuMillis: r.waitCpuMillis,
        usageRamBytes: r.usage.ramBytes,
      });
    }
    // Memory first: an eviction frees CPU too. Evictions use SIGKILL at once: a machine short of memory can
    // reach the kernel's OOM killer (which may pick anyone) within seconds.
    const evicted = new Set<string>();
    for (const e of memoryEvictions(live, this.capacity.ramBytes)) {
      const r = this.records.get(e.taskId);
      if (r === undefined) continue;
      evicted.add(e.taskId);
      this.stopRun(r, EventType.EVICT, e.reason, { graceMs: 0, forget: false, next: null });
    }
    const plan = cpuPlan(live.filter((t) => !evicted.has(t.taskId)), this.capacity.cpuMillis, this.throttling);
    if (plan.throttling !== this.throttling) this.log(plan.reason);
    this.throttling = plan.throttling;
    for (const [taskId, quota] of plan.quotas) {
      const r = this.records.get(taskId);
      if (r === undefined || r.cpuQuotaMillis === quota) continue;
      try {
        this.driver.setCpuQuota(groupName(taskId), quota);
        r.cpuQuotaMillis = quota;
      } catch (e: unknown) {
        this.log(`cannot set the cpu quota of ${taskId}: ${errMessage(e)}`);
      }
    }
  }

  private checkHealth(r: Rec, now: number): void {
    const rule = r.valid?.health;
    if (!rule || r.health.probing || now < r.health.nextMs) return;
    r.health.probing = true;
    r.health.nextMs = now + rule.intervalMs;
    const runId = r.runId;
    void probeHttp(rule).then((ok) => {
      r.health.probing = false;
      if (r.runId !== runId || r.phase !== 'running') return;
      const step = healthStep(r.health, ok, rule);
      r.health.failures = step.state.failures;
      r.health.healthy = step.state.healthy;
      if (step.restart) {
        this.stopRun(r, EventType.FAIL, `health check GET :${rule.port}${rule.path} failed ${step.state.failures} times`, { restart: true });
      }
    }).catch((e: unknown) => this.log(`health check of ${r.taskId} failed to apply: ${errMessage(e)}`));
  }

  private removePending(): void {
    for (const g of [...this.pendingRemoval]) {
      const r = this.records.get(this.taskIdOfGroup(g));
      // A group is kept while its task runs again (a restart or update reuses it).
      if (r && (r.phase === 'running' || r.phase === 'starting' || r.phase === 'stopping')) {
        this.pendingRemoval.delete(g);
        continue;
      }
      this.driver.kill(g, 'SIGKILL');
      if (this.driver.remove(g)) this.pendingRemoval.delete(g);
    }
  }

  private rotateLogs(): void {
    for (const r of this.records.values()) {
      if (r.phase === 'dead') continue;
      try {
        rotateIfLarge(this.taskDir(r), 'stdout');
        rotateIfLarge(this.taskDir(r), 'stderr');
      } catch (e: unknown) {
        this.log(`log rotation of ${r.taskId} failed: ${errMessage(e)}`);
      }
    }
  }

  private trimDead(): void {
    const dead = [...this.records.values()].filter((r) => r.phase === 'dead');
    if (dead.length <= BORGLET_DEAD_TASKS_MAX) return;
    dead.sort((a, b) => a.endTimeMs - b.endTimeMs);
    for (const r of dead.slice(0, dead.length - BORGLET_DEAD_TASKS_MAX)) this.records.delete(r.taskId);
    this.dirty = true;
  }

  private flushTimer: NodeJS.Timeout | null = null;

  private flushSoon(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      try {
        this.flush();
      } catch (e: unknown) {
        // Stay dirty: the next tick or poll retries. Polls that must persist (a newer ballot) fail until it works.
        this.dirty = true;
        this.log(`cannot write the state file: ${errMessage(e)}`);
      }
    }, 10);
  }

  /** flush writes the state file if anything changed. */
  flush(): void {
    if (!this.dirty) return;
    saveState(this.opts.stateDir, {
      version: 1,
      machine: this.machine,
      seenBallot: this.seenBallot,
      tasks: [...this.records.values()].map((r) => this.toPersisted(r)),
    });
    this.dirty = false;
  }

  /** reservedTotal is the sum of the live tasks' reservations (for status and tests). */
  reservedTotal(): Resources {
    return sum([...this.records.values()].filter((r) => r.phase !== 'dead').map((r) => r.reservation));
  }
}

/** cgroupLimits: what a run of task v is limited to; latency-sensitive prod gets double cpu weight, so it wins CPU contention before throttling even starts. */
function cgroupLimits(v: ValidTask, cpuQuotaMillis: number | null): TaskCgroupLimits {
  return {
    memoryBytes: v.limit.ramBytes,
    cpuShares: sharesFromCpuMillis(v.limit.cpuMillis * (v.spec.latencySensitive && isProd(v.priority) ? 2 : 1)),
    cpuQuotaMillis,
    pidsMax: TASK_PIDS_MAX,
  };
}

/**
 * sameRun: two versions of a task that one process serves: the same ports, and specs that differ at most in what a
 * run takes in place (model/task_spec: restart policy, health check, kill grace, limits, constraints), as the master decides.
 */
function sameRun(a: ValidTask, b: ValidTask): boolean {
  if (a.ports.length !== b.ports.length || a.ports.some((p, i) => p !== b.ports[i])) return false;
  return sameRunSpec(a.spec, b.spec);
}
