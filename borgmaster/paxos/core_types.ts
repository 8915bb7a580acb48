// The Multi-Paxos core's public contract: its configuration, what it needs to restart, and the Ready batch it
// hands its driver (etcd raft's rawnode shape). The driver (node.ts) does all IO in the order documented here.
import type { Rng } from '../../model/rng';
import type { Ballot, PaxosEntry, PaxosMessage, PaxosSnapshot } from '../../proto/index';

export type { Ballot, PaxosEntry, PaxosMessage, PaxosSnapshot };

/** ZERO_BALLOT is below every real ballot; replica ids start at 1 so no real ballot equals it. */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0, replica: 0 });

/** PaxosCoreConfig is one replica's view of the static membership and its timing (in ticks). */
export interface PaxosCoreConfig {
  /** id is this replica's id (>= 1); it is the replica half of every ballot this replica leads. */
  id: number;
  /** replicaIds lists every replica of the cell, this one included: 1, 3 or 5 distinct ids >= 1. */
  replicaIds: readonly number[];
  /**
   * electionTicks: a follower that hears nothing from a leader for a random number of ticks in
   * [electionTicks, 2 * electionTicks) starts phase 1; a leader that hears from no quorum for electionTicks
   * steps down.
   */
  electionTicks: number;
  /** heartbeatTicks: the leader sends a heartbeat (lease renewal, commit index) this often; < electionTicks. */
  heartbeatTicks: number;
  /**
   * leaseTicks: a replica that hears from the leader refuses to promise any other replica's ballot for this many
   * of its own ticks; < electionTicks. A restarted replica refuses every prepare for leaseTicks (it may have
   * granted a lease it no longer remembers).
   */
  leaseTicks: number;
  /**
   * maxClockDrift bounds the relative tick-rate error between any two replicas (0.05 = 5%). The leader uses its
   * lease for floor((leaseTicks - 1) / (1 + maxClockDrift)) ticks after the send a quorum acked (lease.ts).
   */
  maxClockDrift: number;
  /** rng randomises election timeouts. Use a fork per replica; the core draws nothing else from it. */
  rng: Rng;
  /** Bounds; defaults from cells/limits.ts. */
  maxBatchEntries?: number;
  maxBatchBytes?: number;
  maxInflightSlots?: number;
  maxCatchupEntries?: number;
}

/** HardState is the persisted acceptor state besides the log and the snapshot. */
export interface HardState {
  /** promised is the highest ballot this acceptor promised (or accepted in); it never decreases. */
  promised: Ballot;
  /** commitIndex is the chosen prefix: every slot <= commitIndex is chosen and its stored entry is the chosen value. */
  commitIndex: number;
}

/**
 * RestartState is what the driver read from storage (same shape as storage.ts StoredState). A brand-new replica
 * passes nothing (or zero ballot, no entries, commit 0, no snapshot).
 */
export interface RestartState {
  promised: Ballot;
  /** entries sorted by slot, all above snapshot.index (holes allowed: slots never accepted here). */
  entries: PaxosEntry[];
  commitIndex: number;
  snapshot: PaxosSnapshot | undefined;
  /**
   * appliedIndex is what the driver's state machine already reflects. Default: snapshot.index (or 0): the driver
   * restores the state machine from the snapshot and the core hands back every committed entry after it.
   */
  appliedIndex?: number;
}

/**
 * ReadyPersist is what one Ready asks to make durable. It has the shape of storage.ts PersistBatch: write it as
 * ONE atomic, synced batch (a crash must never leave a commit index above entries it covers).
 */
export interface ReadyPersist {
  /** promised, when set, is the new promised ballot (never lower than the stored one). */
  promised?: Ballot | undefined;
  /** entries are accepted (or learned chosen) values; each overwrites whatever its slot held. */
  entries?: readonly PaxosEntry[] | undefined;
  /** commitIndex, when set, is the new chosen prefix (never decreases). */
  commitIndex?: number | undefined;
  /** snapshot replaces the stored snapshot (it is newer) and drops every stored entry at or below its index. */
  snapshot?: PaxosSnapshot | undefined;
  /** truncateThrough drops stored entries at or below this slot (log compaction after a snapshot). */
  truncateThrough?: number | undefined;
}

/** CommittedEntry is one chosen slot handed to the state machine. */
export interface CommittedEntry {
  slot: number;
  /** noop entries fill holes and open a leadership; the state machine skips them but counts the slot. */
  noop: boolean;
  value: Buffer;
  /** ballot is the ballot the value was accepted in at this replica (informational). */
  ballot: Ballot;
}

/**
 * Ready is one batch of work for the driver. Process it in this order, then call advance(ready):
 *
 *   1. send `messagesBeforePersist` at any time (even while step 2 runs);
 *   2. persist `persist` as one atomic, synced write (skip when `mustSync` is false and it is empty);
 *   3. only after 2 is durable: send `messages`;
 *   4. if `installSnapshot` is set, restore the state machine from it (after 2); apply `committed` in order
 *      (slots are consecutive, starting at appliedIndex + 1). Committed entries are chosen, so a quorum already
 *      holds them durably: they may be applied before 2 completes (node.ts does); the simulation runs both ways;
 *   5. call advance(ready).
 *
 * Between ready() and advance() the driver may keep calling step(), tick(), propose() and readIndex(); it must
 * not call ready() again until it has called advance() for the previous Ready.
 */
export interface Ready {
  /**
   * messagesBeforePersist need nothing from this Ready's persist (the leader's ACCEPTs, heartbeats, catch-up
   * requests and answers): send them right away, concurrently with the fsync (etcd's leader optimisation).
   */
  messagesBeforePersist: PaxosMessage[];
  /** persist: what must be durable before `messages` go out and before `committed` is applied. */
  persist: ReadyPersist;
  /** mustSync is true when `persist` holds anything; a Ready without it needs no disk write. */
  mustSync: boolean;
  /** messages (PROMISE, ACCEPTED, NACK, ...) may be sent only after `persist` is durable. */
  messages: PaxosMessage[];
  /**
   * installSnapshot, when set, is a snapshot received from another replica: after persisting (it is also in
   * persist.snapshot), replace the state machine with it before applying `committed`.
   */
  installSnapshot: PaxosSnapshot | undefined;
  /** committed entries to apply, in slot order. Chosen (a quorum holds them durably), so see step 4 above. */
  committed: CommittedEntry[];
}

export type Role = 'follower' | 'candidate' | 'leader';

/** ProposeResult says where the commands went. A proposal succeeded iff the committed entry at its slot holds its bytes. */
export type ProposeResult =
  | { kind: 'ok'; firstSlot: number; lastSlot: number; ballot: Ballot }
  /** not_leader: retry at leaderId (when known). */
  | { kind: 'not_leader'; leaderId: number | undefined }
  /** busy: the pipeline is full (maxInflightSlots); retry after some commits. */
  | { kind: 'busy' };

/**
 * ReadIndexResult answers a linearisable read. 'ok': wait until the state machine has applied `index`, then read
 * locally; the answer is linearisable (the lease was live when readIndex() was called, and index covers every
 * write acknowledged before).
 */
export type ReadIndexResult =
  | { kind: 'ok'; index: number }
  | { kind: 'not_leader'; leaderId: number | undefined }
  /** no_lease: leader, but its lease lapsed or it has not yet committed everything an earlier leader chose. */
  | { kind: 'no_lease' };

/** PaxosStatus is a read-only summary for status pages, logs and tests. */
export interface PaxosStatus {
  id: number;
  role: Role;
  /** ballot is the one this replica leads or campaigns with (zero when follower). */
  ballot: Ballot;
  promised: Ballot;
  /** leaderId is the replica believed to lead (this one when leader), undefined when unknown. */
  leaderId: number | undefined;
  commitIndex: number;
  appliedIndex: number;
  lastSlot: number;
  snapshotIndex: number;
  /** leaseValid: this replica is a leader that may serve reads right now. */
  leaseValid: boolean;
  tick: number;
}

/**
 * PaxosReplicaApi is the core's whole surface (class PaxosReplica in core.ts implements it).
 *
 *   new PaxosReplica(config, restart?)  restart from persisted state (storage's StoredState fits RestartState)
 *   step(m)        one incoming message; throws InvalidArgument (state unchanged) when it is malformed
 *   tick()         one tick of this replica's clock (the driver calls it every tickMs)
 *   propose(cs)    leader only: each command gets its own slot, batched into the next ACCEPTs
 *   readIndex()    lease read
 *   hasReady()/ready()/advance(rd)
 *   takeMessages() the leader's ACCEPTs etc. right away, without waiting for the Ready in flight
 *   takeCommitted() chosen entries right away (drivers that apply a Ready's entries before its fsync)
 *   compact(index, data)  the driver took a state-machine snapshot at index (<= appliedIndex): the core keeps it
 *                  to send to lagging replicas and emits persist.snapshot + truncateThrough in the next Ready
 *   status()
 */
export interface PaxosReplicaApi {
  step(m: PaxosMessage): void;
  tick(): void;
  propose(commands: readonly Uint8Array[]): ProposeResult;
  readIndex(): ReadIndexResult;
  hasReady(): boolean;
  /** takeMessages: messages that may go out now, even mid-persist (see Ready.messagesBeforePersist). */
  takeMessages(): PaxosMessage[];
  /**
   * takeCommitted: chosen entries not yet handed out, even mid-persist. Only for a driver that applied the
   * committed entries of the Ready in flight before persisting it; empty while a snapshot waits to be installed.
   */
  takeCommitted(): CommittedEntry[];
  ready(): Ready;
  advance(rd: Ready): void;
  compact(index: number, data: Uint8Array): void;
  status(): PaxosStatus;
}
