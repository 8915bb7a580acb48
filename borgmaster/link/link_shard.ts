// A replica's link shard (B15 §3.3): polls its share of the Borglets every poll interval with the complete
// desired state of each machine and the current master's ballot, and turns the full replies into only the
// differences (diffReport), which it hands to the replica to commit. It also marks unreachable machines DOWN,
// declares their tasks LOST at a bounded rate, brings returning machines back UP, and keeps the latest usage of
// every machine it polls as soft state (never replicated). The master polls; Borglets never push.
import { credentials as grpcCredentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { BorgletClient, CHANNEL_OPTIONS, invoke, MachineState, EventType, type Ballot, type Command, type PollResponse, type TaskTransition } from '../../proto/index';
import type { Clock } from '../../model/clock';
import type { LinkConfig } from '../../cells/config';
import type { CellState } from '../state/cell_state';
import type { MachineRec } from '../state/records';
import { bodies, command } from '../state/builders';
import { shardOwner } from './assignment';
import { desiredTasks } from './desired';
import { diffReport } from './report_diff';
import { Dedup, MachineHealth, TokenBucket } from './health';

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
}

export interface MachineSample {
  atMs: number;
  response: PollResponse;
}

const MAX_CONCURRENT_POLLS = 512;

export class LinkShard {
  /** samples: the latest reply of each machine this shard polls (soft state, for the status page). */
  readonly samples = new Map<string, MachineSample>();
  private readonly clients = new Map<string, InstanceType<typeof BorgletClient>>();
  private readonly health: MachineHealth;
  private readonly lostBucket: TokenBucket;
  private readonly dedup: Dedup;
  private readonly lastPollMs = new Map<string, number>();
  private readonly refusedAt = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly o: LinkShardOptions) {
    this.health = new MachineHealth(o.config.missedPollsBeforeDown);
    // Each of n replicas replaces lost tasks at 1/n of the cell's rate, so the cell as a whole keeps to it.
    const rate = o.config.rescheduleTasksPerSecond / o.replicaIds.length;
    this.lostBucket = new TokenBucket(o.clock, rate, Math.max(1, Math.ceil(rate)));
    this.dedup = new Dedup(o.clock, 3 * o.config.pollIntervalMs);
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      const started = this.o.clock.nowMs();
      await this.round().catch((e: unknown) => this.o.log?.(`link: poll round failed: ${e instanceof Error ? e.message : String(e)}`));
      if (this.stopped) return;
      const elapsed = this.o.clock.nowMs() - started;
      this.timer = setTimeout(() => void loop(), Math.max(0, this.o.config.pollIntervalMs - elapsed));
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** owned lists the machines this replica polls under the given ballot. */
  owned(ballot: Ballot): MachineRec[] {
    const out: MachineRec[] = [];
    const live = this.o.liveReplicaIds();
    // Every election (a new ballot) reshuffles the partition, as in Borg.
    const epoch = ballot.round * 256 + ballot.replica;
    for (const m of this.o.state().machines.values()) {
      if (m.address !== '' && shardOwner(m.name, live, epoch) === this.o.replicaId) out.push(m);
    }
    return out;
  }

  /** round polls every owned machine once, at most MAX_CONCURRENT_POLLS at a time. */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const view = this.o.master();
      if (!view.canPoll) return;
      const machines = this.owned(view.ballot);
      let next = 0;
      const worker = async () => {
        while (next < machines.length && !this.stopped) {
          const m = machines[next++] as MachineRec;
          await this.pollOne(m, view.ballot);
        }
      };
      await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENT_POLLS, machines.length) }, worker));
      await this.declareLost(machines);
    } finally {
      this.running = false;
    }
  }

  private client(m: MachineRec): InstanceType<typeof BorgletClient> {
    let c = this.clients.get(m.address);
    if (!c) {
      const options: Record<string, string | number> = { ...CHANNEL_OPTIONS };
      if (this.o.sslTargetName) options['grpc.ssl_target_name_override'] = this.o.sslTargetName;
      c = new BorgletClient(m.address, this.o.credentials ?? grpcCredentials.createInsecure(), options);
      this.clients.set(m.address, c);
    }
    return c;
  }

  private async pollOne(m: MachineRec, ballot: Ballot): Promise<void> {
    const ballotKey = `${ballot.round}/${ballot.replica}`;
    if (this.refusedAt.get(m.name) === ballotKey) return; // a newer master owns this Borglet: we are deposed
    const desired = desiredTasks(m, this.o.state().cell);
    const sent = new Set(desired.map((d) => d.taskId));
    const now = this.o.clock.nowMs();
    const previous = this.lastPollMs.get(m.name);
    this.lastPollMs.set(m.name, now);
    let response: PollResponse;
    try {
      const c = this.client(m);
      response = await invoke(c.poll.bind(c), { cell: this.o.state().cell, machine: m.name, ballot, replica: this.o.replicaId, pollSeq: 0, authoritative: true, tasks: desired }, new Metadata(), Math.max(500, this.o.config.pollIntervalMs));
    } catch (e: unknown) {
      this.o.onPoll?.(m.name, previous === undefined ? 0 : now - previous, false);
      if (this.health.missed(m.name) && m.state !== MachineState.DOWN && this.dedup.fresh(`down/${m.name}`)) {
        this.o.log?.(`link: ${m.name} missed ${this.health.missedCount(m.name)} polls (${e instanceof Error ? e.message : String(e)}); marking it DOWN`);
        await this.o.submit([command(bodies.setMachineState(m.name, MachineState.DOWN, `missed ${this.health.missedCount(m.name)} polls`))]);
      }
      return;
    }
    this.o.onPoll?.(m.name, previous === undefined ? 0 : now - previous, true);
    if (response.refused) {
      this.refusedAt.set(m.name, ballotKey);
      this.o.log?.(`link: ${m.name} refused ballot ${ballotKey}: it has seen ${response.ballotSeen?.round}/${response.ballotSeen?.replica}`);
      return;
    }
    this.health.ok(m.name);
    this.samples.set(m.name, { atMs: now, response });
    this.o.onSample?.(m.name, now, response);
    const commands: Command[] = [];
    if (m.state === MachineState.DOWN && this.dedup.fresh(`up/${m.name}/${m.generation}`)) {
      commands.push(command(bodies.setMachineState(m.name, MachineState.UP, 'answering polls again')));
    }
    const diff = diffReport(m, response.tasks, sent);
    const transitions = diff.transitions.filter((t) => this.dedup.fresh(`${t.taskId}/${t.event}/${t.specVersion}`));
    for (const t of transitions) if (t.event === EventType.FAIL && response.tasks.some((s) => s.taskId === t.taskId && s.oomKilled)) this.o.onOomKill?.();
    if (transitions.length > 0) commands.push(command(bodies.transitions(transitions)));
    const reservations = diff.reservations.filter((r) => this.dedup.fresh(`res/${r.taskId}/${r.reservation?.cpuMillis}/${r.reservation?.ramBytes}/${r.reservation?.diskBytes}`));
    if (reservations.length > 0) commands.push(command(bodies.reservations(reservations.map((r) => ({ taskId: r.taskId, machine: r.machine, reservation: r.reservation ?? { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 } })))));
    if (commands.length > 0) await this.o.submit(commands);
  }

  /** declareLost replaces the tasks of DOWN machines, no faster than the bucket allows. */
  private async declareLost(machines: MachineRec[]): Promise<void> {
    const lost: TaskTransition[] = [];
    outer: for (const m of machines) {
      if (m.state !== MachineState.DOWN) continue;
      for (const t of m.tasks) {
        const key = `${t.id}/${EventType.LOST}/${t.specVersion}`;
        if (this.dedup.recent(key)) continue;
        if (this.lostBucket.take(1) === 0) break outer;
        this.dedup.mark(key);
        lost.push({ taskId: t.id, event: EventType.LOST, machine: m.name, specVersion: t.specVersion, victimTaskIds: [], exitCode: 0, message: `machine ${m.name} is DOWN` });
      }
    }
    if (lost.length > 0) await this.o.submit([command(bodies.transitions(lost))]);
  }
}
