// One Borgmaster replica (B15 §3.1): the Paxos node holding the cell's log, the state machine it feeds (Master),
// the BorgMaster API and the Paxos service on one mutual-TLS gRPC server, a link shard polling this replica's
// share of the Borglets, and — while this replica is the elected master — bootstrap of the configured machines
// and quotas and BNS publishing. Every replica serves reads; only the elected master mutates.
import { Server, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { CellConfig } from '../cells/config';
import { loadIdentity, replicaName } from '../cells/identity';
import type { Clock } from '../model/clock';
import { systemClock } from '../model/clock';
import { InvalidArgument, NotLeader, PermissionDenied, Unavailable } from '../model/errors';
import { parseJobId, parseTaskId } from '../model/ids';
import {
  BorgletClient,
  CHANNEL_OPTIONS,
  Command,
  ReplicaInternalClient,
  ReplicaInternalService,
  EventType,
  TaskLogsRequest_Stream,
  TaskState,
  invoke,
  unary,
  type Ballot,
  type PendingVerdict,
  type ProgressResponse,
  type ReplicaInternalServer,
  type ReplicaStatus,
  type ShareUsageRequest,
} from '../proto/index';
import { Master, BORG_MASTER_SERVICE, borgMasterHandlers, type ReplicatedLog, type TaskLogSource } from './api/index';
import { listenNoDelay, PaxosNode, type GrpcListener } from './paxos/index';
import { PAXOS_GRPC_OPTIONS } from './paxos/transport';
import { bootstrapCommands, encodeCommand, requestKey, type ApplyOutcome, type JobRec, type TaskRec } from './state/index';
import { serverCredentials, clientCredentials, peerIdentity } from '../cells/security/index';
import { LinkShard, TokenBucket, checkForwarded } from './link/index';
import { planDrainEvictions } from './plan/index';
import { bodies, command } from './state/builders';
import { BnsPublisher, type BnsJob, type BnsRecord } from './bns/index';
import { BorgMetrics, CellStateSource, PauseMonitor, StatusServer, UsageBook, followWatchHub, type ReplicaInfo, type UsageShare } from './status/index';
import { resources } from '../model/resources';

export interface ReplicaOptions {
  config: CellConfig;
  replicaId: number;
  clock?: Clock;
  log?: (msg: string) => void;
}

const LEADER_DUTY_INTERVAL_MS = 100;
/** Progress older than this means the replica is unreachable. */
const PROGRESS_FRESH_MS = 3000;
const MAX_FORWARDED_COMMANDS = 1024;
/** MAX_SHARED_VERDICTS bounds one ShareVerdicts message (a plan carries at most this many verdicts anyway). */
const MAX_SHARED_VERDICTS = 100_000;
/** MAX_SHARED_USAGE bounds one ShareUsage message (samples of machines and tasks; ~50 bytes each, ~5 ms to take in). */
const MAX_SHARED_USAGE = 1_000;
/** Every own usage sample, changed or not, is shared at least once every USAGE_REFRESH_ROUNDS poll intervals. */
const USAGE_REFRESH_ROUNDS = 60;
/** A follower polls Borglets only while its state is at most this many slots behind the commit index. */
const MAX_POLL_LAG_SLOTS = 64;
const ZERO_USAGE = resources();

/** dropInvalid runs record and drops what it refuses as nonsense (InvalidArgument); any other error is a bug. */
function dropInvalid(record: () => void): void {
  try {
    record();
  } catch (e: unknown) {
    if (!(e instanceof InvalidArgument)) throw e;
  }
}

export class Replica {
  private leaderTerm: string | undefined;
  private dutyTimer: NodeJS.Timeout | undefined;
  private bns: BnsPublisher | undefined;
  private closed = false;
  private probing = false;
  /** drainBucket paces drain evictions at the cell's rescheduling rate (leader only; soft state). */
  private drainBucket: TokenBucket | undefined;
  private evicting = false;
  /** pauses feeds /metrics with the event loop's lag and GC pauses (started with the duties). */
  private pauses: PauseMonitor | undefined;
  private shareTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly options: ReplicaOptions,
    readonly master: Master,
    readonly node: PaxosNode<ApplyOutcome[]>,
    readonly server: Server,
    private readonly listener: GrpcListener,
    readonly link: LinkShard,
    private readonly peerCredentials: ChannelCredentials,
    readonly status: StatusServer,
    readonly metrics: BorgMetrics,
    private readonly usage: UsageBook,
    private readonly stopFollowing: () => void,
  ) {}

  static async start(options: ReplicaOptions): Promise<Replica> {
    const { config, replicaId } = options;
    const me = config.replicas.find((r) => r.id === replicaId);
    if (!me) throw new Unavailable(`replica ${replicaId} is not in cell ${config.name}'s config`);
    const clock = options.clock ?? systemClock;
    const tls = await loadIdentity(config, replicaName(replicaId));
    const peerCredentials = clientCredentials(tls);
    const log = (m: string) => options.log?.(`replica ${replicaId}: ${m}`);

    // The log adapter refers to the node, which needs the master as its state machine: tie the knot lazily.
    const replicaRef: { replica?: Replica } = {};
    let node: PaxosNode<ApplyOutcome[]> | undefined;
    const addressOf = (id: number | undefined) => config.replicas.find((r) => r.id === id)?.address;
    const replicatedLog: ReplicatedLog = {
      propose: async (commands) => {
        const started = performance.now();
        const index = await must(node).propose(commands);
        replicaRef.replica?.metrics.observeCommit((performance.now() - started) / 1000);
        replicaRef.replica?.metrics.setLogIndex(index);
        return index;
      },
      // A new master takes writes only once it has bootstrapped the cell's machines and quotas for its term;
      // until then clients hear "no leader is known" and retry, rather than being refused for a quota of 0.
      isLeader: () => (node?.isLeader() ?? false) && replicaRef.replica?.bootstrapped() === true,
      leaderAddress: () => (node?.isLeader() && replicaRef.replica?.bootstrapped() !== true ? undefined : addressOf(node?.leaderId())),
      status: () => must(replicaRef.replica).logStatus(),
    };
    const taskLogs: TaskLogSource = {
      tail: async (req) => {
        const client = new BorgletClient(req.machineAddress, peerCredentials, CHANNEL_OPTIONS);
        try {
          const r = await invoke(client.taskLogs.bind(client), { taskId: req.taskId, stderr: req.stream === TaskLogsRequest_Stream.STDERR, tailBytes: req.tailBytes }, new Metadata(), 5000);
          return { data: r.data, truncated: r.truncated };
        } finally {
          client.close();
        }
      },
    };
    // Usage samples and poll times (soft state) from this replica's link shard and, through ShareUsage, the other
    // replicas': the status page, /metrics, ListMachines and the task reads show them.
    const usage = new UsageBook();
    const master = new Master({ cell: config.name, replicaId, log: replicatedLog, clock, admins: config.admins, taskLogs, usage });
    let replica: Replica | undefined;
    node = await PaxosNode.open<ApplyOutcome[]>({
      id: replicaId,
      replicas: config.replicas.map((r) => ({ id: r.id, address: r.address })),
      dataDir: me.dataDir,
      timing: config.paxos,
      credentials: peerCredentials,
      stateMachine: {
        apply: (command, slot) => {
          const outcomes = master.applyEntry([command], slot);
          replica?.afterApply(outcomes);
          return outcomes;
        },
        takeSnapshot: () => master.snapshot(),
        restoreSnapshot: (bytes) => master.restoreSnapshot(bytes),
      },
      onFatal: (e: unknown) => {
        console.error(`replica ${replicaId}: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        process.exit(70);
      },
    });

    const server = new Server(PAXOS_GRPC_OPTIONS);
    const handlers = borgMasterHandlers(master);
    // The scheduler reports each pass's wall time with its plan: that is the pass latency the status page shows.
    const commitPlan = handlers.commitPlan;
    handlers.commitPlan = (call, callback) => {
      // A plan committed in chunks carries its pass time in the last chunk only (the others say 0).
      if (Number.isFinite(call.request.passSeconds) && call.request.passSeconds > 0) replicaRef.replica?.metrics.observePass(call.request.passSeconds);
      commitPlan(call, callback);
      if (call.request.pending.length > 0) replicaRef.replica?.shareVerdicts(call.request.pending);
    };
    // The lenient definition answers undecodable requests with INVALID_ARGUMENT rather than INTERNAL.
    server.addService(BORG_MASTER_SERVICE, handlers as unknown as Parameters<Server['addService']>[1]);
    node.registerService(server);
    const internal: { replica?: Replica } = {};
    server.addService(ReplicaInternalService, internalHandlers(() => must(internal.replica)));
    // Our own listener with Nagle off: grpc-js leaves it on for the sockets its server accepts, which holds small
    // replies (CreateJob's, Paxos acks) back behind delayed ACKs.
    const listener = await listenNoDelay(server, me.address, serverCredentials(tls));

    const readyNode = node;
    const metrics = new BorgMetrics({ labels: { cell: config.name, replica: String(replicaId) } });
    const source = new CellStateSource({
      state: () => master.state,
      replica: () => must(replicaRef.replica).replicaInfo(),
      whyPending: (id) => master.whyPending.get(id),
      usage,
      metrics,
      logs: async (taskId, machine, stream, tailBytes) => {
        const m = master.state.machines.get(machine);
        if (!m) throw new Unavailable(`machine ${machine} is not in the cell`);
        const r = await taskLogs.tail({ taskId, machine, machineAddress: m.address, stream: stream === 'stderr' ? TaskLogsRequest_Stream.STDERR : TaskLogsRequest_Stream.STDOUT, tailBytes });
        return { text: Buffer.from(r.data).toString('utf8'), truncated: r.truncated };
      },
    });
    metrics.bindSummary(() => source.summary());
    const stopFollowing = followWatchHub(master.watch, source, () => master.state.appliedIndex);
    const [statusHost, statusPort] = [me.statusAddress.slice(0, me.statusAddress.lastIndexOf(':')), Number(me.statusAddress.slice(me.statusAddress.lastIndexOf(':') + 1))];
    const status = new StatusServer({ source, metrics, host: statusHost, port: statusPort });
    await status.start();

    const link = new LinkShard({
      replicaId,
      replicaIds: config.replicas.map((r) => r.id),
      liveReplicaIds: () => replicaRef.replica?.liveReplicaIds() ?? [replicaId],
      state: () => master.state,
      config: config.link,
      clock,
      credentials: peerCredentials,
      log,
      master: () => {
        const s = readyNode.status();
        const ballot: Ballot = readyNode.isLeader() ? s.ballot : s.promised;
        return { ballot, canPoll: s.leaderId !== undefined && s.appliedIndex + MAX_POLL_LAG_SLOTS >= s.commitIndex };
      },
      submit: (commands) => replica?.submit(commands) ?? Promise.resolve(),
      onPoll: (_machine, intervalMs, ok) => metrics.observePoll(intervalMs / 1000, ok ? 'ok' : 'error'),
      onOomKill: () => metrics.countOomKills(1),
      onSample: (machine, atMs, response) => {
        // The decoded usages go in as they are (the book copies, with validation, only a sample that changed: most
        // do not, and a copy per task per poll was a tenth of a quiet poll's cost). A Borglet reporting nonsense
        // loses that sample, nothing else.
        dropInvalid(() => usage.recordMachine(machine, response.facts?.usage ?? ZERO_USAGE, atMs));
        for (const t of response.tasks) {
          const u = t.usage;
          if (u !== undefined) dropInvalid(() => usage.recordTask(t.taskId, u, atMs));
        }
      },
      onUnchanged: (machine, atMs) => usage.touchMachine(machine, atMs),
    });
    replica = new Replica(options, master, node, server, listener, link, peerCredentials, status, metrics, usage, stopFollowing);
    internal.replica = replica;
    replicaRef.replica = replica;
    replica.startDuties(log);
    replica.startSharingUsage();
    link.start();
    log(`serving ${me.address} (cell ${config.name}, ${config.replicas.length} replicas); status page ${status.url}/`);
    return replica;
  }

  get id(): number {
    return this.options.replicaId;
  }

  /**
   * submit commits internal commands (link-shard differences): the leader stamps time and proposes them; a
   * follower forwards them to the leader, which does the same (ReplicaInternal.ForwardCommands).
   */
  async submit(commands: Command[]): Promise<void> {
    const encoded = commands.map((c) => Buffer.from(Command.encode(c).finish()));
    try {
      if (this.node.isLeader()) await this.proposeStamped(encoded);
      else {
        const leader = this.node.leaderId();
        if (leader === undefined) throw new NotLeader(undefined);
        const client = this.peer(leader);
        await invoke(client.forwardCommands.bind(client), { commands: encoded }, new Metadata(), 5000);
      }
    } catch (e: unknown) {
      // The next poll reports the same differences again; nothing is lost by dropping these.
      this.options.log?.(`replica ${this.id}: link commands not committed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** proposeStamped decodes forwarded or local commands, stamps the leader's time, and proposes them. */
  async proposeStamped(encoded: readonly Uint8Array[]): Promise<number> {
    if (!this.node.isLeader()) throw new NotLeader(this.options.config.replicas.find((r) => r.id === this.node.leaderId())?.address);
    const now = (this.options.clock ?? systemClock).nowMs();
    return this.node.propose(encoded.map((b) => encodeCommand({ ...Command.decode(b), timeMs: now })));
  }

  private readonly peers = new Map<number, InstanceType<typeof ReplicaInternalClient>>();
  /** pendingSinceMs: when each pending task was submitted (soft state, for the placement-latency histogram). */
  private readonly pendingSinceMs = new Map<string, number>();
  private readonly progress = new Map<number, { atMs: number; p: ProgressResponse }>();

  private peer(id: number): InstanceType<typeof ReplicaInternalClient> {
    let c = this.peers.get(id);
    if (!c) {
      const address = this.options.config.replicas.find((r) => r.id === id)?.address;
      if (!address) throw new Unavailable(`replica ${id} is not in the cell config`);
      c = new ReplicaInternalClient(address, this.peerCredentials, CHANNEL_OPTIONS);
      this.peers.set(id, c);
    }
    return c;
  }

  /** shareVerdicts passes the scheduler's verdicts to the followers (best effort: the next pass repeats them). */
  shareVerdicts(pending: PendingVerdict[]): void {
    if (!this.node.isLeader() || pending.length > MAX_SHARED_VERDICTS) return;
    for (const r of this.options.config.replicas) {
      if (r.id === this.id) continue;
      const c = this.peer(r.id);
      invoke(c.shareVerdicts.bind(c), { pending }, new Metadata(), 2000).catch(() => undefined);
    }
  }

  /**
   * startSharingUsage passes this replica's own usage samples (its link shard's share of the machines) to the other
   * replicas once per poll interval, so each replica's status page, /metrics and ListMachines cover every machine:
   * what changed since the last share, and a slice of the rest (refreshShare), so that a replica that restarted or
   * missed a share has every sample again within USAGE_REFRESH_ROUNDS intervals. Best effort, like the samples.
   */
  private startSharingUsage(): void {
    const peers = this.options.config.replicas.filter((r) => r.id !== this.id);
    if (peers.length === 0) return;
    const send = (share: UsageShare) => {
      for (const r of peers) {
        const c = this.peer(r.id);
        invoke(c.shareUsage.bind(c), share, new Metadata(), 2000).catch(() => undefined);
      }
    };
    const share = () => {
      if (this.closed) return;
      const refresh = this.usage.refreshShare(USAGE_REFRESH_ROUNDS, MAX_SHARED_USAGE);
      if (refresh !== undefined) send(refresh);
      for (let changed = this.usage.takeShare(MAX_SHARED_USAGE); changed !== undefined; changed = this.usage.takeShare(MAX_SHARED_USAGE)) send(changed);
      this.shareTimer = setTimeout(share, this.options.config.link.pollIntervalMs);
    };
    this.shareTimer = setTimeout(share, this.options.config.link.pollIntervalMs);
  }

  /** acceptUsage keeps the samples another replica's link shard took, of machines and tasks this state knows. */
  acceptUsage(req: ShareUsageRequest): void {
    const state = this.master.state;
    const share: UsageShare = { machines: [], tasks: [] };
    for (const m of req.machines) if (m.usage !== undefined && state.machines.has(m.machine)) share.machines.push({ machine: m.machine, usage: m.usage, sampledMs: m.sampledMs });
    for (const t of req.tasks) if (t.usage !== undefined && state.getTaskIfValid(t.taskId) !== undefined) share.tasks.push({ taskId: t.taskId, usage: t.usage, sampledMs: t.sampledMs });
    this.usage.acceptShare(share);
  }

  /** acceptVerdicts stores verdicts shared by the leader. */
  acceptVerdicts(pending: PendingVerdict[]): void {
    for (const p of pending) if (this.master.state.getTaskIfValid(p.taskId)) this.master.whyPending.set(p.taskId, p.why);
  }

  myProgress(): ProgressResponse {
    const s = this.node.status();
    return { replica: this.id, leader: this.node.isLeader(), lastSlot: s.lastSlot, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, snapshotIndex: s.snapshotIndex };
  }

  /** refreshProgress asks every other replica how far it has got (soft state for CellStatus and the status page). */
  private async refreshProgress(): Promise<void> {
    await Promise.all(
      this.options.config.replicas
        .filter((r) => r.id !== this.id)
        .map(async (r) => {
          const c = this.peer(r.id);
          try {
            this.progress.set(r.id, { atMs: Date.now(), p: await invoke(c.progress.bind(c), {}, new Metadata(), 1000) });
          } catch {
            // unreachable: its entry ages out
          }
        }),
    );
  }

  /** liveReplicaIds: this replica and every peer that answered a progress probe recently. */
  liveReplicaIds(): number[] {
    const now = Date.now();
    return this.options.config.replicas
      .map((r) => r.id)
      .filter((id) => id === this.id || now - (this.progress.get(id)?.atMs ?? -Infinity) < PROGRESS_FRESH_MS);
  }

  /** replicaInfo is what the status page says about who serves and how current it is. */
  replicaInfo(): ReplicaInfo {
    const ls = this.logStatus();
    const self = ls.replicas.find((r) => r.id === this.id);
    return {
      cell: this.options.config.name,
      selfId: this.id,
      leaderId: ls.leaderReplica === 0 ? undefined : ls.leaderReplica,
      authoritative: this.node.isLeader() && this.node.status().leaseValid,
      appliedIndex: this.master.state.appliedIndex,
      lagEntries: self?.lag ?? 0,
      replicas: ls.replicas.map((r) => ({ id: r.id, address: r.address, leader: r.leader, reachable: r.reachable, logIndex: r.logIndex, appliedIndex: r.appliedIndex, lag: r.lag, statusUrl: r.statusUrl })),
    };
  }

  /** logStatus describes every replica: leader, log indexes and lag behind the commit index this replica knows. */
  logStatus(): { leaderReplica: number; ballot: Ballot | undefined; replicas: ReplicaStatus[] } {
    const s = this.node.status();
    const leader = this.node.leaderId() ?? 0;
    const now = Date.now();
    const fresh = (id: number): ProgressResponse | undefined => {
      if (id === this.id) return this.myProgress();
      const e = this.progress.get(id);
      return e && now - e.atMs < PROGRESS_FRESH_MS ? e.p : undefined;
    };
    const commit = Math.max(s.commitIndex, ...this.options.config.replicas.map((r) => fresh(r.id)?.commitIndex ?? 0));
    return {
      leaderReplica: leader,
      ballot: this.node.isLeader() ? s.ballot : s.promised,
      replicas: this.options.config.replicas.map((r) => {
        const p = fresh(r.id);
        return {
          id: r.id,
          address: r.address,
          leader: r.id === leader,
          reachable: p !== undefined,
          logIndex: p?.lastSlot ?? 0,
          appliedIndex: p?.appliedIndex ?? 0,
          lag: p ? Math.max(0, commit - p.appliedIndex) : 0,
          statusUrl: `http://${r.statusAddress}/`,
        };
      }),
    };
  }

  /**
   * afterApply runs after every applied command: metrics and soft state on every replica, BNS on the leader
   * (kept in step with the tasks the command touched).
   */
  private afterApply(outcomes: ApplyOutcome[]): void {
    for (const o of outcomes) {
      // Placement latency: from the SUBMIT that made a task pending to the SCHEDULE that placed it.
      for (const e of o.changes.events) {
        if (e.type === EventType.SUBMIT) this.pendingSinceMs.set(e.taskId, e.timeMs);
        else if (e.type === EventType.SCHEDULE) {
          const since = this.pendingSinceMs.get(e.taskId);
          if (since !== undefined && e.timeMs >= since) this.metrics.observePlacement((e.timeMs - since) / 1000);
          this.pendingSinceMs.delete(e.taskId);
        } else if (e.type === EventType.KILL) this.pendingSinceMs.delete(e.taskId);
      }
      for (const id of o.changes.deletedTaskIds) this.pendingSinceMs.delete(id);
      const preempted = o.changes.events.filter((e) => e.type === EventType.EVICT && e.message.startsWith('preempted by ')).length;
      if (preempted > 0) this.metrics.countPreemptions(preempted);
      // A task a command touched may have changed group (state, priority): its next sample classifies it again.
      for (const t of o.changes.tasks) this.usage.forgetTask(t.id);
      for (const id of o.changes.deletedTaskIds) this.usage.forgetTask(id);
    }
    const bns = this.bns;
    if (!bns || !this.node.isLeader()) return;
    for (const o of outcomes) {
      for (const t of o.changes.tasks) {
        const record = bnsRecord(t, this.master.cell);
        if (record) bns.publish(record);
        else bns.unpublish({ id: parseTaskId(t.id) });
      }
      for (const id of o.changes.deletedTaskIds) bns.unpublish({ id: parseTaskId(id) });
      for (const job of o.changes.jobs) bns.publishJob(bnsJob(job, this.master.cell));
      for (const id of o.changes.deletedJobIds) bns.unpublishJob(parseJobId(id));
    }
  }

  private startDuties(log: (m: string) => void): void {
    this.pauses = new PauseMonitor(this.metrics);
    this.pauses.start();
    const duty = async () => {
      if (this.closed) return;
      // Progress probes run beside the duties: a dead peer's 1 s timeout must not delay a new master's bootstrap.
      if (!this.probing) {
        this.probing = true;
        void this.refreshProgress().finally(() => (this.probing = false));
      }
      try {
        await this.leaderDuties(log);
      } catch (e: unknown) {
        log(`leader duties: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!this.evicting && this.bootstrapped()) {
        this.evicting = true;
        void this.drainDuty(log)
          .catch((e: unknown) => log(`drain: ${e instanceof Error ? e.message : String(e)}`))
          .finally(() => (this.evicting = false));
      }
      if (!this.closed) this.dutyTimer = setTimeout(() => void duty(), LEADER_DUTY_INTERVAL_MS);
    };
    this.dutyTimer = setTimeout(() => void duty(), LEADER_DUTY_INTERVAL_MS);
  }

  /**
   * drainDuty moves tasks off DRAINING machines: evictions planned by planDrainEvictions (each job's
   * max_tasks_down respected), no faster than link.rescheduleTasksPerSecond, committed through the log. The
   * scheduler then places the evicted tasks elsewhere. One batch at a time (the next plan sees this one applied).
   */
  private async drainDuty(log: (m: string) => void): Promise<void> {
    const rate = this.options.config.link.rescheduleTasksPerSecond;
    this.drainBucket ??= new TokenBucket(this.options.clock ?? systemClock, rate, Math.max(1, Math.ceil(rate / 10)));
    const plan = planDrainEvictions(this.master.state, Math.max(1, Math.ceil(rate)));
    if (plan.length === 0) return;
    const n = this.drainBucket.take(plan.length);
    if (n === 0) return;
    const batch = plan.slice(0, n);
    await this.proposeStamped([encodeCommand(command(bodies.transitions(batch)))]);
    log(`drain: evicted ${batch.length} task(s) from ${[...new Set(batch.map((t) => t.machine))].join(', ')}`);
  }

  /** bootstrapped: this replica leads and has bootstrapped the cell for its current term. */
  bootstrapped(): boolean {
    const s = this.node.status();
    return this.node.isLeader() && this.leaderTerm === `${s.ballot.round}/${s.ballot.replica}`;
  }

  /** leaderDuties runs once per new leadership: bootstrap the configured machines and quotas, take over BNS. */
  private async leaderDuties(log: (m: string) => void): Promise<void> {
    const s = this.node.status();
    const term = this.node.isLeader() ? `${s.ballot.round}/${s.ballot.replica}` : undefined;
    if (term === this.leaderTerm) return;
    if (term === undefined) {
      this.leaderTerm = undefined;
      await this.bns?.close();
      this.bns = undefined;
      return;
    }
    const { config } = this.options;
    const now = (this.options.clock ?? systemClock).nowMs();
    // Request ids make bootstrap idempotent: a machine or quota registered by an earlier master is not redone. Only
    // the id's presence is checked (any remembered result means it was done): fingerprinting 10,000 commands would
    // hold a new master's event loop just when it must heartbeat and take writes.
    const commands = bootstrapCommands(config, now).filter((c) => this.master.state.requests.get(requestKey(c.caller, c.requestId)) === undefined);
    if (commands.length > 0) {
      await this.node.propose(commands.map(encodeCommand));
      log(`elected master (ballot ${term}); bootstrapped ${commands.length} machines and quotas`);
    } else log(`elected master (ballot ${term})`);
    if (config.bns.redis && !this.bns) {
      this.bns = new BnsPublisher({ cell: config.name, address: config.bns.redis, log });
      const records: BnsRecord[] = [];
      const jobs: BnsJob[] = [];
      for (const job of this.master.state.jobs.values()) {
        jobs.push(bnsJob(job, config.name));
        for (const t of job.tasks) {
          const r = bnsRecord(t, config.name);
          if (r) records.push(r);
        }
      }
      void this.bns.replaceAll(records, jobs);
    }
    this.leaderTerm = term;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dutyTimer) clearTimeout(this.dutyTimer);
    if (this.shareTimer) clearTimeout(this.shareTimer);
    this.pauses?.stop();
    this.link.stop();
    this.stopFollowing();
    await this.status.close();
    await this.bns?.close();
    await this.listener.close();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await this.node.close();
    for (const c of this.peers.values()) c.close();
  }
}

function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Unavailable('the replica is still starting');
  return v;
}

/** bnsJob is a job's BNS entry: its size. */
function bnsJob(job: JobRec, cell: string): BnsJob {
  return { id: { cell, user: job.user, job: job.name }, size: job.tasks.length };
}

/** bnsRecord is a running task's BNS entry; undefined when the task is not running anywhere. */
function bnsRecord(t: TaskRec, cell: string): BnsRecord | undefined {
  if (t.state !== TaskState.RUNNING || !t.machine) return undefined;
  const host = t.machine.address.slice(0, t.machine.address.lastIndexOf(':')) || t.machine.name;
  return {
    id: { cell, user: t.job.user, job: t.job.name, index: t.index },
    endpoint: { taskId: t.id, machine: t.machine.name, host, ports: [...t.ports], healthy: t.healthy },
  };
}

/** internalHandlers serve ReplicaInternal; only peers holding the replica role are answered. */
function internalHandlers(replica: () => Replica): ReplicaInternalServer {
  const requireReplica = (call: Parameters<typeof peerIdentity>[0]) => {
    const who = peerIdentity(call);
    if (!who.roles.includes('replica')) throw new PermissionDenied(`${who.commonName} is not a replica of this cell`);
  };
  return {
    forwardCommands: unary(async (req, call) => {
      requireReplica(call);
      if (req.commands.length > MAX_FORWARDED_COMMANDS) throw new Unavailable(`at most ${MAX_FORWARDED_COMMANDS} commands per forward`);
      checkForwarded(req.commands);
      return { logIndex: await replica().proposeStamped(req.commands) };
    }),
    shareVerdicts: unary(async (req, call) => {
      requireReplica(call);
      if (req.pending.length > MAX_SHARED_VERDICTS) throw new InvalidArgument('pending', `at most ${MAX_SHARED_VERDICTS} verdicts at once`);
      replica().acceptVerdicts(req.pending);
      return {};
    }),
    shareUsage: unary(async (req, call) => {
      requireReplica(call);
      const n = req.machines.length + req.tasks.length;
      if (n > MAX_SHARED_USAGE) throw new InvalidArgument('machines, tasks', `at most ${MAX_SHARED_USAGE} samples at once, got ${n}`);
      replica().acceptUsage(req);
      return {};
    }),
    progress: unary(async (_req, call) => {
      requireReplica(call);
      return replica().myProgress();
    }),
  };
}
