// A replica's link shard (B15 §3.3): polls its share of the Borglets once per poll interval with the current
// master's ballot, and turns the full replies into only the differences (diffReport), which it batches and hands
// to the replica to commit. A poll carries a machine's complete desired state only when it changed since the
// Borglet last echoed it (desiredVersion); otherwise it says "unchanged" and carries no task at all, so a quiet
// cell's polls are a few dozen bytes each way plus the Borglet's report. Polls are spread evenly over the interval
// (each machine at a stable offset), never sent in bursts that would stall the event loop Paxos shares, on one
// long-lived PollStream per Borglet address (poll_stream.ts: a message each way, not a call per poll). It also
// marks unreachable machines DOWN, declares their tasks LOST at a bounded rate, and brings returning machines back
// UP. Usage in the replies is soft state handed to onSample (never replicated). The master polls; Borglets never
// push.
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { BorgletClient, CHANNEL_OPTIONS, MachineState, EventType, PollResponse, type Ballot, type Command, type HealthUpdate, type ReservationUpdate, type TaskTransition } from '../../proto/index';
import type { Clock } from '../../model/clock';
import { BorgError, Unavailable } from '../../model/errors';
import type { LinkConfig } from '../../cells/config';
import { MAX_TRANSITIONS_PER_COMMAND } from '../../cells/limits';
import type { CellState } from '../state/cell_state';
import type { MachineRec } from '../state/records';
import { bodies, command } from '../state/builders';
import { machinePhase, shardOwner } from './assignment';
import { desiredTasks, desiredVersionCached } from './desired';
import { diffReport } from './report_diff';
import { Dedup, MachineHealth, TokenBucket } from './health';
import { PollChannel, type PollReply } from './poll_stream';

/** MasterView is what the shard needs to know of Paxos right now. */
export interface MasterView {
  /** ballot of the current master; polls carry it so Borglets obey only the newest master. */
  ballot: Ballot;
  /** polling is allowed: a master is known and this replica's state is caught up with it. */
  canPoll: boolean;
}

export interface LinkShardOptions {
  replicaId: number;
  replicaIds: readonly number[];
  /**
   * liveReplicaIds: the replicas this one currently hears from (itself included). Machines are shared among
   * live replicas only, so a dead replica's share is taken over instead of going unpolled.
   */
  liveReplicaIds(): readonly number[];
  /** state returns the replica's current cell state (a snapshot restore replaces the object). */
  state(): CellState;
  config: LinkConfig;
  clock: Clock;
  master(): MasterView;
  /** submit commits commands: proposes them on the leader, forwards them to the leader elsewhere. */
  submit(commands: Command[]): Promise<void>;
  credentials?: ChannelCredentials;
  /** hostOverride lets TLS name checks use the cell's certificate name instead of 127.0.0.1. */
  sslTargetName?: string;
  log?: (msg: string) => void;
  onPoll?: (machine: string, intervalMs: number, ok: boolean) => void;
  /** onOomKill hears each task end the kernel's OOM killer caused (once per task run). */
  onOomKill?: () => void;
  /** onSample hears every successful reply (usage is soft state: never replicated). */
  onSample?: (machine: string, atMs: number, response: PollResponse) => void;
  /** onUnchanged hears a successful reply equal to the last one judged, which is not decoded: its sample still holds. */
  onUnchanged?: (machine: string, atMs: number) => void;
}

export interface MachineSample {
  atMs: number;
  response: PollResponse;
}

/** LinkStats counts what the shard sent, for tests and the benchmark (a quiet cell sends no specs). */
export interface LinkStats {
  /** fullPolls carried the machine's complete desired state; unchangedPolls only its version. */
  fullPolls: number;
  unchangedPolls: number;
  /** specsSent counts task specs carried by polls. */
  specsSent: number;
  failedPolls: number;
  /** commits counts submit() calls (each one batch of differences, from every machine polled meanwhile). */
  commits: number;
  /** rounds counts rounds that launched polls. */
  rounds: number;
  /** skippedInFlight counts machines a round passed over because their previous poll was still out. */
  skippedInFlight: number;
  /** sameReplies counts replies byte for byte equal to the report last judged quiet against the same state (not decoded). */
  sameReplies: number;
}

/**
 * QuietVerdict: the report a machine last sent that asked for nothing (no transition, no reservation, no state
 * change, its desired state confirmed), and the state it was judged against. The same bytes against the same
 * state get the same verdict, so they are not decoded again (the usage they carry is unchanged as well).
 */
interface QuietVerdict {
  body: Buffer;
  rec: MachineRec;
  generation: number;
  epoch: number;
  version: number;
}

const MAX_CONCURRENT_POLLS = 512;
/**
 * MAX_POLLS_PER_ADDRESS bounds the polls out to one Borglet address at once. A real Borglet serves one machine, but
 * a simulated-Borglets process serves thousands on one address: piling hundreds of polls on it only lengthens its
 * queue until they time out and healthy machines are marked DOWN; a slow endpoint should stretch its machines'
 * poll interval instead.
 */
const MAX_POLLS_PER_ADDRESS = 256;
/**
 * The window of polls out to one address adapts (TCP-like additive increase, multiplicative decrease): a poll that
 * times out halves it, one answered in time widens it by 1/window. An endpoint that slows down (a loaded host) is
 * then polled less often instead of being flooded until its polls time out and its healthy machines go DOWN.
 */
const MIN_POLLS_PER_ADDRESS = 8;
const INITIAL_POLLS_PER_ADDRESS = 64;
/** PACE_TICK_MS: polls due are launched in small groups this often, instead of all at the start of a round. */
const PACE_TICK_MS = 20;
/** SPREAD_FRACTION: a round's polls are launched over this share of the interval (room for replies to come back). */
const SPREAD_FRACTION = 0.9;
/** FLUSH_MS: differences found by polls are batched for this long into one commit (one Paxos entry, not one each). */
const FLUSH_MS = 100;

/** OWNED_REFRESH_MS: the list of machines this shard polls is recomputed at least this often. */
const OWNED_REFRESH_MS = 30_000;
/** EXPIRE_TICK_MS: how often polls past their deadline are failed (deadlines are seconds, so this is fine enough). */
const EXPIRE_TICK_MS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Outbox: what the polls found since the last flush, committed together. */
interface Outbox {
  machineStates: Command[];
  transitions: TaskTransition[];
  reservations: ReservationUpdate[];
  health: HealthUpdate[];
}

function emptyOutbox(): Outbox {
  return { machineStates: [], transitions: [], reservations: [], health: [] };
}

export class LinkShard {
  readonly stats: LinkStats = { fullPolls: 0, unchangedPolls: 0, specsSent: 0, failedPolls: 0, commits: 0, rounds: 0, skippedInFlight: 0, sameReplies: 0 };
  /** quiet: per machine, the last report judged to ask for nothing (soft; bounded by the machines polled). */
  private readonly quiet = new Map<string, QuietVerdict>();
  /** channels: one PollStream per Borglet address (a simulated-Borglets process shares one among its machines). */
  private readonly channels = new Map<string, { client: InstanceType<typeof BorgletClient>; channel: PollChannel }>();
  private expireTimer: NodeJS.Timeout | undefined;
  private readonly health: MachineHealth;
  private readonly lostBucket: TokenBucket;
  private readonly dedup: Dedup;
  private readonly lastPollMs = new Map<string, number>();
  private readonly refusedAt = new Map<string, string>();
  /** echoed: the desired version each Borglet last echoed (soft; a new master starts empty and sends full states). */
  private readonly echoed = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly inFlightByAddress = new Map<string, number>();
  /** pollWindow: how many polls may be out to each address now (AIMD, between the two bounds above). */
  private readonly pollWindow = new Map<string, number>();

  /** windowOf is the current poll window of an address. */
  windowOf(address: string): number {
    return this.pollWindow.get(address) ?? INITIAL_POLLS_PER_ADDRESS;
  }

  private adjustWindow(address: string, timedOut: boolean): void {
    const w = this.windowOf(address);
    this.pollWindow.set(address, timedOut ? Math.max(MIN_POLLS_PER_ADDRESS, w / 2) : Math.min(MAX_POLLS_PER_ADDRESS, w + 1 / w));
  }
  private outbox: Outbox = emptyOutbox();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private launching = false;
  private stopped = false;

  constructor(private readonly o: LinkShardOptions) {
    this.health = new MachineHealth(o.config.missedPollsBeforeDown);
    // Each of n replicas replaces lost tasks at 1/n of the cell's rate, so the cell as a whole keeps to it.
    const rate = o.config.rescheduleTasksPerSecond / o.replicaIds.length;
    this.lostBucket = new TokenBucket(o.clock, rate, Math.max(1, Math.ceil(rate)));
    this.dedup = new Dedup(o.clock, 3 * o.config.pollIntervalMs);
  }

  start(): void {
    const fail = (e: unknown) => this.o.log?.(`link: poll round failed: ${e instanceof Error ? e.message : String(e)}`);
    const loop = async () => {
      if (this.stopped) return;
      const started = this.o.clock.nowMs();
      // The next round starts one interval after this one started, or as soon as this one has launched its polls if
      // that took longer (a busy host): never skipped, so a machine is not left for two intervals. Replies still
      // out only delay their own machine (inFlight), not the schedule.
      try {
        const r = await this.launchRound();
        void this.finishRound(r).catch(fail);
      } catch (e: unknown) {
        fail(e);
      }
      if (this.stopped) return;
      const elapsed = this.o.clock.nowMs() - started;
      this.timer = setTimeout(() => void loop(), Math.max(0, this.o.config.pollIntervalMs - elapsed));
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  /** streamsOpened counts the PollStreams opened so far, over every address (one each unless streams broke). */
  get streamsOpened(): number {
    let n = 0;
    for (const c of this.channels.values()) n += c.channel.streamsOpened;
    return n;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.expireTimer) clearInterval(this.expireTimer);
    this.expireTimer = undefined;
    for (const c of this.channels.values()) {
      c.channel.close();
      c.client.close();
    }
    this.channels.clear();
  }

  /**
   * owned lists the machines this replica polls under the given ballot, in the order of their offsets. The list is
   * kept while the ballot, the live replicas, the state object and its machine count stay the same (machines are
   * never removed, only added); pollOne looks each machine up afresh, so a changed address is always used.
   */
  owned(ballot: Ballot): MachineRec[] {
    const live = this.o.liveReplicaIds();
    // Every election (a new ballot) reshuffles the partition, as in Borg.
    const epoch = ballot.round * 256 + ballot.replica;
    const state = this.o.state();
    const key = `${epoch}|${live.join(',')}|${state.machines.size}`;
    const now = this.o.clock.nowMs();
    const c = this.ownedCache;
    // Rebuilt at least every OWNED_REFRESH_MS anyway, for a re-registration that gave a machine its first address.
    if (c !== undefined && c.key === key && c.state === state && now - c.builtMs < OWNED_REFRESH_MS) return c.machines;
    const out: { m: MachineRec; phase: number }[] = [];
    for (const m of state.machines.values()) {
      if (m.address !== '' && shardOwner(m.name, live, epoch) === this.o.replicaId) out.push({ m, phase: machinePhase(m.name) });
    }
    out.sort((a, b) => a.phase - b.phase || (a.m.name < b.m.name ? -1 : 1));
    const machines = out.map((x) => x.m);
    this.ownedCache = { key, state, machines, builtMs: now };
    return machines;
  }
  private ownedCache: { key: string; state: CellState; machines: MachineRec[]; builtMs: number } | undefined;

  /**
   * round polls every owned machine once: launched at evenly spread offsets over the interval (a machine whose
   * last poll is still out is skipped), then the DOWN machines' tasks are declared LOST at the bounded rate.
   * Resolves once the polls it launched have answered and their differences were handed to submit().
   */
  async round(): Promise<void> {
    await this.finishRound(await this.launchRound());
  }

  /** launchRound launches one round's polls, spread over the interval; resolves once the last is launched. */
  private async launchRound(): Promise<{ launched: Promise<void>[]; machines: MachineRec[] }> {
    const launched: Promise<void>[] = [];
    let machines: MachineRec[] = [];
    if (this.launching) return { launched, machines };
    this.launching = true;
    try {
      const view = this.o.master();
      if (!view.canPoll) return { launched, machines };
      const ballotKey = `${view.ballot.round}/${view.ballot.replica}`;
      machines = this.owned(view.ballot);
      this.stats.rounds++;
      const spreadMs = this.o.config.pollIntervalMs * SPREAD_FRACTION;
      const started = this.o.clock.nowMs();
      let next = 0;
      while (next < machines.length && !this.stopped) {
        const now = this.o.clock.nowMs();
        const due = spreadMs <= 0 ? machines.length : Math.min(machines.length, Math.floor(((now - started) / spreadMs) * machines.length) + 1);
        while (next < due && this.inFlight.size < MAX_CONCURRENT_POLLS) {
          const m = machines[next] as MachineRec;
          const address = m.address;
          const out = this.inFlightByAddress.get(address) ?? 0;
          if (out >= Math.floor(this.windowOf(address))) break; // wait for that endpoint's replies
          next++;
          if (this.inFlight.has(m.name)) {
            this.stats.skippedInFlight++;
            continue;
          }
          this.inFlightByAddress.set(address, out + 1);
          const p = this.pollOne(m.name, view.ballot).finally(() => {
            this.inFlight.delete(m.name);
            const n = (this.inFlightByAddress.get(address) ?? 1) - 1;
            if (n <= 0) this.inFlightByAddress.delete(address);
            else this.inFlightByAddress.set(address, n);
          });
          this.inFlight.set(m.name, p);
          launched.push(p);
        }
        if (next >= machines.length) break;
        await sleep(PACE_TICK_MS);
        // A new ballot (or losing the right to poll) ends the round: the next one recomputes who polls what.
        const v = this.o.master();
        if (!v.canPoll || `${v.ballot.round}/${v.ballot.replica}` !== ballotKey) break;
      }
    } finally {
      this.launching = false;
    }
    return { launched, machines };
  }

  /** finishRound declares the DOWN machines' tasks LOST, waits for the round's replies and commits what they found. */
  private async finishRound(r: { launched: Promise<void>[]; machines: MachineRec[] }): Promise<void> {
    this.declareLost(r.machines);
    await Promise.all(r.launched);
    await this.flush();
  }

  private channel(m: MachineRec): PollChannel {
    let c = this.channels.get(m.address);
    if (!c) {
      const options: Record<string, string | number> = { ...CHANNEL_OPTIONS };
      if (this.o.sslTargetName) options['grpc.ssl_target_name_override'] = this.o.sslTargetName;
      const client = new BorgletClient(m.address, this.o.credentials ?? grpcCredentials.createInsecure(), options);
      c = { client, channel: new PollChannel(client, m.address) };
      this.channels.set(m.address, c);
      // Deadlines are enforced from the first channel on, whether rounds come from start() or from round().
      this.expireTimer ??= setInterval(() => {
        const now = this.o.clock.nowMs();
        for (const x of this.channels.values()) x.channel.expire(now);
      }, EXPIRE_TICK_MS);
    }
    return c.channel;
  }

  /** pollOne polls one machine (looked up afresh: a checkpoint restore replaces the records). */
  private async pollOne(name: string, ballot: Ballot, retried = false): Promise<void> {
    if (this.stopped) return;
    const state = this.o.state();
    const m = state.machines.get(name);
    if (m === undefined || m.address === '') return;
    const ballotKey = `${ballot.round}/${ballot.replica}`;
    if (this.refusedAt.get(m.name) === ballotKey) return; // a newer master owns this Borglet: we are deposed
    const version = desiredVersionCached(m, state.desiredEpoch);
    // A machine this shard has not heard from yet (new share after an election, or after a failed poll) gets an
    // optimistic "unchanged" poll first: the version is the content's hash, the same on every replica, so a
    // Borglet that ran the previous master's orders already echoes it. One that does not is re-polled at once
    // with the full state (below), and meanwhile nothing it fails to report counts as LOST.
    const known = this.echoed.get(m.name);
    const full = known !== undefined && known !== version;
    const sentIds: string[] = [];
    for (const t of m.tasks) sentIds.push(t.id);
    const tasks = full ? desiredTasks(m, state.cell) : [];
    if (full) {
      this.stats.fullPolls++;
      this.stats.specsSent += tasks.length;
    } else this.stats.unchangedPolls++;
    const now = this.o.clock.nowMs();
    const previous = this.lastPollMs.get(m.name);
    this.lastPollMs.set(m.name, now);
    const failed = (e: unknown) => {
      this.stats.failedPolls++;
      this.echoed.delete(m.name);
      if (e instanceof BorgError && e.code === 'deadline_exceeded') this.adjustWindow(m.address, true);
      this.o.onPoll?.(m.name, previous === undefined ? 0 : now - previous, false);
      if (this.health.missed(m.name) && m.state !== MachineState.DOWN && this.dedup.fresh(`down/${m.name}`)) {
        this.o.log?.(`link: ${m.name} missed ${this.health.missedCount(m.name)} polls (${e instanceof Error ? e.message : String(e)}); marking it DOWN`);
        this.enqueue({ machineState: command(bodies.setMachineState(m.name, MachineState.DOWN, `missed ${this.health.missedCount(m.name)} polls`)) });
      }
    };
    let reply: PollReply;
    try {
      // The deadline is twice the interval: a reply that is merely late is not a missed poll.
      reply = await this.channel(m).poll(
        { cell: state.cell, machine: m.name, ballot, replica: this.o.replicaId, pollSeq: 0, authoritative: full, tasks, desiredVersion: version },
        now,
        Math.max(1000, 2 * this.o.config.pollIntervalMs),
      );
    } catch (e: unknown) {
      failed(e);
      return;
    }
    // The records may have been replaced while the poll was out (a checkpoint restore): judge against the current.
    const current = this.o.state();
    const cur = current.machines.get(name);
    const last = this.quiet.get(name);
    if (
      !full &&
      last !== undefined &&
      cur === last.rec &&
      cur.generation === last.generation &&
      current.desiredEpoch === last.epoch &&
      version === last.version &&
      reply.bodyEnd === last.body.length &&
      last.body.equals(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bodyEnd))
    ) {
      this.stats.sameReplies++;
      this.o.onPoll?.(m.name, previous === undefined ? 0 : now - previous, true);
      this.adjustWindow(m.address, false);
      this.health.ok(m.name);
      this.o.onUnchanged?.(m.name, now);
      return;
    }
    this.quiet.delete(name);
    let response: PollResponse;
    try {
      response = PollResponse.decode(reply.bytes);
    } catch (e: unknown) {
      failed(new Unavailable(`${m.name} sent an undecodable poll reply: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    this.o.onPoll?.(m.name, previous === undefined ? 0 : now - previous, true);
    this.adjustWindow(m.address, false);
    if (response.refused) {
      this.refusedAt.set(m.name, ballotKey);
      this.o.log?.(`link: ${m.name} refused ballot ${ballotKey}: it has seen ${response.ballotSeen?.round}/${response.ballotSeen?.replica}`);
      return;
    }
    const echo = response.desiredVersion ?? 0;
    this.echoed.set(m.name, echo);
    this.health.ok(m.name);
    this.o.onSample?.(m.name, now, response);
    if (cur === undefined) return;
    if (cur.state === MachineState.DOWN && this.dedup.fresh(`up/${cur.name}/${cur.generation}`)) {
      this.enqueue({ machineState: command(bodies.setMachineState(cur.name, MachineState.UP, 'answering polls again')) });
    }
    // A task is LOST only if the Borglet was told about it and does not report it: a full poll told it; an
    // "unchanged" poll told it only if the Borglet still holds that version (a restarted one holds none).
    const told = full || echo === version ? new Set(sentIds) : new Set<string>();
    const diff = diffReport(cur, response.tasks, told);
    // A report repeated before its command applied is sent once; a RESTART is new with each count.
    const transitions = diff.transitions.filter((t) => this.dedup.fresh(`${t.taskId}/${t.event}/${t.specVersion}/${t.restarts}`));
    for (const t of transitions) if (t.event === EventType.FAIL && response.tasks.some((s) => s.taskId === t.taskId && s.oomKilled)) this.o.onOomKill?.();
    const reservations = diff.reservations.filter((r) => this.dedup.fresh(`res/${r.taskId}/${r.reservation?.cpuMillis}/${r.reservation?.ramBytes}/${r.reservation?.diskBytes}`));
    // Keyed by the state's last health change too, so a task that flaps is reported again at once.
    const health = diff.health.filter((h) => this.dedup.fresh(`health/${h.update.taskId}/${h.update.healthy}/${h.sinceMs}`)).map((h) => h.update);
    if (transitions.length > 0 || reservations.length > 0 || health.length > 0) this.enqueue({ transitions, reservations, health });
    // Nothing to ask for, and the Borglet runs exactly what was meant (as judged against this very record): the
    // next identical report needs no decoding. The bytes are copied (the reply may be a view of a larger buffer).
    if (!full && echo === version && cur === m && cur.state !== MachineState.DOWN && diff.transitions.length === 0 && diff.reservations.length === 0 && diff.health.length === 0 && reply.bodyEnd >= 0) {
      this.quiet.set(name, { body: Buffer.from(reply.bytes.subarray(0, reply.bodyEnd)), rec: cur, generation: cur.generation, epoch: current.desiredEpoch, version });
    }
    // A Borglet that lost its desired state since its last echo (it restarted) hears the full state at once.
    if (!full && echo !== version && !retried && !this.stopped) await this.pollOne(name, ballot, true);
  }

  private enqueue(x: { machineState?: Command; transitions?: TaskTransition[]; reservations?: ReservationUpdate[]; health?: HealthUpdate[] }): void {
    if (x.machineState) this.outbox.machineStates.push(x.machineState);
    if (x.transitions) this.outbox.transitions.push(...x.transitions);
    if (x.reservations) this.outbox.reservations.push(...x.reservations);
    if (x.health) this.outbox.health.push(...x.health);
    if (this.flushTimer === undefined && !this.stopped) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, FLUSH_MS);
    }
  }

  /**
   * flush commits everything the polls found since the last flush as one submit: machine states first (a machine
   * comes back UP before its tasks are judged), then transitions (a RESTART resets a task's health), reservations and
   * health, a command per MAX_TRANSITIONS_PER_COMMAND entries. Flushes run one at a time, in order.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      const box = this.outbox;
      this.outbox = emptyOutbox();
      const commands: Command[] = [...box.machineStates];
      const chunked = <T>(list: T[], body: (part: T[]) => NonNullable<Command['body']>) => {
        for (let i = 0; i < list.length; i += MAX_TRANSITIONS_PER_COMMAND) commands.push(command(body(list.slice(i, i + MAX_TRANSITIONS_PER_COMMAND))));
      };
      chunked(box.transitions, bodies.transitions);
      chunked(box.reservations, (part) => bodies.reservations(part.map((r) => ({ taskId: r.taskId, machine: r.machine, reservation: r.reservation ?? { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 } }))));
      chunked(box.health, bodies.health);
      if (commands.length === 0) return;
      this.stats.commits++;
      await this.o.submit(commands);
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** declareLost replaces the tasks of DOWN machines, no faster than the bucket allows. */
  private declareLost(machines: MachineRec[]): void {
    const lost: TaskTransition[] = [];
    outer: for (const stale of machines) {
      const m = this.o.state().machines.get(stale.name);
      if (m === undefined || m.state !== MachineState.DOWN) continue;
      for (const t of m.tasks) {
        const key = `${t.id}/${EventType.LOST}/${t.specVersion}`;
        if (this.dedup.recent(key)) continue;
        if (this.lostBucket.take(1) === 0) break outer;
        this.dedup.mark(key);
        lost.push({ taskId: t.id, event: EventType.LOST, machine: m.name, specVersion: t.specVersion, victimTaskIds: [], exitCode: 0, message: `machine ${m.name} is DOWN`, restarts: 0 });
      }
    }
    if (lost.length > 0) this.enqueue({ transitions: lost });
  }
}
