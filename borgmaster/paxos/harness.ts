// PaxosHarness wires several PaxosReplica cores over an in-memory network with a perfect disk, for the core's
// unit tests (etcd raft's `network` in raft_test.go): deliver, drop, cut, isolate, and a transcript of messages.
import { SeededRng } from '../../model/rng';
import { assert } from '../../model/assert';
import { PaxosMessage_Type, type PaxosMessage } from '../../proto/index';
import { PaxosReplica } from './core';
import type { CommittedEntry, PaxosCoreConfig, RestartState } from './core_types';
import { formatBallot } from './ballot';

/** Disk is what a replica persisted (the restart state), kept as the driver's storage would. */
interface Disk {
  promised: RestartState['promised'];
  entries: Map<number, RestartState['entries'][number]>;
  commitIndex: number;
  snapshot: RestartState['snapshot'];
}

export interface HarnessOptions {
  ids?: number[];
  seed?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  leaseTicks?: number;
  maxClockDrift?: number;
  overrides?: Partial<PaxosCoreConfig>;
}

export class PaxosHarness {
  readonly ids: number[];
  readonly cores = new Map<number, PaxosReplica>();
  readonly applied = new Map<number, CommittedEntry[]>();
  readonly disks = new Map<number, Disk>();
  /** queue holds messages sent and not yet delivered, in send order. */
  queue: PaxosMessage[] = [];
  /** transcript: one line per delivered message, when recording. */
  transcript: string[] = [];
  recording = false;
  private cut = new Set<string>();
  private down = new Set<number>();
  private readonly opts: Required<Omit<HarnessOptions, 'ids' | 'overrides'>> & { overrides: Partial<PaxosCoreConfig> };

  constructor(o: HarnessOptions = {}) {
    this.ids = o.ids ?? [1, 2, 3];
    this.opts = {
      seed: o.seed ?? 1,
      electionTicks: o.electionTicks ?? 10,
      heartbeatTicks: o.heartbeatTicks ?? 2,
      leaseTicks: o.leaseTicks ?? 8,
      maxClockDrift: o.maxClockDrift ?? 0.05,
      overrides: o.overrides ?? {},
    };
    for (const id of this.ids) {
      this.disks.set(id, { promised: { round: 0, replica: 0 }, entries: new Map(), commitIndex: 0, snapshot: undefined });
      this.start(id);
    }
  }

  config(id: number): PaxosCoreConfig {
    return {
      id,
      replicaIds: this.ids,
      electionTicks: this.opts.electionTicks,
      heartbeatTicks: this.opts.heartbeatTicks,
      leaseTicks: this.opts.leaseTicks,
      maxClockDrift: this.opts.maxClockDrift,
      rng: new SeededRng(this.opts.seed * 7919 + id),
      ...this.opts.overrides,
    };
  }

  core(id: number): PaxosReplica {
    const c = this.cores.get(id);
    assert(c !== undefined, `no replica ${id}`);
    return c;
  }

  /** start (re)creates replica id from its disk, as a restart after a crash does. */
  start(id: number): void {
    const d = this.disks.get(id);
    assert(d !== undefined, `no disk for ${id}`);
    const entries = [...d.entries.values()].sort((a, b) => a.slot - b.slot);
    this.cores.set(id, new PaxosReplica(this.config(id), { promised: d.promised, entries, commitIndex: d.commitIndex, snapshot: d.snapshot }));
    this.applied.set(id, []); // a restart re-applies from its snapshot on
    this.down.delete(id);
  }

  /** crash drops replica id's volatile state and every message to it; its disk stays. */
  crash(id: number): void {
    this.down.add(id);
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  isolate(id: number): void {
    for (const o of this.ids) if (o !== id) this.cutLink(id, o), this.cutLink(o, id);
  }

  /** cutLink drops every message from a to b (one direction). */
  cutLink(a: number, b: number): void {
    this.cut.add(`${a}>${b}`);
  }

  heal(): void {
    this.cut.clear();
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      if (this.down.has(id)) return;
      this.core(id).tick();
      this.process(id);
    }
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.ids) this.tick(id);
  }

  /** process runs replica id's Ready loop against its perfect disk. */
  process(id: number): void {
    if (this.down.has(id)) return;
    const c = this.core(id);
    const d = this.disks.get(id);
    assert(d !== undefined, 'disk');
    while (c.hasReady()) {
      const rd = c.ready();
      this.send(rd.messagesBeforePersist);
      const p = rd.persist;
      if (p.promised) d.promised = p.promised;
      if (p.snapshot) d.snapshot = p.snapshot;
      const cut = p.truncateThrough ?? p.snapshot?.index;
      if (cut !== undefined) for (const s of [...d.entries.keys()]) if (s <= cut) d.entries.delete(s);
      for (const e of p.entries ?? []) d.entries.set(e.slot, e);
      if (p.commitIndex !== undefined) d.commitIndex = Math.max(d.commitIndex, p.commitIndex);
      this.send(rd.messages);
      const applied = this.applied.get(id) ?? [];
      if (rd.installSnapshot) applied.length = 0;
      applied.push(...rd.committed);
      this.applied.set(id, applied);
      c.advance(rd);
    }
  }

  private send(ms: PaxosMessage[]): void {
    for (const m of ms) if (!this.cut.has(`${m.from}>${m.to}`) && !this.down.has(m.to)) this.queue.push(m);
  }

  /** deliverOne delivers the oldest queued message; returns false when none is left. */
  deliverOne(filter?: (m: PaxosMessage) => boolean): boolean {
    const i = filter ? this.queue.findIndex(filter) : 0;
    if (i < 0 || i >= this.queue.length) return false;
    const [m] = this.queue.splice(i, 1);
    assert(m !== undefined, 'queued message');
    if (this.down.has(m.to) || this.cut.has(`${m.from}>${m.to}`)) return true;
    if (this.recording) this.transcript.push(describe(m));
    this.core(m.to).step(m);
    this.process(m.to);
    return true;
  }

  /** deliver delivers until the network is quiet (bounded, so a livelock fails the test). */
  deliver(max = 100_000): number {
    let n = 0;
    while (this.deliverOne()) {
      n++;
      assert(n < max, 'deliver: network never went quiet');
    }
    return n;
  }

  /** elect makes replica id leader: only it ticks until it campaigns, then the network settles. */
  elect(id: number): void {
    for (let i = 0; i < 4 * this.opts.electionTicks && this.core(id).status().role !== 'leader'; i++) {
      this.tick(id);
      this.deliver();
    }
    assert(this.core(id).status().role === 'leader', `replica ${id} did not become leader`);
  }

  /** propose proposes string commands at id and returns the slots. */
  propose(id: number, ...values: string[]): number[] {
    const r = this.core(id).propose(values.map((v) => Buffer.from(v)));
    assert(r.kind === 'ok', `propose at ${id}: ${r.kind}`);
    this.process(id);
    const out: number[] = [];
    for (let s = r.firstSlot; s <= r.lastSlot; s++) out.push(s);
    return out;
  }

  /** values returns what replica id applied, as strings ('' for no-ops shown as '-'). */
  values(id: number): string[] {
    return (this.applied.get(id) ?? []).map((e) => (e.noop ? '-' : e.value.toString()));
  }
}

export function describe(m: PaxosMessage): string {
  const T = PaxosMessage_Type;
  const b = m.ballot ? formatBallot(m.ballot) : '-';
  const es = m.entries.map((e) => `${e.slot}:${e.noop ? '-' : e.value.toString()}`).join(',');
  const parts = [`${m.from}->${m.to}`, T[m.type], `b=${b}`];
  switch (m.type) {
    case T.PREPARE:
      parts.push(`from=${m.fromSlot}`);
      break;
    case T.PROMISE:
      parts.push(`from=${m.fromSlot}`, `commit=${m.commitIndex}`, `[${es}]`);
      if (m.more) parts.push(`more@${m.index}`);
      break;
    case T.ACCEPT:
      parts.push(`[${es}]`, `commit=${m.commitIndex}`);
      break;
    case T.ACCEPTED:
      parts.push(`${m.fromSlot}..${m.index}`, `commit=${m.commitIndex}`);
      break;
    case T.HEARTBEAT:
      parts.push(`commit=${m.commitIndex}`);
      break;
    case T.HEARTBEAT_ACK:
      if (m.fromSlot >= 1) parts.push(`${m.fromSlot}..${m.index}`);
      parts.push(`commit=${m.commitIndex}`);
      break;
    case T.CATCHUP:
      parts.push(`from=${m.index}`);
      break;
    case T.CHOSEN:
      parts.push(`[${es}]`, `commit=${m.commitIndex}`);
      break;
    case T.SNAPSHOT:
      parts.push(`snap@${m.snapshot?.index ?? 0}`);
      break;
    default:
      break;
  }
  return parts.join(' ');
}
