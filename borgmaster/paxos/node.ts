// PaxosNode runs the pure core (core.ts) with real IO: LevelDB storage (persist, fsync, BEFORE sending), the gRPC
// transport, a tick timer, and a caller's state machine fed committed commands in log order. It is the one
// object the Borgmaster (and replica_main.ts) holds: propose, lease reads, leadership, snapshots, close.
import { performance } from 'node:perf_hooks';
import type { ChannelCredentials, Server } from '@grpc/grpc-js';
import { PAXOS_MAX_INFLIGHT_SLOTS, PAXOS_SNAPSHOT_EVERY_ENTRIES } from '../../cells/limits';
import type { PaxosConfig } from '../../cells/config';
import { assert } from '../../model/assert';
import { BorgError, InvalidArgument, NotLeader, Unavailable } from '../../model/errors';
import { SeededRng, systemRng } from '../../model/rng';
import type { PaxosMessage } from '../../proto/index';
import { PaxosReplica } from './core';
import type { CommittedEntry, PaxosStatus, Ready } from './core_types';
import { PaxosStorage } from './storage';
import { PaxosTransport, type PeerAddress } from './transport';

/**
 * StateMachine is what the log drives. apply() is called once per chosen command, in slot order, never for
 * no-ops; it must be deterministic (every replica applies the same commands). R is what apply returns to the
 * proposer on the replica that proposed the command.
 */
export interface StateMachine<R = void> {
  apply(command: Uint8Array, slot: number): R;
  /** takeSnapshot serialises the state reflecting every slot applied so far. */
  takeSnapshot(): Uint8Array;
  /** restoreSnapshot replaces the whole state with a snapshot (from this replica's disk or from the leader). */
  restoreSnapshot(bytes: Uint8Array): void;
}

export interface PaxosNodeOptions<R> {
  /** id is this replica's id; replicas lists every replica of the cell (this one included), id -> address. */
  id: number;
  replicas: readonly PeerAddress[];
  dataDir: string;
  timing: PaxosConfig;
  stateMachine: StateMachine<R>;
  /** credentials for connections to peers; insecure when omitted (loopback tests and benchmarks). */
  credentials?: ChannelCredentials;
  /** seed for the core's election jitter; drawn from the OS when omitted. */
  seed?: number;
  /**
   * snapshotEveryEntries: take a state-machine snapshot and truncate the log every this many applied slots (at slots
   * staggered across the replicas: see snapshotPhaseOf).
   */
  snapshotEveryEntries?: number;
  /**
   * onFatal hears the error that stopped the node (a failed disk write, a state machine that threw, a broken
   * invariant). The node has stopped voting by then; a process should exit and restart from disk.
   */
  onFatal?: (e: unknown) => void;
}

interface PendingProposal<R> {
  slot: number;
  bytes: Uint8Array;
  proposal: Proposal<R>;
}

interface Proposal<R> {
  remaining: number;
  lastSlot: number;
  results: R[];
  firstSlot: number;
  resolve: (v: { lastIndex: number; results: R[] }) => void;
  reject: (e: unknown) => void;
  settled: boolean;
}

interface AppliedWaiter {
  index: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** snapshotPhaseOf is replica id's shift of its snapshot points: its rank among ids (sorted) times every / count. */
export function snapshotPhaseOf(id: number, ids: readonly number[], every: number): number {
  const sorted = [...ids].sort((a, b) => a - b);
  assert(sorted.includes(id), `replica ${id} is not in the membership`);
  return Math.floor((sorted.indexOf(id) * every) / sorted.length);
}

/** snapshotDue: the applied index crossed a snapshot point (a multiple of every, shifted by phase) since the last. */
export function snapshotDue(applied: number, lastSnapshot: number, every: number, phase: number): boolean {
  const period = (index: number): number => Math.floor((index + phase) / every);
  return period(applied) > period(lastSnapshot);
}

/** LEASE_READ_RETRY_TICKS: how long linearizableRead keeps retrying a leader that has no lease yet. */
const LEASE_READ_RETRY_TICKS = 40;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/**
 * PaxosNode owns a storage, a core and a transport. Create it with PaxosNode.open (which verifies the disk and
 * restores the state machine), registerService() on the gRPC server that peers dial at this replica's address,
 * and close() it when done. All methods are safe to call at any time; after close they reject.
 */
export class PaxosNode<R = void> {
  private readonly core: PaxosReplica;
  private readonly transport: PaxosTransport;
  private readonly addresses = new Map<number, string>();
  private readonly pending = new Map<number, PendingProposal<R>>();
  private waiters: AppliedWaiter[] = [];
  private appliedIndex: number;
  private lastSnapshotIndex: number;
  private tickTimer: NodeJS.Timeout | undefined;
  private ticksDone = 0;
  private readonly startedMs = performance.now();
  private looping = false;
  private kickScheduled = false;
  private closed = false;
  private fatal: unknown = undefined;
  private readonly snapshotEvery: number;
  /**
   * snapshotPhase staggers the replicas' snapshots: replica number p (of n, by id) snapshots when its applied index
   * crosses a multiple of snapshotEvery shifted by p * snapshotEvery / n. Taken at the same slot, every replica
   * serialised its state and synced a multi-MB record at once, and commits stalled for a quorum; staggered, the
   * other two replicas of three still make a quorum while one snapshots.
   */
  private readonly snapshotPhase: number;
  /** counters for status pages and benchmarks */
  readonly metrics = { readies: 0, syncs: 0, appliedCommands: 0, droppedInvalid: 0, snapshots: 0 };

  private constructor(
    private readonly options: PaxosNodeOptions<R>,
    private readonly storage: PaxosStorage,
  ) {
    const ids = options.replicas.map((r) => r.id);
    assert(ids.includes(options.id), `replica ${options.id} is not in the membership ${ids.join(',')}`);
    for (const r of options.replicas) this.addresses.set(r.id, r.address);
    this.snapshotEvery = options.snapshotEveryEntries ?? PAXOS_SNAPSHOT_EVERY_ENTRIES;
    assert(Number.isSafeInteger(this.snapshotEvery) && this.snapshotEvery >= 1, 'snapshotEveryEntries >= 1');
    this.snapshotPhase = snapshotPhaseOf(options.id, ids, this.snapshotEvery);
    const stored = storage.takeLoaded();
    if (stored.snapshot) options.stateMachine.restoreSnapshot(stored.snapshot.data);
    this.appliedIndex = stored.snapshot?.index ?? 0;
    this.lastSnapshotIndex = this.appliedIndex;
    const rng = (options.seed === undefined ? systemRng() : new SeededRng(options.seed)).fork(`paxos-${options.id}`);
    this.core = new PaxosReplica(
      {
        id: options.id,
        replicaIds: ids,
        electionTicks: options.timing.electionTicks,
        heartbeatTicks: options.timing.heartbeatTicks,
        leaseTicks: options.timing.leaseTicks,
        maxClockDrift: options.timing.maxClockDrift,
        rng,
      },
      stored,
    );
    this.transport = new PaxosTransport({
      selfId: options.id,
      peers: options.replicas.filter((r) => r.id !== options.id),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      onMessage: (m) => this.onMessage(m),
    });
  }

  /** open verifies and loads the replica's disk (StorageCorrupt if it cannot be trusted) and starts ticking. */
  static async open<R>(options: PaxosNodeOptions<R>): Promise<PaxosNode<R>> {
    const storage = await PaxosStorage.open(options.dataDir);
    let node: PaxosNode<R>;
    try {
      node = new PaxosNode(options, storage);
    } catch (e: unknown) {
      await storage.close();
      throw e;
    }
    node.startTicking();
    node.kick(); // a restarted replica may have committed entries to apply
    return node;
  }

  /** registerService adds Paxos.Deliver to server (before bindAsync); peers dial this replica's address. */
  registerService(server: Server): void {
    this.transport.registerService(server);
  }

  isLeader(): boolean {
    return !this.closed && this.core.status().role === 'leader';
  }

  leaderId(): number | undefined {
    return this.core.status().leaderId;
  }

  /** leaderAddress is the address of the replica believed to lead, if known. */
  leaderAddress(): string | undefined {
    const id = this.leaderId();
    return id === undefined ? undefined : this.addresses.get(id);
  }

  status(): PaxosStatus {
    return this.core.status();
  }

  transportStats(): ReturnType<PaxosTransport['stats']> {
    return this.transport.stats();
  }

  /**
   * propose puts commands in consecutive slots and resolves with the last slot once every one of them is chosen
   * and applied here. NotLeader (with the leader's address) when this replica does not lead; Unavailable when
   * leadership changed before the commands were chosen (they were not: retry at the new leader).
   */
  async propose(commands: readonly Uint8Array[]): Promise<number> {
    return (await this.proposeForResults(commands)).lastIndex;
  }

  /** proposeForResults is propose that also returns what the state machine's apply returned for each command. */
  proposeForResults(commands: readonly Uint8Array[]): Promise<{ lastIndex: number; results: R[] }> {
    if (this.closed) return Promise.reject(new Unavailable('paxos node is closed', { cause: this.fatal }));
    if (commands.length === 0) return Promise.reject(new InvalidArgument('commands', 'at least one command'));
    let result: ReturnType<PaxosReplica['propose']>;
    try {
      result = this.core.propose(commands); // InvalidArgument for a command over the batch limit
    } catch (e: unknown) {
      return Promise.reject(e);
    }
    switch (result.kind) {
      case 'not_leader':
        return Promise.reject(new NotLeader(result.leaderId === undefined ? undefined : this.addresses.get(result.leaderId)));
      case 'busy':
        return Promise.reject(new BorgError('resource_exhausted', `paxos pipeline full (${PAXOS_MAX_INFLIGHT_SLOTS} slots in flight); retry`));
      case 'ok': {
        assert(result.lastSlot - result.firstSlot + 1 === commands.length, 'one slot per command');
        const promise = new Promise<{ lastIndex: number; results: R[] }>((resolve, reject) => {
          const proposal: Proposal<R> = {
            remaining: commands.length,
            firstSlot: result.firstSlot,
            lastSlot: result.lastSlot,
            results: new Array<R>(commands.length),
            resolve,
            reject,
            settled: false,
          };
          commands.forEach((bytes, i) => {
            const slot = result.firstSlot + i;
            const clash = this.pending.get(slot);
            // A slot proposed again by a later leadership of ours: the older proposal lost it.
            if (clash) this.fail(clash.proposal, new Unavailable(`slot ${slot} was re-proposed; the earlier command was not chosen`));
            this.pending.set(slot, { slot, bytes, proposal });
          });
        });
        this.kick();
        return promise;
      }
    }
  }

  /**
   * linearizableRead resolves (with the index read at) once this replica may answer a read linearisably from its
   * state machine: it leads under a live lease and has applied everything acknowledged before the call.
   * NotLeader when another replica leads; Unavailable when no lease could be had in time.
   */
  async linearizableRead(): Promise<number> {
    const deadlineTick = this.ticksDone + LEASE_READ_RETRY_TICKS;
    for (;;) {
      if (this.closed) throw new Unavailable('paxos node is closed', { cause: this.fatal });
      const r = this.core.readIndex();
      switch (r.kind) {
        case 'ok':
          await this.waitApplied(r.index);
          return r.index;
        case 'not_leader':
          throw new NotLeader(r.leaderId === undefined ? undefined : this.addresses.get(r.leaderId));
        case 'no_lease':
          if (this.ticksDone >= deadlineTick) throw new Unavailable('leader has no lease yet; retry');
          await new Promise((res) => setTimeout(res, this.options.timing.tickMs));
          break;
      }
    }
  }

  /** waitApplied resolves once the state machine reflects slot index. */
  waitApplied(index: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    if (this.closed) return Promise.reject(new Unavailable('paxos node is closed', { cause: this.fatal }));
    return new Promise((resolve, reject) => this.waiters.push({ index, resolve, reject }));
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** close stops ticking, closes the transport and the disk, and rejects everything pending. */
  async close(): Promise<void> {
    if (!this.closed) this.stop(new Unavailable('paxos node closed'));
    // Let a Ready in flight finish its write before the database closes under it.
    while (this.looping) await new Promise((r) => setTimeout(r, 1));
    await this.storage.close();
  }

  // --- the loop ---

  private startTicking(): void {
    // Ticks follow the monotonic clock, not the count of timer firings: a timer delayed by a busy event loop is
    // made up for with several ticks, so this replica's tick rate stays within the drift the lease assumes (a
    // leader whose ticks ran slow would believe its lease longer than it is). The ticks run in setImmediate, after
    // the poll phase, so messages that arrived while this process was starved of CPU (heartbeats sitting in the
    // socket) are stepped before the catch-up ticks, instead of a follower campaigning against a live leader.
    const tickMs = this.options.timing.tickMs;
    this.tickTimer = setInterval(() => {
      setImmediate(() => {
        if (this.closed) return;
        const due = Math.floor((performance.now() - this.startedMs) / tickMs);
        let n = 0;
        while (this.ticksDone < due) {
          this.ticksDone += 1;
          n += 1;
          this.guard(() => this.core.tick());
        }
        if (n > 0) this.kick();
      });
    }, tickMs);
  }

  private onMessage(m: PaxosMessage): void {
    if (this.closed) return;
    try {
      this.core.step(m);
    } catch (e: unknown) {
      // Malformed input from the network is dropped (the core changed nothing); anything else is a bug.
      if (e instanceof InvalidArgument) {
        this.metrics.droppedInvalid += 1;
        return;
      }
      this.die(e);
      return;
    }
    this.kick();
  }

  /**
   * kick runs the Ready loop soon; everything stepped or proposed in this turn of the event loop joins one batch.
   * While a Ready is being persisted it streams instead what needs nothing durable (core.takeMessages(): the
   * leader's ACCEPTs for proposals made meanwhile, heartbeats), so followers persist batch k+1 while the leader
   * still syncs batch k, and two followers can choose a slot before the leader's own fsync ends; and it applies
   * what was chosen meanwhile (core.takeCommitted()), so that proposer hears back without waiting for the fsync.
   */
  private kick(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      if (this.closed) return;
      if (this.looping) this.midPersist();
      else void this.loop();
    });
  }

  private midPersist(): void {
    this.guard(() => {
      const messages = this.core.takeMessages();
      for (const m of messages) this.transport.send(m);
      if (messages.length > 0) this.transport.flush();
      // Safe only because handle() applied the in-flight Ready's entries before its fsync (the core returns
      // nothing while a snapshot from a peer waits to be installed after its persist).
      this.applyEntries(this.core.takeCommitted());
    });
  }

  private async loop(): Promise<void> {
    if (this.looping || this.closed) return;
    this.looping = true;
    try {
      while (!this.closed && this.core.hasReady()) {
        const rd = this.core.ready();
        this.metrics.readies += 1;
        await this.handle(rd);
      }
    } catch (e: unknown) {
      this.die(e);
    } finally {
      this.looping = false;
    }
    if (!this.closed && this.core.hasReady()) this.kick();
  }

  /**
   * handle does one Ready's IO in the order core_types.ts prescribes, with one deliberate change: committed entries
   * are applied while this Ready's write and fsync run instead of after them (unless a snapshot must be installed
   * first). That is safe because a committed entry is chosen: a quorum already holds it durably (the leader counts
   * its own vote only after its write is on disk, followers answer ACCEPTED only after theirs), so acknowledging it
   * cannot lose it, and the state machine is rebuilt from disk and peers after a crash anyway. It takes one fsync out
   * of every commit's latency: otherwise what a quorum chose waits for the leader's write of the NEXT batch.
   */
  private async handle(rd: Ready): Promise<void> {
    for (const m of rd.messagesBeforePersist) this.transport.send(m);
    this.transport.flush();
    const applyEarly = rd.installSnapshot === undefined;
    // Group commit: everything proposed and stepped while the previous fsync ran is in this one batch. The write
    // starts BEFORE the chosen entries are applied, so the apply runs while LevelDB's thread writes and syncs: on a
    // follower the ACCEPTED it sends after this write is the leader's commit, and applying first put the apply of
    // the previous batch (~0.3 ms at 64 writers, ~1 ms at p90 under load) in front of every acknowledgement.
    const saving = rd.mustSync ? this.storage.save(rd.persist) : undefined;
    try {
      if (applyEarly) this.applyEntries(rd.committed);
    } finally {
      // Never leave a write in flight behind a throw: close() waits for the loop, then closes the disk.
      if (saving !== undefined) await saving;
    }
    if (saving !== undefined) this.metrics.syncs += 1;
    if (this.closed) return;
    for (const m of rd.messages) this.transport.send(m);
    this.transport.flush();
    if (rd.installSnapshot) {
      this.options.stateMachine.restoreSnapshot(rd.installSnapshot.data);
      this.appliedIndex = rd.installSnapshot.index;
      this.lastSnapshotIndex = rd.installSnapshot.index;
      // Proposals in slots the snapshot covers: their fate is unknown here.
      for (const [slot, p] of this.pending) {
        if (slot <= rd.installSnapshot.index) {
          this.pending.delete(slot);
          this.fail(p.proposal, new Unavailable(`slot ${slot} was covered by a snapshot from another replica; outcome unknown, retry idempotently`));
        }
      }
    }
    if (!applyEarly) this.applyEntries(rd.committed);
    this.core.advance(rd);
    if (snapshotDue(this.appliedIndex, this.lastSnapshotIndex, this.snapshotEvery, this.snapshotPhase)) {
      const data = this.options.stateMachine.takeSnapshot();
      this.core.compact(this.appliedIndex, data);
      this.lastSnapshotIndex = this.appliedIndex;
      this.metrics.snapshots += 1;
    }
  }

  /** applyEntries feeds committed entries to the state machine in slot order and settles the proposals they decide. */
  private applyEntries(committed: readonly CommittedEntry[]): void {
    if (committed.length === 0) return;
    for (const e of committed) {
      assert(e.slot === this.appliedIndex + 1, `committed slot ${e.slot} after applied ${this.appliedIndex}`);
      let result: R | undefined;
      if (!e.noop) {
        result = this.options.stateMachine.apply(e.value, e.slot);
        this.metrics.appliedCommands += 1;
      }
      this.appliedIndex = e.slot;
      const p = this.pending.get(e.slot);
      if (p) {
        this.pending.delete(e.slot);
        if (!e.noop && bytesEqual(e.value, p.bytes)) {
          p.proposal.results[e.slot - p.proposal.firstSlot] = result as R;
          p.proposal.remaining -= 1;
          if (p.proposal.remaining === 0 && !p.proposal.settled) {
            p.proposal.settled = true;
            p.proposal.resolve({ lastIndex: p.proposal.lastSlot, results: p.proposal.results });
          }
        } else {
          this.fail(p.proposal, new Unavailable(`slot ${e.slot} was chosen for another command (leadership changed); not committed, retry`));
        }
      }
    }
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: AppliedWaiter[] = [];
    for (const w of this.waiters) {
      if (w.index <= this.appliedIndex) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private fail(p: Proposal<R>, e: unknown): void {
    if (p.settled) return;
    p.settled = true;
    p.reject(e);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e: unknown) {
      this.die(e);
    }
  }

  /** die stops the node after a failure it cannot vote through (disk, state machine, a broken invariant). */
  private die(e: unknown): void {
    if (this.closed) return;
    this.fatal = e;
    this.stop(new Unavailable('paxos node stopped after a fatal error', { cause: e }));
    if (this.options.onFatal) this.options.onFatal(e);
    else console.error(`paxos replica ${this.options.id} stopped:`, e);
  }

  private stop(reason: Error): void {
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.transport.close();
    for (const p of this.pending.values()) this.fail(p.proposal, reason);
    this.pending.clear();
    for (const w of this.waiters) w.reject(reason);
    this.waiters = [];
  }
}
