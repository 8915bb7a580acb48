// SimCluster runs N real PaxosReplica cores on the virtual network and disks of sim/net, each under a driver
// that follows the Ready contract exactly (send-before-persist messages, one synced batch, then messages, apply,
// advance), with a register state machine, clients, crash-restart and clock drift. Checkers watch every apply.
import { SeededRng, type Rng } from '../../model/rng';
import { assert } from '../../model/assert';
import { PaxosReplica } from '../../borgmaster/paxos/core';
import { ZERO_BALLOT, type PaxosCoreConfig, type Ready, type ReadyPersist } from '../../borgmaster/paxos/core_types';
import { maxBallot } from '../../borgmaster/paxos/ballot';
import { PaxosMessage as PaxosMessageCodec, type Ballot, type PaxosEntry, type PaxosMessage, type PaxosSnapshot } from '../../proto/index';
import { EventQueue } from '../net/scheduler';
import { SimNetwork } from '../net/network';
import { SimDisk } from '../net/disk';

/** DiskState is what a replica's storage holds (the fold of every durable Ready persist). */
export interface DiskState {
  promised: Ballot;
  entries: Map<number, PaxosEntry>;
  commitIndex: number;
  snapshot: PaxosSnapshot | undefined;
}

function foldPersist(d: DiskState, p: ReadyPersist): DiskState {
  if (p.promised) d.promised = maxBallot(d.promised, p.promised);
  if (p.snapshot && (d.snapshot === undefined || p.snapshot.index > d.snapshot.index)) d.snapshot = p.snapshot;
  const cut = Math.max(p.truncateThrough ?? 0, p.snapshot?.index ?? 0);
  if (cut > 0) for (const s of [...d.entries.keys()]) if (s <= cut) d.entries.delete(s);
  for (const e of p.entries ?? []) if (e.slot > (d.snapshot?.index ?? 0)) d.entries.set(e.slot, e);
  if (p.commitIndex !== undefined && p.commitIndex > d.commitIndex) d.commitIndex = p.commitIndex;
  return d;
}

/** The register state machine: the last written value, and a digest chained over every applied slot. */
interface RegisterState {
  value: string;
  digest: number;
  applied: number;
}

const NOOP = '\u0000noop';

function chain(digest: number, slot: number, cmd: string): number {
  let h = (digest ^ slot) >>> 0;
  for (let i = 0; i < cmd.length; i++) h = Math.imul(h ^ cmd.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface SimOptions {
  seed: number;
  replicas: number;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  leaseTicks: number;
  maxClockDrift: number;
  maxBatchEntries: number;
  maxInflightSlots: number;
  maxCatchupEntries: number;
  /** snapshotEvery: a replica compacts once this many entries were applied since its last snapshot. */
  snapshotEvery: number;
  minSyncMs: number;
  maxSyncMs: number;
  /**
   * applyEarly: apply committed entries before this Ready's fsync (they are chosen, so a quorum already holds
   * them durably), as node.ts does; otherwise after it, as core_types.ts orders by default.
   */
  applyEarly: boolean;
  /** takeMessagesEarly: the driver sends takeMessages() after every input, even while a Ready is in flight. */
  takeMessagesEarly: boolean;
  /**
   * takeCommittedEarly (with applyEarly): while a Ready is in flight the driver applies core.takeCommitted() after
   * every input, as node.ts does, so a slot chosen mid-fsync is applied and acknowledged before the fsync ends.
   */
  takeCommittedEarly: boolean;
}

type WriteWaiter = { cmd: string; done: (outcome: 'acked' | 'lost') => void };
type ReadWaiter = { index: number; done: (value: string) => void };

/** SimReplica is one replica process: a core, its disk, its state machine and its driver loop. */
class SimReplica {
  core: PaxosReplica | undefined;
  up = false;
  incarnation = 0;
  busy = false;
  tickPeriodMs = 0;
  /**
   * A paused process (GC, SIGSTOP, a swapped-out VM) runs nothing until pausedUntilMs: its timers, messages, disk
   * completions and client calls wait in `deferred`. On resume the driver first catches its tick count up with
   * the time that passed (what node.ts must do from a monotonic clock), then runs what waited.
   */
  pausedUntilMs = 0;
  missedTicks = 0;
  deferred: (() => void)[] = [];
  sm: RegisterState = { value: '', digest: 0, applied: 0 };
  writeWaiters = new Map<number, WriteWaiter>();
  readWaiters: ReadWaiter[] = [];
  /** onCrash callbacks resolve in-flight client requests as "no answer". */
  crashHooks: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly disk: SimDisk<DiskState, ReadyPersist>,
  ) {}
}

export class SimCluster {
  readonly events = new EventQueue();
  readonly net: SimNetwork<PaxosMessage>;
  readonly rng: Rng;
  readonly ids: number[];
  readonly replicas = new Map<number, SimReplica>();
  /** violations: every broken safety property, in the order found. */
  readonly violations: string[] = [];
  /** chosen: the command each slot was applied with anywhere (agreement is checked against it). */
  readonly chosen = new Map<number, string>();
  readonly digestAt = new Map<number, number>();
  readonly proposed = new Set<string>();
  stepErrors = 0;
  restarts = 0;

  constructor(readonly o: SimOptions) {
    const root = new SeededRng(o.seed);
    this.rng = root.fork('cluster');
    this.net = new SimNetwork<PaxosMessage>(this.events, root.fork('net'));
    this.ids = Array.from({ length: o.replicas }, (_, i) => i + 1);
    for (const id of this.ids) {
      const initial: DiskState = { promised: ZERO_BALLOT, entries: new Map(), commitIndex: 0, snapshot: undefined };
      const disk = new SimDisk<DiskState, ReadyPersist>(initial, foldPersist, this.events, root.fork(`disk-${id}`), o.minSyncMs, o.maxSyncMs);
      this.replicas.set(id, new SimReplica(id, disk));
    }
    for (const id of this.ids) this.start(id);
  }

  replica(id: number): SimReplica {
    const r = this.replicas.get(id);
    assert(r !== undefined, `no replica ${id}`);
    return r;
  }

  violation(msg: string): void {
    this.violations.push(`t=${this.events.nowMs().toFixed(1)}ms ${msg}`);
  }

  // --- process lifecycle ---------------------------------------------------------------------------------------

  start(id: number): void {
    const r = this.replica(id);
    assert(!r.up, `replica ${id} already up`);
    const d = r.disk.read();
    const entries = [...d.entries.values()].sort((a, b) => a.slot - b.slot);
    const config: PaxosCoreConfig = {
      id,
      replicaIds: this.ids,
      electionTicks: this.o.electionTicks,
      heartbeatTicks: this.o.heartbeatTicks,
      leaseTicks: this.o.leaseTicks,
      maxClockDrift: this.o.maxClockDrift,
      rng: this.rng.fork(`core-${id}-${r.incarnation}`),
      maxBatchEntries: this.o.maxBatchEntries,
      maxInflightSlots: this.o.maxInflightSlots,
      maxCatchupEntries: this.o.maxCatchupEntries,
    };
    r.core = new PaxosReplica(config, { promised: d.promised, entries, commitIndex: d.commitIndex, snapshot: d.snapshot });
    r.sm = d.snapshot ? this.restoreSnapshot(id, d.snapshot) : { value: '', digest: 0, applied: 0 };
    r.up = true;
    r.busy = false;
    r.incarnation++;
    // Clock drift: every tick period lies in [tickMs, tickMs * (1 + maxClockDrift)], drawn anew each tick, so any
    // two replicas' rates differ by at most the bound while neither runs at a steady rate.
    r.tickPeriodMs = this.o.tickMs;
    r.pausedUntilMs = 0;
    r.missedTicks = 0;
    r.deferred = [];
    const inc = r.incarnation;
    const tick = (): void => {
      if (!r.up || r.incarnation !== inc) return;
      if (this.paused(r)) r.missedTicks++;
      else {
        r.core?.tick();
        this.drive(r);
      }
      this.events.after(this.o.tickMs * (1 + this.rng.next() * this.o.maxClockDrift), tick);
    };
    this.events.after(this.rng.next() * r.tickPeriodMs, tick);
    this.net.listen(id, (m) => this.deliver(r, m));
    this.drive(r);
  }

  crash(id: number): void {
    const r = this.replica(id);
    if (!r.up) return;
    r.up = false;
    r.incarnation++;
    r.core = undefined;
    r.disk.crash();
    this.net.listen(id, undefined);
    r.writeWaiters.clear();
    r.readWaiters = [];
    const hooks = r.crashHooks;
    r.crashHooks = [];
    for (const h of hooks) h();
  }

  restart(id: number): void {
    this.restarts++;
    this.start(id);
  }

  private paused(r: SimReplica): boolean {
    return this.events.nowMs() < r.pausedUntilMs;
  }

  /** pause stops replica id's process for ms (its sockets keep buffering what arrives). */
  pause(id: number, ms: number): void {
    const r = this.replica(id);
    if (!r.up || this.paused(r)) return;
    r.pausedUntilMs = this.events.nowMs() + ms;
    const inc = r.incarnation;
    this.events.at(r.pausedUntilMs, () => {
      if (r.incarnation !== inc || !r.up) return;
      // Catch up the ticks that passed while paused before anything else, so no lease outlives real time.
      for (; r.missedTicks > 0; r.missedTicks--) r.core?.tick();
      const work = r.deferred;
      r.deferred = [];
      for (const w of work) w();
      this.drive(r);
    });
  }

  /** whenRunning runs fn now, or when replica r resumes if it is paused. */
  private whenRunning(r: SimReplica, fn: () => void): void {
    if (this.paused(r)) r.deferred.push(fn);
    else fn();
  }

  private deliver(r: SimReplica, m: PaxosMessage): void {
    if (this.paused(r)) {
      r.deferred.push(() => this.deliver(r, m));
      return;
    }
    if (!r.up || r.core === undefined) return;
    try {
      r.core.step(m);
    } catch (e: unknown) {
      this.stepErrors++;
      this.violation(`replica ${r.id} rejected a message from a correct peer: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.drive(r);
  }

  /** send puts m through the real wire encoding, so the core only ever sees what protobuf would deliver. */
  private send(from: number, m: PaxosMessage): void {
    this.net.send(from, m.to, PaxosMessageCodec.decode(PaxosMessageCodec.encode(m).finish()));
  }

  /** drive runs the Ready loop exactly as the real node does, with the disk's sync latency in between. */
  private drive(r: SimReplica): void {
    if (this.paused(r)) return; // resume drives
    const core = r.core;
    if (r.up && core !== undefined && this.o.takeMessagesEarly) for (const m of core.takeMessages()) this.send(r.id, m);
    if (r.up && r.busy && core !== undefined && this.o.applyEarly && this.o.takeCommittedEarly) {
      for (const e of core.takeCommitted()) this.apply(r, e.slot, e.noop ? NOOP : e.value.toString());
    }
    if (!r.up || r.busy || core === undefined || !core.hasReady()) return;
    r.busy = true;
    const inc = r.incarnation;
    const rd = core.ready();
    for (const m of rd.messagesBeforePersist) this.send(r.id, m);
    const early = this.o.applyEarly && rd.installSnapshot === undefined;
    if (early) for (const e of rd.committed) this.apply(r, e.slot, e.noop ? NOOP : e.value.toString());
    const finish = (): void => {
      if (r.incarnation !== inc || !r.up) return;
      this.finishReady(r, core, rd, early);
      r.busy = false;
      this.drive(r);
    };
    if (rd.mustSync) {
      r.disk.write(rd.persist);
      r.disk.sync(() => this.whenRunning(r, finish));
    } else {
      if (rd.persist.commitIndex !== undefined) r.disk.write(rd.persist);
      finish();
    }
  }

  private finishReady(r: SimReplica, core: PaxosReplica, rd: Ready, appliedEarly: boolean): void {
    for (const m of rd.messages) this.send(r.id, m);
    if (rd.installSnapshot) r.sm = this.restoreSnapshot(r.id, rd.installSnapshot);
    if (!appliedEarly) for (const e of rd.committed) this.apply(r, e.slot, e.noop ? NOOP : e.value.toString());
    core.advance(rd);
    const snapIndex = core.status().snapshotIndex;
    if (r.sm.applied - snapIndex >= this.o.snapshotEvery) {
      core.compact(r.sm.applied, Buffer.from(JSON.stringify(r.sm)));
    }
  }

  private restoreSnapshot(id: number, snap: PaxosSnapshot): RegisterState {
    const sm = JSON.parse(snap.data.toString()) as RegisterState;
    if (sm.applied !== snap.index) this.violation(`replica ${id}: snapshot at ${snap.index} holds state applied through ${sm.applied}`);
    const d = this.digestAt.get(snap.index);
    if (d !== undefined && d !== sm.digest) this.violation(`agreement: replica ${id} installed a snapshot at ${snap.index} whose history differs`);
    return { ...sm };
  }

  private apply(r: SimReplica, slot: number, cmd: string): void {
    if (slot !== r.sm.applied + 1) this.violation(`replica ${r.id} applied slot ${slot} after ${r.sm.applied}`);
    const prior = this.chosen.get(slot);
    if (prior === undefined) this.chosen.set(slot, cmd);
    else if (prior !== cmd) this.violation(`agreement: slot ${slot}: replica ${r.id} applied ${JSON.stringify(cmd)}, another replica ${JSON.stringify(prior)}`);
    if (cmd !== NOOP && !this.proposed.has(cmd)) this.violation(`validity: replica ${r.id} applied ${JSON.stringify(cmd)} at ${slot}, never proposed`);
    r.sm.applied = slot;
    r.sm.digest = chain(r.sm.digest, slot, cmd);
    if (cmd !== NOOP) r.sm.value = cmd;
    const d = this.digestAt.get(slot);
    if (d === undefined) this.digestAt.set(slot, r.sm.digest);
    else if (d !== r.sm.digest) this.violation(`agreement: replica ${r.id}'s history through slot ${slot} differs from another replica's`);
    const w = r.writeWaiters.get(slot);
    if (w) {
      r.writeWaiters.delete(slot);
      w.done(w.cmd === cmd ? 'acked' : 'lost');
    }
    if (r.readWaiters.length > 0) {
      const ready = r.readWaiters.filter((x) => x.index <= r.sm.applied);
      r.readWaiters = r.readWaiters.filter((x) => x.index > r.sm.applied);
      for (const x of ready) x.done(r.sm.value);
    }
  }

  // --- client requests (in-process calls to one replica, as a client's RPC would be) ----------------------------

  /**
   * write proposes cmd at replica id. cb gets 'acked' (applied at its slot), 'lost' (another value took its
   * slot: definitely not executed), 'rejected' (not leader / busy: not executed) with a leader hint, or
   * 'unknown' (the replica crashed first).
   */
  write(id: number, cmd: string, cb: (outcome: 'acked' | 'lost' | 'rejected' | 'unknown', slot: number, leaderHint: number | undefined) => void): void {
    const r = this.replica(id);
    if (r.up && this.paused(r)) {
      r.deferred.push(() => this.write(id, cmd, cb));
      return;
    }
    if (!r.up || r.core === undefined) return cb('rejected', 0, undefined);
    this.proposed.add(cmd);
    const res = r.core.propose([Buffer.from(cmd)]);
    if (res.kind !== 'ok') return cb('rejected', 0, res.kind === 'not_leader' ? res.leaderId : undefined);
    const slot = res.firstSlot;
    let settled = false;
    const settle = (o: 'acked' | 'lost' | 'unknown'): void => {
      if (settled) return;
      settled = true;
      cb(o, slot, undefined);
    };
    r.writeWaiters.set(slot, { cmd, done: settle });
    r.crashHooks.push(() => settle('unknown'));
    this.drive(r);
  }

  /** read asks replica id for a lease read; cb gets the value, or undefined with a leader hint when refused. */
  read(id: number, cb: (value: string | undefined, leaderHint: number | undefined, lost: boolean) => void): void {
    const r = this.replica(id);
    if (r.up && this.paused(r)) {
      r.deferred.push(() => this.read(id, cb));
      return;
    }
    if (!r.up || r.core === undefined) return cb(undefined, undefined, false);
    const res = r.core.readIndex();
    if (res.kind !== 'ok') return cb(undefined, res.kind === 'not_leader' ? res.leaderId : undefined, false);
    let settled = false;
    const settle = (v: string | undefined, lost: boolean): void => {
      if (settled) return;
      settled = true;
      cb(v, undefined, lost);
    };
    if (res.index <= r.sm.applied) return settle(r.sm.value, false);
    r.readWaiters.push({ index: res.index, done: (v) => settle(v, false) });
    r.crashHooks.push(() => settle(undefined, true));
  }

  leader(): number | undefined {
    for (const id of this.ids) {
      const r = this.replica(id);
      if (r.up && r.core?.status().role === 'leader') return id;
    }
    return undefined;
  }
}
