// The scheduler process (B15 §3.4): watches the elected master (a snapshot, then deltas), keeps its cached cell,
// runs passes over the pending queue, and sends each plan to the master, which re-checks every assignment and
// commits the ones that still fit (Omega's optimistic concurrency). Rejected tasks wait a moment and are planned
// again. When the master fails over, the watch breaks; the process finds the new leader and watches it from a
// fresh snapshot, so it never plans against a deposed master's view.
import { Metadata, type ChannelCredentials, type ClientReadableStream } from '@grpc/grpc-js';
import { BorgMasterClient, CHANNEL_OPTIONS, invoke, type Assignment, type PendingVerdict, type WatchEvent } from '../../proto/index';
import type { CellConfig } from '../../cells/config';
import type { Clock } from '../../model/clock';
import { SeededRng } from '../../model/rng';
import { fromGrpcError, NotLeader, Unavailable } from '../../model/errors';
import { PLAN_COMMIT_CHUNK_ASSIGNMENTS, PLAN_MAX_ASSIGNMENTS } from '../../cells/limits';
import { idleGc } from '../idle_gc';
import { Scheduler } from '../scheduler';
import type { ParkedVerdicts, Verdict } from '../types';
import { assignmentToProto, verdictToProto } from '../convert';
import { CachedCell } from './cached_cell';

export interface SchedulerProcessOptions {
  config: CellConfig;
  credentials: ChannelCredentials;
  clock: Clock;
  log?: (msg: string) => void;
}

export interface PassReport {
  atMs: number;
  seconds: number;
  placed: number;
  pending: number;
  accepted: number;
  rejected: number;
}

const RECONNECT_MS = 200;
/**
 * ARRIVAL_BATCH_MS: how soon after new work arrives a pass starts. Every passInterval a pass looks at the pending
 * queue again (tasks that found no machine, held tasks whose time came); new work does not wait for it. Tasks that
 * join the queue (a job submitted, tasks evicted or failed back to pending) start a pass this long after they
 * arrive, or after the pass under way ends: a burst of arrivals goes into one pass. So does the rest of a queue
 * that a pass left because its plan reached PLAN_MAX_ASSIGNMENTS.
 */
const ARRIVAL_BATCH_MS = 20;
const COMMIT_TIMEOUT_MS = 10_000;
/**
 * REJECTED_HOLD_MAX_MS: the longest a task whose assignment the master refused waits before it is planned again
 * (otherwise two pass intervals): long enough for the watch to bring the change that made the plan stale, short
 * enough that a cell with a long pass interval does not leave it for minutes. A pass is timed for when it is due.
 */
const REJECTED_HOLD_MAX_MS = 1_000;
/**
 * VERDICT_RESEND_MS: how often every pending task's verdict is sent again, changed or not. A plan sends only the
 * verdicts that changed, and the leader shares them with its followers best effort: a follower that had not yet
 * applied the task (or missed the share) drops it, and without a resend would answer "why" with nothing for good.
 */
const VERDICT_RESEND_MS = 10_000;

export class SchedulerProcess {
  private cell = new CachedCell();
  private readonly scheduler: Scheduler;
  private client: InstanceType<typeof BorgMasterClient> | undefined;
  private stream: ClientReadableStream<WatchEvent> | undefined;
  private leaderAddress: string | undefined;
  private passTimer: NodeJS.Timeout | undefined;
  /** nextPassAtMs: when passTimer fires (performance.now()). */
  private nextPassAtMs = Infinity;
  /** passing: a pass (with its commit) is under way; work that arrives meanwhile sets moreWork. */
  private passing = false;
  private moreWork = false;
  private stopped = false;
  private planSeq = 0;
  private readonly lastVerdicts = new Map<string, string>();
  /** lastBlocks: the parked blocks of the last pass; a block handed out again unchanged has nothing new to send. */
  private lastBlocks = new Set<ParkedVerdicts>();
  /** verdictsResentMs: when lastVerdicts was last cleared, so that every verdict went out again. */
  private verdictsResentMs = 0;
  /** lastPass: what the latest pass did (for logs and tests). */
  lastPass: PassReport | undefined;

  constructor(private readonly o: SchedulerProcessOptions) {
    this.scheduler = new Scheduler(o.config.scheduler, new SeededRng(o.config.scheduler.seed), o.clock);
  }

  start(): void {
    void this.connect();
    this.passIn(this.o.config.scheduler.passIntervalMs);
  }

  /** passIn sets the next pass to start in delayMs, unless one is due sooner. */
  private passIn(delayMs: number): void {
    const at = performance.now() + delayMs;
    if (this.stopped || at >= this.nextPassAtMs) return;
    if (this.passTimer) clearTimeout(this.passTimer);
    this.nextPassAtMs = at;
    this.passTimer = setTimeout(() => void this.pass(), delayMs);
  }

  /** workArrived: tasks joined the queue. A pass starts soon (ARRIVAL_BATCH_MS), or right after the one under way. */
  private workArrived(): void {
    if (this.passing) this.moreWork = true;
    else this.passIn(ARRIVAL_BATCH_MS);
  }

  private async pass(): Promise<void> {
    this.passTimer = undefined;
    this.nextPassAtMs = Infinity;
    if (this.stopped) return;
    this.passing = true;
    this.moreWork = false;
    const full = await this.passOnce().catch((e: unknown) => {
      this.log(`pass failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    });
    this.passing = false;
    if (this.stopped) return;
    // Idle until the next pass: collect now rather than in the middle of that pass (idle_gc.ts).
    idleGc();
    this.passIn(full || this.moreWork ? ARRIVAL_BATCH_MS : this.o.config.scheduler.passIntervalMs);
    this.passForHeld();
  }

  /** passForHeld times a pass for when the earliest held task (refused, or in restart back-off) is due. */
  private passForHeld(): void {
    const due = this.cell.nextReleaseMs;
    if (due !== Infinity) this.passIn(Math.max(ARRIVAL_BATCH_MS, due - this.o.clock.nowMs()));
  }

  stop(): void {
    this.stopped = true;
    if (this.passTimer) clearTimeout(this.passTimer);
    this.stream?.cancel();
    this.client?.close();
  }

  /** watching: the address of the leader this process follows, once its snapshot is complete. */
  get watching(): string | undefined {
    return this.cell.ready ? this.leaderAddress : undefined;
  }

  private log(m: string): void {
    this.o.log?.(`scheduler: ${m}`);
  }

  /** findLeader asks each replica who leads; answers with the leader's address. */
  private async findLeader(): Promise<string> {
    for (const r of this.o.config.replicas) {
      const c = new BorgMasterClient(r.address, this.o.credentials, CHANNEL_OPTIONS);
      try {
        const s = await invoke(c.cellStatus.bind(c), {}, new Metadata(), 1000);
        const leader = this.o.config.replicas.find((x) => x.id === s.leaderReplica);
        if (leader) return leader.address;
      } catch {
        // try the next replica
      } finally {
        c.close();
      }
    }
    throw new Unavailable('no replica knows a leader');
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      try {
        const address = await this.findLeader();
        this.client?.close();
        this.client = new BorgMasterClient(address, this.o.credentials, CHANNEL_OPTIONS);
        this.leaderAddress = address;
        this.forgetSentVerdicts();
        // Every replica applies the same committed log, so a complete cache resumes from its log index on the new
        // leader (which replays its watch history from there) instead of downloading the whole cell again; a
        // replica whose history does not reach back that far answers with a snapshot, which starts the cache over.
        const from = this.cell.ready ? this.cell.logIndex : 0;
        if (from === 0) this.cell = new CachedCell();
        await this.watch(this.client, from);
      } catch (e: unknown) {
        if (!this.stopped) this.log(`watch: ${e instanceof Error ? e.message : String(e)}; reconnecting`);
      }
      this.leaderAddress = undefined;
      if (!this.stopped) await new Promise((r) => setTimeout(r, RECONNECT_MS));
    }
  }

  /** watch follows one leader until the stream ends or fails. */
  private watch(client: InstanceType<typeof BorgMasterClient>, fromLogIndex: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stream = client.watch({ fromLogIndex });
      this.stream = stream;
      let announced = false;
      let resumed = fromLogIndex > 0;
      if (fromLogIndex > 0) {
        announced = true;
        this.log(`watching ${this.leaderAddress} from log index ${fromLogIndex} (resumed): ${this.cell.snap.placedTasks()} tasks placed, ${this.cell.queue.size} pending`);
      }
      stream.on('data', (ev: WatchEvent) => {
        const cell = this.cell;
        const arrivals = cell.arrivals;
        const wasReady = cell.ready;
        try {
          cell.apply(ev);
        } catch (e: unknown) {
          // A cache that cannot fold an event in is not trusted any more: the next watch starts from a snapshot.
          this.cell = new CachedCell();
          stream.cancel();
          reject(e);
          return;
        }
        if (this.cell.ready && !announced) {
          announced = true;
          this.log(`watching ${this.leaderAddress} from log index ${this.cell.logIndex}: ${this.cell.snap.placedTasks()} tasks placed, ${this.cell.queue.size} pending`);
        }
        // New tasks in the queue of a complete cache, or a cache just completed (or resumed on a new leader) with
        // tasks pending: a pass soon. Tasks held until later: a pass when they are due.
        if (cell.ready && (cell.arrivals > arrivals || ((!wasReady || resumed) && cell.queue.size > 0))) this.workArrived();
        resumed = false;
        if (cell.ready) this.passForHeld();
      });
      stream.on('error', (e: unknown) => reject(fromGrpcError(e)));
      stream.on('end', () => resolve());
    });
  }

  /** forgetSentVerdicts makes the next pass send every verdict again (a new leader, or the periodic resend). */
  private forgetSentVerdicts(): void {
    this.lastVerdicts.clear();
    this.lastBlocks.clear();
  }

  /**
   * passOnce schedules the pending queue once and commits the plan. Answers true when the plan reached
   * PLAN_MAX_ASSIGNMENTS, so that the rest of the queue waits for the next pass.
   */
  async passOnce(): Promise<boolean> {
    const client = this.client;
    if (!client || !this.cell.ready) return false;
    this.cell.release(this.o.clock.nowMs());
    if (this.cell.queue.size === 0) return false;
    const cell = this.cell;
    const started = performance.now();
    const plan = this.scheduler.schedulePass(cell.snap, cell.queue);
    const seconds = (performance.now() - started) / 1000;
    const assignments: Assignment[] = plan.assignments.map((a) => assignmentToProto(a, cell.tasks, cell.machines, cell.specVersionOf(a.taskId)));
    const pending: PendingVerdict[] = [];
    const nowMs = this.o.clock.nowMs();
    if (nowMs - this.verdictsResentMs >= VERDICT_RESEND_MS) {
      this.verdictsResentMs = nowMs;
      this.forgetSentVerdicts();
    }
    const send = (v: Verdict): void => {
      const p = verdictToProto(v, cell.tasks);
      if (this.lastVerdicts.get(p.taskId) !== p.why) pending.push(p);
      this.lastVerdicts.set(p.taskId, p.why);
    };
    for (const v of plan.verdicts) send(v);
    const blocks = new Set<ParkedVerdicts>();
    for (const b of plan.parked) {
      blocks.add(b);
      if (this.lastBlocks.has(b)) continue;
      for (const taskId of b.taskIds) send({ taskId, why: b.why });
    }
    this.lastBlocks = blocks;
    for (const a of assignments) this.lastVerdicts.delete(a.taskId);
    if (assignments.length === 0 && pending.length === 0) return false;
    const holdUntil = this.o.clock.nowMs() + Math.min(2 * this.o.config.scheduler.passIntervalMs, REJECTED_HOLD_MAX_MS);
    // A large plan goes in chunks, one CommitPlan after another (PLAN_COMMIT_CHUNK_ASSIGNMENTS): each is one log
    // entry every replica applies in one go. The verdicts and the pass time ride with the last chunk.
    const chunks = Math.max(1, Math.ceil(assignments.length / PLAN_COMMIT_CHUNK_ASSIGNMENTS));
    let accepted = 0;
    let rejected = 0;
    for (let c = 0; c < chunks; c++) {
      const part = assignments.slice(c * PLAN_COMMIT_CHUNK_ASSIGNMENTS, (c + 1) * PLAN_COMMIT_CHUNK_ASSIGNMENTS);
      const last = c === chunks - 1;
      try {
        const r = await invoke(
          client.commitPlan.bind(client),
          { requestId: `plan-${process.pid}-${Date.now()}-${++this.planSeq}`, baseLogIndex: cell.logIndex, assignments: part, pending: last ? pending : [], passSeconds: last ? seconds : 0 },
          new Metadata(),
          COMMIT_TIMEOUT_MS,
        );
        // Only the cache the plan was made against may be touched: a reconnect replaced it with a fresh one.
        if (cell === this.cell) for (const rej of r.rejected) cell.hold(rej.taskId, holdUntil);
        accepted += r.acceptedTaskIds.length;
        rejected += r.rejected.length;
      } catch (e: unknown) {
        // Not judged: a commit the leader did not take (it is no longer the leader) goes back to the queue for the
        // first pass on the new one; after any other failure the tasks wait as refused ones do.
        const until = e instanceof NotLeader ? this.o.clock.nowMs() : holdUntil;
        if (cell === this.cell) for (const a of assignments.slice(c * PLAN_COMMIT_CHUNK_ASSIGNMENTS)) cell.hold(a.taskId, until);
        if (e instanceof NotLeader) {
          this.log(`commit refused: ${e.message}; following the new leader`);
          this.stream?.cancel();
          return false;
        }
        throw e;
      }
    }
    this.lastPass = { atMs: this.o.clock.nowMs(), seconds, placed: plan.stats.placed, pending: plan.stats.pending, accepted, rejected };
    if (accepted > 0 || rejected > 0) {
      this.log(`pass: ${accepted} placed, ${rejected} rejected, ${plan.stats.pending} pending (${(seconds * 1000).toFixed(1)} ms${chunks > 1 ? `, committed in ${chunks} chunks` : ''})`);
    }
    return assignments.length >= PLAN_MAX_ASSIGNMENTS;
  }
}
