// PaxosReplica is the pure Multi-Paxos state machine of one Borgmaster replica (DESIGN.md §5): messages, ticks and
// proposals in; one Ready batch (persist, send, apply) out. No IO, no timers, no wall clock: the driver does that.
//
// The protocol in one paragraph. Ballots are (round, replica). A follower that hears no leader for a random
// election timeout runs phase 1 once for every slot from its first unchosen one (PREPARE from_slot). Acceptors
// promise (durably) and report what they accepted above their chosen prefix, plus that prefix. With a quorum of
// promises the candidate first learns every slot a promiser knows chosen (CATCHUP), then re-proposes in its own
// ballot the highest-ballot value reported for each later slot, fills holes with no-ops, and streams phase 2
// (ACCEPT) for new commands, batched and pipelined. A slot is chosen when a majority accepted it; the commit
// index travels in every ACCEPT and HEARTBEAT. A follower marks slot s chosen when s <= the leader's commit and its
// entry at s carries the leader's ballot (one value per slot per ballot), and fetches the rest (CATCHUP ->
// CHOSEN or SNAPSHOT). Leases: hearing the leader, a replica refuses other replicas' prepares for leaseTicks;
// the leader serves reads while a quorum acked a message sent less than leaderLeaseTicks ago.
import { assert, unreachable } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { PaxosMessage_Type, type Ballot, type PaxosEntry, type PaxosMessage, type PaxosSnapshot } from '../../proto/index';
import {
  PAXOS_MAX_BATCH_BYTES,
  PAXOS_MAX_BATCH_COMMANDS,
  PAXOS_MAX_CATCHUP_ENTRIES,
  PAXOS_MAX_INFLIGHT_SLOTS,
} from '../../cells/limits';
import { ballotEq, compareBallots, formatBallot, isZeroBallot, maxBallot, nextBallot } from './ballot';
import {
  ZERO_BALLOT,
  type CommittedEntry,
  type PaxosCoreConfig,
  type PaxosReplicaApi,
  type PaxosStatus,
  type ProposeResult,
  type ReadIndexResult,
  type Ready,
  type ReadyPersist,
  type RestartState,
  type Role,
} from './core_types';
import { leaderLeaseTicks } from './lease';
import { PaxosLog } from './log';
import { validateMessage } from './validate';

const T = PaxosMessage_Type;

/** Progress is the leader's view of one follower's pipeline. */
interface Progress {
  /** next is the next slot to send in an ACCEPT. */
  next: number;
  /** match: the follower holds the leader's values (or the chosen ones) for every slot <= match. */
  match: number;
  /**
   * probeTick / probeSentThrough: the heartbeat sent at probeTick followed every ACCEPT through probeSentThrough
   * on the same ordered stream. Its ack says which slots the follower holds: fewer than that means an ACCEPT was
   * lost (a dropped queue entry, a broken stream), and only then does the leader resend. probeTick < 0: none out.
   */
  probeTick: number;
  probeSentThrough: number;
  /** progressTick: when match last moved (the safety net resends after a whole election timeout without). */
  progressTick: number;
  /** leaseAckTick is the highest send tick of this ballot the follower acked (lease timing). */
  leaseAckTick: number;
  /** lastHeardTick: when this follower last answered in the current ballot (quorum check). */
  lastHeardTick: number;
}

/** Promise is what one acceptor reported for the current campaign. */
interface PromiseInfo {
  commitIndex: number;
  /** coveredThrough: the report is complete through this slot (Infinity once `more` was false). */
  coveredThrough: number;
  complete: boolean;
}

interface Campaign {
  ballot: Ballot;
  fromSlot: number;
  promises: Map<number, PromiseInfo>;
  /** best: per slot, the highest-ballot value any promiser reported. */
  best: Map<number, PaxosEntry>;
  /** selfDurable: this replica's own promise is on disk (counted only then). */
  selfDurable: boolean;
  lastResendTick: number;
}

/** InflightReady remembers what a handed-out Ready made durable, to count this replica's own votes at advance. */
interface InflightReady {
  rd: Ready;
  /** the leader's own accepts: slots written in its ballot. */
  selfAccepts: { ballot: Ballot; slots: number[] } | undefined;
  promised: Ballot | undefined;
  committedThrough: number;
  syncedCommit: number | undefined;
}

/** UNKNOWN_HOLDER: a restarted replica does not know to whom it granted a lease, so it refuses everyone. */
const UNKNOWN_HOLDER = -1;

export class PaxosReplica implements PaxosReplicaApi {
  readonly id: number;
  private readonly peers: number[];
  private readonly quorum: number;
  private readonly selfBit: number;
  private readonly bitOf = new Map<number, number>();

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly leaseTicks: number;
  private readonly leaderLease: number;
  private readonly maxBatchEntries: number;
  private readonly maxBatchBytes: number;
  private readonly maxInflight: number;
  private readonly maxCatchup: number;
  /**
   * maxSlotAhead bounds how far above its commit index a replica stores what a peer sends (the in-memory log is
   * dense): a legitimate leader never runs more than a few pipelines ahead; a replica further behind catches up
   * first. It keeps a corrupt or hostile slot number from allocating without bound.
   */
  private readonly maxSlotAhead: number;
  private readonly rng: PaxosCoreConfig['rng'];

  // --- durable state (mirrored) ---
  private promised: Ballot;
  private commit: number;
  private readonly log: PaxosLog;
  private snapshot: PaxosSnapshot | undefined;

  // --- volatile state ---
  private role: Role = 'follower';
  private tickNow = 0;
  /** ballot this replica leads or campaigns with. */
  private ballot: Ballot = ZERO_BALLOT;
  /** highestSeen: the highest ballot seen anywhere, so the next campaign starts above it. */
  private highestSeen: Ballot;
  private leaderId: number | undefined;
  /** leaderBallot: the ballot of the leader this follower last accepted from. */
  private leaderBallot: Ballot = ZERO_BALLOT;
  private leaderCommit = 0;
  private electionElapsed = 0;
  private electionTimeout = 0;
  private heartbeatElapsed = 0;
  private lastCatchupTick = -Infinity;
  /** lease granted by this replica: to whom and until which of its ticks (exclusive). */
  private leaseHolder = UNKNOWN_HOLDER;
  private leaseUntilTick: number;

  // leader
  private progress = new Map<number, Progress>();
  private votes = new Map<number, number>();
  /** recoveryHorizon: the last slot phase 1 could have found chosen; lease reads wait for commit to reach it. */
  private recoveryHorizon = 0;
  private campaign: Campaign | undefined;

  // --- outputs accumulated for the next Ready ---
  private persistEntries = new Map<number, PaxosEntry>();
  private promisedDirty = false;
  private persistSnapshot: PaxosSnapshot | undefined;
  private installSnapshot: PaxosSnapshot | undefined;
  private msgsNow: PaxosMessage[] = [];
  private msgsAfter: PaxosMessage[] = [];
  /** handedOut: committed entries through this slot were handed to the driver. */
  private handedOut: number;
  /** syncedCommit: the commit index last carried by a synced Ready. */
  private syncedCommit: number;
  private selfAcceptSlots: number[] = [];
  private inflight: InflightReady | undefined;

  constructor(config: PaxosCoreConfig, restart?: RestartState) {
    validateConfig(config);
    this.id = config.id;
    const ids = [...config.replicaIds].sort((a, b) => a - b);
    ids.forEach((r, i) => this.bitOf.set(r, 1 << i));
    this.selfBit = this.bitOf.get(this.id) ?? 0;
    this.peers = ids.filter((r) => r !== this.id);
    this.quorum = Math.floor(ids.length / 2) + 1;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.leaseTicks = config.leaseTicks;
    this.leaderLease = leaderLeaseTicks(config.leaseTicks, config.maxClockDrift);
    this.maxBatchEntries = config.maxBatchEntries ?? PAXOS_MAX_BATCH_COMMANDS;
    this.maxBatchBytes = config.maxBatchBytes ?? PAXOS_MAX_BATCH_BYTES;
    this.maxInflight = config.maxInflightSlots ?? PAXOS_MAX_INFLIGHT_SLOTS;
    this.maxCatchup = config.maxCatchupEntries ?? PAXOS_MAX_CATCHUP_ENTRIES;
    this.maxSlotAhead = 4 * Math.max(this.maxInflight, this.maxBatchEntries, this.maxCatchup);
    this.rng = config.rng;

    const r = restart ?? { promised: ZERO_BALLOT, entries: [], commitIndex: 0, snapshot: undefined };
    const snapIndex = r.snapshot?.index ?? 0;
    this.snapshot = r.snapshot;
    this.log = new PaxosLog(snapIndex, r.entries);
    // An accepted entry implies a promise at its ballot even if the promise record lagged.
    let promised = r.promised;
    for (const e of r.entries) if (e.ballot) promised = maxBallot(promised, e.ballot);
    this.promised = promised;
    this.highestSeen = promised;
    this.commit = Math.max(r.commitIndex, snapIndex);
    for (let s = snapIndex + 1; s <= this.commit; s++) {
      assert(this.log.get(s) !== undefined, `restart: slot ${s} is at or below the commit index ${this.commit} but missing`);
    }
    this.handedOut = r.appliedIndex ?? snapIndex;
    assert(this.handedOut >= snapIndex && this.handedOut <= this.commit, `restart: appliedIndex ${this.handedOut} outside [${snapIndex}, ${this.commit}]`);
    this.syncedCommit = this.commit;
    // A restarted replica may have granted a lease it no longer remembers: refuse every prepare for a lease. One
    // that never promised anything never acked a lease (acks go out only after the promise is durable).
    this.leaseUntilTick = isZeroBallot(this.promised) ? 0 : this.leaseTicks;
    this.resetElectionTimeout();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Inputs

  tick(): void {
    this.tickNow++;
    switch (this.role) {
      case 'leader':
        this.tickLeader();
        break;
      case 'candidate':
        this.tickCandidate();
        break;
      case 'follower':
        this.tickFollower();
        break;
      default:
        unreachable(this.role, 'role');
    }
  }

  step(m: PaxosMessage): void {
    validateMessage(m, this.id, this.bitOf, Math.max(this.maxBatchEntries, this.maxCatchup));
    const ballot = m.ballot ?? ZERO_BALLOT;
    if (compareBallots(ballot, this.highestSeen) > 0) this.highestSeen = ballot;
    switch (m.type) {
      case T.PREPARE:
        return this.onPrepare(m, ballot);
      case T.PROMISE:
        return this.onPromise(m, ballot);
      case T.NACK:
        return this.onNack(ballot);
      case T.ACCEPT:
        return this.onAccept(m, ballot);
      case T.ACCEPTED:
        return this.onAccepted(m, ballot);
      case T.HEARTBEAT:
        return this.onHeartbeat(m, ballot);
      case T.HEARTBEAT_ACK:
        return this.onHeartbeatAck(m, ballot);
      case T.CATCHUP:
        return this.onCatchup(m);
      case T.CHOSEN:
        return this.onChosen(m);
      case T.SNAPSHOT:
        return this.onSnapshot(m);
      case T.TYPE_UNSPECIFIED:
        throw new InvalidArgument('message.type', 'unspecified');
      default:
        unreachable(m.type, 'message type');
    }
  }

  propose(commands: readonly Uint8Array[]): ProposeResult {
    commands.forEach((c, i) => {
      if (c.byteLength > this.maxBatchBytes) throw new InvalidArgument(`commands[${i}]`, `${c.byteLength} bytes exceeds the batch limit ${this.maxBatchBytes}`);
    });
    if (this.role !== 'leader') return { kind: 'not_leader', leaderId: this.knownLeader() };
    if (commands.length === 0) return { kind: 'ok', firstSlot: this.log.lastSlot + 1, lastSlot: this.log.lastSlot, ballot: this.ballot };
    if (this.log.lastSlot - this.commit + commands.length > this.maxInflight) return { kind: 'busy' };
    const firstSlot = this.log.lastSlot + 1;
    for (const c of commands) {
      const value = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      this.leaderWrite({ slot: this.log.lastSlot + 1, ballot: this.ballot, noop: false, value });
    }
    return { kind: 'ok', firstSlot, lastSlot: this.log.lastSlot, ballot: this.ballot };
  }

  readIndex(): ReadIndexResult {
    if (this.role !== 'leader') return { kind: 'not_leader', leaderId: this.knownLeader() };
    if (!this.leaseValid()) return { kind: 'no_lease' };
    return { kind: 'ok', index: this.commit };
  }

  compact(index: number, data: Uint8Array): void {
    if (!Number.isSafeInteger(index) || index < 0) throw new InvalidArgument('index', `must be a non-negative integer, got ${index}`);
    if (index > this.handedOut) throw new InvalidArgument('index', `${index} is above the applied index ${this.handedOut}`);
    if (index <= this.log.snapshotIndex) return;
    const snap: PaxosSnapshot = { index, data: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
    this.snapshot = snap;
    this.log.compact(index);
    for (const s of [...this.persistEntries.keys()]) if (s <= index) this.persistEntries.delete(s);
    this.persistSnapshot = snap;
  }

  /**
   * takeMessages hands over, at any time (also while a Ready is being persisted), the messages that need nothing
   * durable: the leader's ACCEPTs for new proposals, heartbeats, prepares, catch-up requests and answers. Sending
   * them at once lets followers persist a batch while the leader still syncs the previous one. What is not taken
   * here comes in the next Ready's messagesBeforePersist.
   */
  takeMessages(): PaxosMessage[] {
    if (this.role === 'leader') this.sendAccepts();
    const out = this.msgsNow;
    this.msgsNow = [];
    return out;
  }

  /**
   * takeCommitted hands over, at any time (also while a Ready is being persisted), the chosen entries not yet
   * handed out, so a commit learned mid-fsync is applied (and its proposer answered) without waiting for the
   * fsync to end. Only for a driver that applied the committed entries of the Ready in flight before persisting
   * it; it returns nothing while a snapshot waits to be installed (that goes first, after its persist).
   */
  takeCommitted(): CommittedEntry[] {
    if (this.installSnapshot !== undefined || this.inflight?.rd.installSnapshot !== undefined) return [];
    const out = this.committedFrom(this.handedOut + 1);
    this.handedOut = this.commit;
    if (this.inflight !== undefined) this.inflight.committedThrough = this.commit;
    return out;
  }

  private committedFrom(first: number): CommittedEntry[] {
    const out: CommittedEntry[] = [];
    for (let s = first; s <= this.commit; s++) {
      const e = this.log.get(s);
      assert(e !== undefined, `committed slot ${s} missing from the log`);
      out.push({ slot: s, noop: e.noop, value: e.value, ballot: e.ballot ?? ZERO_BALLOT });
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Ready / advance

  hasReady(): boolean {
    if (this.inflight !== undefined) return false;
    return (
      this.persistEntries.size > 0 ||
      this.promisedDirty ||
      this.persistSnapshot !== undefined ||
      this.msgsNow.length > 0 ||
      this.msgsAfter.length > 0 ||
      this.commit > this.handedOut ||
      this.hasAcceptsToSend()
    );
  }

  ready(): Ready {
    assert(this.inflight === undefined, 'ready() called again before advance()');
    // Slots handed out before this Ready are chosen, and the Readies that persisted them are done: the log keeps
    // them as bytes from now on (PaxosLog.settle), so their objects die young.
    this.log.settle(this.handedOut);
    if (this.role === 'leader') this.sendAccepts();
    const entries = [...this.persistEntries.values()].sort((a, b) => a.slot - b.slot);
    const persist: ReadyPersist = {};
    if (entries.length > 0) persist.entries = entries;
    if (this.promisedDirty) persist.promised = this.promised;
    if (this.persistSnapshot) {
      persist.snapshot = this.persistSnapshot;
      persist.truncateThrough = this.persistSnapshot.index;
    }
    const mustSync = entries.length > 0 || this.promisedDirty || this.persistSnapshot !== undefined;
    // The commit index rides along on synced batches; it need not be durable to be safe (it can be relearned).
    if (this.commit > this.syncedCommit) persist.commitIndex = this.commit;
    const install = this.installSnapshot;
    const committed = this.committedFrom(this.handedOut + 1);
    const rd: Ready = {
      messagesBeforePersist: this.msgsNow,
      persist,
      mustSync,
      messages: this.msgsAfter,
      installSnapshot: install,
      committed,
    };
    this.inflight = {
      rd,
      selfAccepts: this.role === 'leader' && this.selfAcceptSlots.length > 0 ? { ballot: this.ballot, slots: this.selfAcceptSlots } : undefined,
      promised: this.promisedDirty ? this.promised : undefined,
      committedThrough: this.commit,
      syncedCommit: mustSync ? this.commit : undefined,
    };
    this.handedOut = this.commit;
    this.persistEntries = new Map();
    this.promisedDirty = false;
    this.persistSnapshot = undefined;
    this.installSnapshot = undefined;
    this.msgsNow = [];
    this.msgsAfter = [];
    this.selfAcceptSlots = [];
    return rd;
  }

  advance(rd: Ready): void {
    const inf = this.inflight;
    assert(inf !== undefined && inf.rd === rd, 'advance() must be given the Ready last returned by ready()');
    this.inflight = undefined;
    if (inf.syncedCommit !== undefined) this.syncedCommit = Math.max(this.syncedCommit, inf.syncedCommit);
    // Our own promise counts only once it is on disk.
    const c = this.campaign;
    if (this.role === 'candidate' && c && inf.promised && ballotEq(inf.promised, c.ballot) && !c.selfDurable) {
      c.selfDurable = true;
      this.recordOwnPromise(c);
      this.maybeWinCampaign();
    }
    // Our own accepts count only once they are on disk.
    if (inf.selfAccepts && this.role === 'leader' && ballotEq(inf.selfAccepts.ballot, this.ballot)) {
      for (const s of inf.selfAccepts.slots) {
        if (s <= this.commit) continue;
        const e = this.log.get(s);
        if (e?.ballot && ballotEq(e.ballot, this.ballot)) this.votes.set(s, (this.votes.get(s) ?? 0) | this.selfBit);
      }
      this.advanceLeaderCommit();
    }
  }

  status(): PaxosStatus {
    return {
      id: this.id,
      role: this.role,
      ballot: this.ballot,
      promised: this.promised,
      leaderId: this.knownLeader(),
      commitIndex: this.commit,
      appliedIndex: this.appliedThrough(),
      lastSlot: this.log.lastSlot,
      snapshotIndex: this.log.snapshotIndex,
      leaseValid: this.role === 'leader' && this.leaseValid(),
      tick: this.tickNow,
    };
  }

  /** entry returns this replica's accepted entry at slot (tests and the simulation's checkers). */
  entry(slot: number): PaxosEntry | undefined {
    return this.log.get(slot);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Ticks

  private tickFollower(): void {
    this.electionElapsed++;
    this.maybeRequestCatchup();
    if (this.electionElapsed >= this.electionTimeout) {
      // A lease we granted to someone else is still live: campaigning now would only be refused by ourselves.
      if (this.leaseLiveFor(this.id)) return;
      this.startCampaign();
    }
  }

  private tickCandidate(): void {
    const c = this.campaign;
    assert(c !== undefined, 'candidate without a campaign');
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.startCampaign();
      return;
    }
    if (this.tickNow - c.lastResendTick >= this.heartbeatTicks) {
      c.lastResendTick = this.tickNow;
      // Lost PREPAREs and PROMISEs are re-asked; a promiser that cut its report is asked for the rest.
      for (const p of this.peers) {
        const info = c.promises.get(p);
        if (info === undefined) this.sendPrepare(p, c.ballot, c.fromSlot);
        else if (!info.complete) this.sendPrepare(p, c.ballot, info.coveredThrough + 1);
      }
      this.maybeWinCampaign();
    }
  }

  private tickLeader(): void {
    // The leader's own grant: it refuses rivals while it leads, and for a lease after it stops.
    this.grantLease(this.id);
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
    for (const pr of this.progress.values()) {
      // A slow follower is not a lossy one: its fsync may take longer than a heartbeat, and resending everything
      // in flight to it then only doubles its work. Losses show in heartbeat acks (onHeartbeatAck); this is the
      // safety net for a follower whose acks were lost too: a whole election timeout without progress.
      if (pr.match < pr.next - 1 && this.tickNow - pr.progressTick >= this.electionTicks) {
        pr.next = pr.match + 1;
        pr.progressTick = this.tickNow;
      }
    }
    let heard = 1;
    for (const pr of this.progress.values()) if (this.tickNow - pr.lastHeardTick < this.electionTicks) heard++;
    // A leader that heard from no quorum for a whole election timeout steps down (its lease lapsed long ago).
    if (heard < this.quorum) this.becomeFollower(undefined);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Phase 1

  private startCampaign(): void {
    const ballot = nextBallot(maxBallot(this.highestSeen, this.promised), this.id);
    this.role = 'candidate';
    this.ballot = ballot;
    this.leaderId = undefined;
    this.progress.clear();
    this.votes.clear();
    this.setPromised(ballot);
    this.leaderBallot = ZERO_BALLOT;
    this.leaderCommit = 0;
    this.electionElapsed = 0;
    this.resetElectionTimeout();
    const c: Campaign = { ballot, fromSlot: this.commit + 1, promises: new Map(), best: new Map(), selfDurable: false, lastResendTick: this.tickNow };
    this.campaign = c;
    // PREPARE may go out before our own promise of `ballot` is durable: we count ourselves, and so can win and
    // send ACCEPT(ballot), only once it is, so a restart that forgot `ballot` never sent a value in it.
    for (const p of this.peers) this.sendPrepare(p, ballot, c.fromSlot);
  }

  private sendPrepare(to: number, ballot: Ballot, fromSlot: number): void {
    this.msgsNow.push(this.msg(T.PREPARE, to, { ballot, fromSlot }));
  }

  private onPrepare(m: PaxosMessage, ballot: Ballot): void {
    const cmp = compareBallots(ballot, this.promised);
    if (cmp < 0) {
      this.msgsAfter.push(this.msg(T.NACK, m.from, { ballot: this.promised }));
      return;
    }
    if (cmp > 0) {
      // A live lease to another replica blocks every rival ballot (that is what makes lease reads safe).
      if (this.leaseBlocks(m.from)) {
        this.msgsAfter.push(this.msg(T.NACK, m.from, { ballot: this.promised }));
        return;
      }
      if (this.role !== 'follower') this.becomeFollower(undefined);
      this.setPromised(ballot);
      this.electionElapsed = 0;
    }
    // cmp === 0: a resent or continued PREPARE of the ballot we promised: answer again.
    this.msgsAfter.push(this.promiseMessage(m.from, ballot, m.fromSlot));
  }

  private promiseMessage(to: number, ballot: Ballot, fromSlot: number): PaxosMessage {
    const from = Math.max(fromSlot, this.commit + 1);
    const entries: PaxosEntry[] = [];
    let bytes = 0;
    let covered = this.log.lastSlot;
    let more = false;
    for (let s = from; s <= this.log.lastSlot; s++) {
      const e = this.log.get(s);
      if (e === undefined) continue;
      if (entries.length >= this.maxBatchEntries || (entries.length > 0 && bytes + e.value.length > this.maxBatchBytes)) {
        covered = s - 1;
        more = true;
        break;
      }
      entries.push(e);
      bytes += e.value.length;
    }
    const snapshot = this.snapshot !== undefined && this.snapshot.index >= fromSlot ? this.snapshot : undefined;
    return this.msg(T.PROMISE, to, { ballot, fromSlot, entries, commitIndex: this.commit, index: Math.max(covered, fromSlot - 1), more, snapshot });
  }

  private onPromise(m: PaxosMessage, ballot: Ballot): void {
    const c = this.campaign;
    if (this.role !== 'candidate' || c === undefined || !ballotEq(ballot, c.ballot)) return;
    if (m.snapshot && m.snapshot.index > this.commit) this.installRemoteSnapshot(m.snapshot);
    const prev = c.promises.get(m.from);
    // Chunks may arrive out of order or twice; only the chunk that continues the report extends it.
    const start = prev === undefined ? c.fromSlot : prev.coveredThrough + 1;
    if (prev?.complete) return;
    if (m.fromSlot > start) return;
    const horizon = Math.max(m.commitIndex, this.commit) + this.maxSlotAhead;
    if (m.entries.some((e) => e.slot > horizon)) return; // no correct acceptor reports that far ahead
    for (const e of m.entries) this.offerBest(c, e);
    const complete = !m.more;
    c.promises.set(m.from, {
      commitIndex: Math.max(m.commitIndex, prev?.commitIndex ?? 0),
      coveredThrough: complete ? Infinity : Math.max(m.index, prev?.coveredThrough ?? 0),
      complete,
    });
    if (!complete) this.sendPrepare(m.from, c.ballot, m.index + 1);
    this.maybeWinCampaign();
  }

  private recordOwnPromise(c: Campaign): void {
    for (const e of this.log.slice(c.fromSlot, this.log.lastSlot)) this.offerBest(c, e);
    c.promises.set(this.id, { commitIndex: this.commit, coveredThrough: Infinity, complete: true });
  }

  private offerBest(c: Campaign, e: PaxosEntry): void {
    const cur = c.best.get(e.slot);
    if (cur === undefined || compareBallots(e.ballot ?? ZERO_BALLOT, cur.ballot ?? ZERO_BALLOT) > 0) c.best.set(e.slot, e);
  }

  private maybeWinCampaign(): void {
    const c = this.campaign;
    if (this.role !== 'candidate' || c === undefined || !c.selfDurable) return;
    let complete = 0;
    let chosenThrough = 0;
    let chosenAt: number | undefined;
    for (const [r, p] of c.promises) {
      if (!p.complete) continue;
      complete++;
      if (p.commitIndex > chosenThrough) {
        chosenThrough = p.commitIndex;
        chosenAt = r;
      }
    }
    if (complete < this.quorum) return;
    if (this.commit < chosenThrough) {
      // A promiser knows more slots chosen than we do: learn them before leading (they need no re-proposal).
      if (chosenAt !== undefined && chosenAt !== this.id && this.tickNow - this.lastCatchupTick >= 1) {
        this.lastCatchupTick = this.tickNow;
        this.msgsNow.push(this.msg(T.CATCHUP, chosenAt, { ballot: c.ballot, index: this.commit + 1 }));
      }
      return;
    }
    this.becomeLeader(c);
  }

  private becomeLeader(c: Campaign): void {
    this.role = 'leader';
    this.campaign = undefined;
    this.leaderId = this.id;
    this.grantLease(this.id);
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.votes.clear();
    const start = this.commit + 1;
    let maxSlot = this.commit;
    for (const s of c.best.keys()) if (s > maxSlot) maxSlot = s;
    // Re-propose in our ballot, slot by slot, the highest-ballot value any promiser accepted; holes get no-ops.
    for (let s = start; s <= maxSlot; s++) {
      const b = c.best.get(s);
      const value = b ? b.value : Buffer.alloc(0);
      this.leaderWrite({ slot: s, ballot: c.ballot, noop: b ? b.noop : true, value });
    }
    this.recoveryHorizon = maxSlot;
    this.progress.clear();
    for (const p of this.peers) {
      const info = c.promises.get(p);
      this.progress.set(p, {
        next: start,
        match: Math.min(info?.commitIndex ?? 0, start - 1),
        probeTick: -1,
        probeSentThrough: 0,
        progressTick: this.tickNow,
        leaseAckTick: -Infinity,
        lastHeardTick: this.tickNow,
      });
    }
    this.broadcastHeartbeat();
    this.advanceLeaderCommit();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Phase 2

  private leaderWrite(e: PaxosEntry): void {
    this.log.put(e);
    this.persistEntries.set(e.slot, e);
    this.selfAcceptSlots.push(e.slot);
    this.votes.set(e.slot, 0);
  }

  private hasAcceptsToSend(): boolean {
    if (this.role !== 'leader') return false;
    for (const pr of this.progress.values()) if (this.canSend(pr)) return true;
    return false;
  }

  private canSend(pr: Progress): boolean {
    return pr.next <= this.log.lastSlot && pr.next - 1 - pr.match < this.maxInflight;
  }

  /** sendAccepts streams each follower's pipeline: batches of contiguous slots, up to the in-flight window. */
  private sendAccepts(): void {
    for (const [p, pr] of this.progress) {
      if (pr.next <= this.log.snapshotIndex) pr.next = this.log.snapshotIndex + 1; // the rest comes by CATCHUP
      while (this.canSend(pr)) {
        const entries: PaxosEntry[] = [];
        let bytes = 0;
        const limit = Math.min(this.log.lastSlot, pr.match + this.maxInflight);
        for (let s = pr.next; s <= limit && entries.length < this.maxBatchEntries; s++) {
          const e = this.log.get(s);
          assert(e !== undefined, `leader log has a hole at ${s}`);
          if (entries.length > 0 && bytes + e.value.length > this.maxBatchBytes) break;
          entries.push(e);
          bytes += e.value.length;
        }
        if (entries.length === 0) break;
        pr.next += entries.length;
        this.msgsNow.push(this.msg(T.ACCEPT, p, { ballot: this.ballot, entries, commitIndex: this.commit, tick: this.tickNow }));
      }
    }
  }

  private onAccept(m: PaxosMessage, ballot: Ballot): void {
    if (!this.acceptFromLeader(m, ballot)) return;
    const tail = m.entries[m.entries.length - 1];
    if (tail !== undefined && tail.slot > this.commit + this.maxSlotAhead) {
      // Too far ahead of what we know chosen: catch up first (the leader resends once our commit moves).
      this.learnLeaderCommit(ballot, m.commitIndex);
      return;
    }
    let first = 0;
    let last = 0;
    for (const e of m.entries) {
      if (first === 0) first = e.slot;
      last = e.slot;
      if (e.slot <= this.commit) continue;
      const cur = this.log.get(e.slot);
      if (cur?.ballot && ballotEq(cur.ballot, ballot)) continue; // a duplicate: one value per slot per ballot
      const accepted: PaxosEntry = { slot: e.slot, ballot, noop: e.noop, value: e.value };
      this.log.put(accepted);
      this.persistEntries.set(e.slot, accepted);
    }
    this.learnLeaderCommit(ballot, m.commitIndex);
    if (first !== 0) {
      this.msgsAfter.push(this.msg(T.ACCEPTED, m.from, { ballot, fromSlot: first, index: last, commitIndex: this.commit, tick: m.tick }));
    }
  }

  /**
   * onHeartbeat answers with the slots this replica holds in the leader's ballot, contiguous from its commit
   * index. The ack goes out after this Ready's fsync (it is in msgsAfter), so the range is durably accepted: the
   * leader counts it like an ACCEPTED (a lost ACCEPTED costs no resend) and, where it falls short of what the
   * leader had sent before the heartbeat, resends from the gap.
   */
  private onHeartbeat(m: PaxosMessage, ballot: Ballot): void {
    if (!this.acceptFromLeader(m, ballot)) return;
    this.learnLeaderCommit(ballot, m.commitIndex);
    let held = this.commit;
    while (held < this.log.lastSlot) {
      const e = this.log.get(held + 1);
      if (e?.ballot === undefined || !ballotEq(e.ballot, ballot)) break;
      held++;
    }
    const range = held > this.commit ? { fromSlot: this.commit + 1, index: held } : {};
    this.msgsAfter.push(this.msg(T.HEARTBEAT_ACK, m.from, { ballot, tick: m.tick, commitIndex: this.commit, ...range }));
  }

  /**
   * acceptFromLeader handles the common part of ACCEPT and HEARTBEAT: refuse a stale ballot, otherwise follow
   * this leader (promise its ballot, grant it the lease, reset the election timer).
   */
  private acceptFromLeader(m: PaxosMessage, ballot: Ballot): boolean {
    const cmp = compareBallots(ballot, this.promised);
    if (cmp < 0) {
      this.msgsAfter.push(this.msg(T.NACK, m.from, { ballot: this.promised }));
      return false;
    }
    if (this.role === 'leader' && ballotEq(ballot, this.ballot)) return false; // cannot happen: our own ballot
    if (this.role !== 'follower') this.becomeFollower(m.from);
    if (cmp > 0) this.setPromised(ballot);
    this.leaderId = m.from;
    if (!ballotEq(this.leaderBallot, ballot)) {
      this.leaderBallot = ballot;
      this.leaderCommit = 0;
    }
    this.grantLease(m.from);
    this.electionElapsed = 0;
    return true;
  }

  /** learnLeaderCommit: slot s is chosen when s <= the leader's commit and we hold the leader's value there. */
  private learnLeaderCommit(ballot: Ballot, leaderCommit: number): void {
    if (leaderCommit > this.leaderCommit) this.leaderCommit = leaderCommit;
    let s = this.commit + 1;
    while (s <= this.leaderCommit) {
      const e = this.log.get(s);
      if (e?.ballot === undefined || !ballotEq(e.ballot, ballot)) break;
      s++;
    }
    this.commit = s - 1;
    this.maybeRequestCatchup();
  }

  private maybeRequestCatchup(): void {
    if (this.role !== 'follower' || this.leaderId === undefined || this.leaderCommit <= this.commit) return;
    if (this.tickNow - this.lastCatchupTick < this.heartbeatTicks) return;
    this.lastCatchupTick = this.tickNow;
    this.msgsNow.push(this.msg(T.CATCHUP, this.leaderId, { ballot: this.promised, index: this.commit + 1 }));
  }

  private onAccepted(m: PaxosMessage, ballot: Ballot): void {
    const pr = this.progress.get(m.from);
    if (this.role !== 'leader' || pr === undefined || !ballotEq(ballot, this.ballot)) return;
    this.heardFrom(pr, m.tick);
    this.countAccepted(m.from, pr, m.fromSlot, m.index, m.commitIndex);
  }

  /**
   * onHeartbeatAck renews the lease, counts the slots the follower reports held durably in our ballot (as an
   * ACCEPTED would), and checks the probe: every ACCEPT through probeSentThrough went out before the heartbeat on
   * the same ordered stream, so a follower holding less lost one. Only then is the pipeline resent, from the gap.
   */
  private onHeartbeatAck(m: PaxosMessage, ballot: Ballot): void {
    const pr = this.progress.get(m.from);
    if (this.role !== 'leader' || pr === undefined || !ballotEq(ballot, this.ballot)) return;
    this.heardFrom(pr, m.tick);
    const held = m.fromSlot >= 1 ? Math.max(m.index, m.commitIndex) : m.commitIndex;
    this.countAccepted(m.from, pr, m.fromSlot, m.index, m.commitIndex);
    if (pr.probeTick >= 0 && m.tick === pr.probeTick) {
      pr.probeTick = -1;
      if (held < pr.probeSentThrough) pr.next = Math.min(pr.next, Math.max(held, pr.match) + 1);
    }
  }

  private heardFrom(pr: Progress, echoTick: number): void {
    pr.lastHeardTick = this.tickNow;
    // An echo of a tick we have not reached yet is corrupt: it must never stretch the lease.
    if (echoTick > pr.leaseAckTick && echoTick <= this.tickNow) pr.leaseAckTick = echoTick;
  }

  /**
   * countAccepted records that follower `from` durably accepted slots [fromSlot, index] in our ballot (none when
   * fromSlot is 0) and holds every chosen slot through its commitIndex; the slots a quorum holds are chosen.
   */
  private countAccepted(from: number, pr: Progress, fromSlot: number, index: number, commitIndex: number): void {
    const before = pr.match;
    if (commitIndex > pr.match) pr.match = Math.min(commitIndex, this.log.lastSlot);
    if (fromSlot >= 1) {
      const bit = this.bitOf.get(from) ?? 0;
      const hi = Math.min(index, this.log.lastSlot);
      for (let s = Math.max(fromSlot, this.commit + 1); s <= hi; s++) {
        const v = this.votes.get(s);
        if (v !== undefined) this.votes.set(s, v | bit);
      }
      if (fromSlot <= pr.match + 1 && hi > pr.match) pr.match = hi;
    }
    if (pr.match > before) pr.progressTick = this.tickNow;
    if (pr.next <= pr.match) pr.next = pr.match + 1;
    this.advanceLeaderCommit();
  }

  private advanceLeaderCommit(): void {
    let s = this.commit + 1;
    while (s <= this.log.lastSlot) {
      const v = this.votes.get(s);
      if (v === undefined || popcount(v) < this.quorum) break;
      this.votes.delete(s);
      s++;
    }
    this.commit = s - 1;
  }

  private broadcastHeartbeat(): void {
    for (const p of this.peers) {
      this.msgsNow.push(this.msg(T.HEARTBEAT, p, { ballot: this.ballot, commitIndex: this.commit, tick: this.tickNow }));
      const pr = this.progress.get(p);
      // One probe at a time; one whose ack was lost is replaced after an election timeout.
      if (pr !== undefined && (pr.probeTick < 0 || this.tickNow - pr.probeTick >= this.electionTicks)) {
        pr.probeTick = this.tickNow;
        pr.probeSentThrough = pr.next - 1;
      }
    }
  }

  private onNack(ballot: Ballot): void {
    if (this.role === 'follower') return;
    if (compareBallots(ballot, this.ballot) <= 0) return; // a lease refusal: wait for our timeout
    if (this.role === 'leader') {
      // A replica promised above us (it campaigned while cut off). While we still lead a quorum, move above it at
      // once rather than step down and wait for a timeout: the followers' leases to us let our prepare through.
      this.startCampaign();
      return;
    }
    this.becomeFollower(undefined);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Catch-up

  private onCatchup(m: PaxosMessage): void {
    const from = m.index;
    if (from <= this.log.snapshotIndex && this.snapshot !== undefined) {
      this.msgsNow.push(this.msg(T.SNAPSHOT, m.from, { snapshot: this.snapshot, commitIndex: this.commit }));
      return;
    }
    if (from > this.commit) return;
    const entries = this.log.slice(from, Math.min(this.commit, from + this.maxCatchup - 1));
    let bytes = 0;
    let n = 0;
    while (n < entries.length) {
      const e = entries[n] as PaxosEntry;
      if (n > 0 && bytes + e.value.length > this.maxBatchBytes) break;
      bytes += e.value.length;
      n++;
    }
    this.msgsNow.push(this.msg(T.CHOSEN, m.from, { entries: entries.slice(0, n), commitIndex: this.commit }));
  }

  private onChosen(m: PaxosMessage): void {
    // A leader learns chosen slots from its own votes; its log above the recovery start holds only its ballot.
    if (this.role === 'leader') return;
    const before = this.commit;
    for (const e of m.entries) {
      if (e.slot <= this.commit) continue;
      if (e.slot !== this.commit + 1) break;
      const chosen: PaxosEntry = { slot: e.slot, ballot: e.ballot ?? ZERO_BALLOT, noop: e.noop, value: e.value };
      this.log.put(chosen);
      this.persistEntries.set(e.slot, chosen);
      this.commit = e.slot;
    }
    // An answer that moved us forward may be followed at once by the next request: catch-up is a pipeline of
    // round trips, not one chunk per tick.
    if (this.commit > before) this.lastCatchupTick = -Infinity;
    if (this.role === 'follower' && this.leaderBallot.round > 0) this.learnLeaderCommit(this.leaderBallot, 0);
    if (this.role === 'candidate') this.maybeWinCampaign();
  }

  private onSnapshot(m: PaxosMessage): void {
    const snap = m.snapshot;
    if (this.role === 'leader' || snap === undefined || snap.index <= this.commit) return;
    this.installRemoteSnapshot(snap);
    this.lastCatchupTick = -Infinity;
    if (this.role === 'follower' && this.leaderBallot.round > 0) this.learnLeaderCommit(this.leaderBallot, 0);
    if (this.role === 'candidate') this.maybeWinCampaign();
  }

  private installRemoteSnapshot(snap: PaxosSnapshot): void {
    assert(snap.index > this.commit, 'only newer snapshots are installed');
    this.snapshot = snap;
    this.log.compact(snap.index);
    for (const s of [...this.persistEntries.keys()]) if (s <= snap.index) this.persistEntries.delete(s);
    this.commit = snap.index;
    this.handedOut = snap.index;
    this.persistSnapshot = snap;
    this.installSnapshot = snap;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Leases, roles, helpers

  private grantLease(holder: number): void {
    this.leaseHolder = holder;
    this.leaseUntilTick = this.tickNow + this.leaseTicks;
  }

  private leaseLiveFor(candidate: number): boolean {
    return this.tickNow < this.leaseUntilTick && this.leaseHolder !== candidate;
  }

  /** leaseBlocks: a prepare from `from` must be refused because a lease granted to another replica lives. */
  private leaseBlocks(from: number): boolean {
    return this.leaseLiveFor(from);
  }

  private leaseValid(): boolean {
    if (this.commit < this.recoveryHorizon) return false;
    const acks = [this.tickNow];
    for (const pr of this.progress.values()) acks.push(pr.leaseAckTick);
    acks.sort((a, b) => b - a);
    const quorumTick = acks[this.quorum - 1] ?? -Infinity;
    return this.tickNow - quorumTick < this.leaderLease;
  }

  private becomeFollower(leader: number | undefined): void {
    this.role = 'follower';
    this.ballot = ZERO_BALLOT;
    this.campaign = undefined;
    this.progress.clear();
    this.votes.clear();
    this.leaderId = leader;
    this.electionElapsed = 0;
    this.resetElectionTimeout();
  }

  private setPromised(b: Ballot): void {
    assert(compareBallots(b, this.promised) >= 0, `promise must not go down: ${formatBallot(b)} < ${formatBallot(this.promised)}`);
    if (!ballotEq(b, this.promised)) {
      this.promised = b;
      this.promisedDirty = true;
    }
  }

  private resetElectionTimeout(): void {
    this.electionTimeout = this.electionTicks + this.rng.int(this.electionTicks);
  }

  private knownLeader(): number | undefined {
    return this.role === 'leader' ? this.id : this.leaderId;
  }

  private appliedThrough(): number {
    return this.inflight ? Math.min(this.handedOut, this.inflight.committedThrough) : this.handedOut;
  }

  private msg(type: PaxosMessage_Type, to: number, f: Partial<PaxosMessage>): PaxosMessage {
    return {
      type,
      from: this.id,
      to,
      ballot: f.ballot ?? this.promised,
      fromSlot: f.fromSlot ?? 0,
      entries: f.entries ?? [],
      commitIndex: f.commitIndex ?? 0,
      index: f.index ?? 0,
      snapshot: f.snapshot,
      tick: f.tick ?? 0,
      more: f.more ?? false,
    };
  }
}

function popcount(v: number): number {
  let n = 0;
  while (v !== 0) {
    v &= v - 1;
    n++;
  }
  return n;
}

function validateConfig(c: PaxosCoreConfig): void {
  const ids = c.replicaIds;
  if (![1, 3, 5].includes(ids.length)) throw new InvalidArgument('replicaIds', `a cell has 1, 3 or 5 replicas, got ${ids.length}`);
  if (new Set(ids).size !== ids.length) throw new InvalidArgument('replicaIds', 'ids must be distinct');
  for (const r of ids) if (!Number.isSafeInteger(r) || r < 1 || r > 0xffffffff) throw new InvalidArgument('replicaIds', `ids are integers >= 1, got ${r}`);
  if (!ids.includes(c.id)) throw new InvalidArgument('id', `${c.id} is not one of replicaIds`);
  if (!Number.isSafeInteger(c.electionTicks) || c.electionTicks < 2) throw new InvalidArgument('electionTicks', 'must be an integer >= 2');
  if (!Number.isSafeInteger(c.heartbeatTicks) || c.heartbeatTicks < 1 || c.heartbeatTicks >= c.electionTicks) throw new InvalidArgument('heartbeatTicks', 'must be an integer in [1, electionTicks)');
  if (!Number.isSafeInteger(c.leaseTicks) || c.leaseTicks >= c.electionTicks) throw new InvalidArgument('leaseTicks', 'must be an integer below electionTicks');
  if (!(c.maxClockDrift >= 0 && c.maxClockDrift < 0.5)) throw new InvalidArgument('maxClockDrift', 'must be in [0, 0.5)');
  if (leaderLeaseTicks(c.leaseTicks, c.maxClockDrift) < 1) throw new InvalidArgument('leaseTicks', `too short for a leader lease under drift ${c.maxClockDrift} (needs (leaseTicks - 1) / (1 + drift) >= 1)`);
  for (const k of ['maxBatchEntries', 'maxBatchBytes', 'maxInflightSlots', 'maxCatchupEntries'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new InvalidArgument(k, 'must be a positive integer');
  }
}
