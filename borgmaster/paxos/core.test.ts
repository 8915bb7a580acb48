// The core's rules, one test each, driven through the in-memory harness (and hand-made messages where a rule is
// about one acceptor). Read top to bottom, they are the protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PaxosMessage_Type as T, type Ballot, type PaxosEntry, type PaxosMessage } from '../../proto/index';
import { InvalidArgument } from '../../model/errors';
import { SeededRng } from '../../model/rng';
import { PaxosReplica } from './core';
import { PaxosHarness } from './harness';
import { compareBallots, nextBallot } from './ballot';
import { leaderLeaseTicks } from './lease';
import type { PaxosCoreConfig, Ready } from './core_types';

function msg(type: T, from: number, to: number, f: Partial<PaxosMessage> = {}): PaxosMessage {
  return {
    type,
    from,
    to,
    ballot: f.ballot,
    fromSlot: f.fromSlot ?? 0,
    entries: f.entries ?? [],
    commitIndex: f.commitIndex ?? 0,
    index: f.index ?? 0,
    snapshot: f.snapshot,
    tick: f.tick ?? 0,
    more: f.more ?? false,
  };
}

function entry(slot: number, ballot: Ballot, value: string): PaxosEntry {
  return { slot, ballot, noop: false, value: Buffer.from(value) };
}

function config(id: number, over: Partial<PaxosCoreConfig> = {}): PaxosCoreConfig {
  return { id, replicaIds: [1, 2, 3], electionTicks: 10, heartbeatTicks: 2, leaseTicks: 8, maxClockDrift: 0.05, rng: new SeededRng(id), ...over };
}

/** drain runs one Ready as a perfect driver would and returns it. */
function drain(c: PaxosReplica): Ready {
  const rd = c.ready();
  c.advance(rd);
  return rd;
}

const b = (round: number, replica: number): Ballot => ({ round, replica });

test('ballots order by round, then replica; nextBallot moves strictly up', () => {
  assert.ok(compareBallots(b(1, 3), b(2, 1)) < 0);
  assert.ok(compareBallots(b(2, 1), b(2, 3)) < 0);
  assert.equal(compareBallots(b(2, 2), b(2, 2)), 0);
  assert.deepEqual(nextBallot(b(0, 0), 2), b(1, 2));
  assert.deepEqual(nextBallot(b(4, 1), 2), b(4, 2));
  assert.deepEqual(nextBallot(b(4, 3), 2), b(5, 2));
});

test('election transcript: one phase 1, then heartbeats and a batched, pipelined phase 2', () => {
  const h = new PaxosHarness();
  h.recording = true;
  h.elect(1);
  h.propose(1, 'a', 'b', 'c');
  h.deliver();
  assert.deepEqual(h.transcript, [
    '1->2 PREPARE b=1.1 from=1',
    '1->3 PREPARE b=1.1 from=1',
    '2->1 PROMISE b=1.1 from=1 commit=0 []',
    '3->1 PROMISE b=1.1 from=1 commit=0 []',
    '1->2 HEARTBEAT b=1.1 commit=0',
    '1->3 HEARTBEAT b=1.1 commit=0',
    '2->1 HEARTBEAT_ACK b=1.1 commit=0',
    '3->1 HEARTBEAT_ACK b=1.1 commit=0',
    '1->2 ACCEPT b=1.1 [1:a,2:b,3:c] commit=0',
    '1->3 ACCEPT b=1.1 [1:a,2:b,3:c] commit=0',
    '2->1 ACCEPTED b=1.1 1..3 commit=0',
    '3->1 ACCEPTED b=1.1 1..3 commit=0',
  ]);
  assert.deepEqual(h.values(1), ['a', 'b', 'c']);
  // More proposals need no new phase 1: only ACCEPTs, and followers learn the commit index from the leader.
  h.transcript = [];
  h.propose(1, 'd');
  h.deliver();
  h.tick(1, 2);
  h.deliver();
  assert.ok(h.transcript.every((l) => !l.includes('PREPARE')));
  for (const id of h.ids) assert.deepEqual(h.values(id), ['a', 'b', 'c', 'd']);
});

test('the pipeline keeps several ACCEPTs in flight before any reply', () => {
  const h = new PaxosHarness({ overrides: { maxBatchEntries: 2 } });
  h.elect(1);
  h.propose(1, 'a', 'b', 'c', 'd', 'e');
  const accepts = h.queue.filter((m) => m.type === T.ACCEPT && m.to === 2);
  assert.deepEqual(accepts.map((m) => m.entries.map((e) => e.slot)), [[1, 2], [3, 4], [5]]);
});

test('an acceptor persists its promise before the PROMISE goes out', () => {
  const c = new PaxosReplica(config(2));
  c.step(msg(T.PREPARE, 1, 2, { ballot: b(1, 1), fromSlot: 1 }));
  const rd = drain(c);
  assert.deepEqual(rd.persist.promised, b(1, 1));
  assert.equal(rd.mustSync, true);
  assert.equal(rd.messagesBeforePersist.length, 0, 'nothing that depends on the promise may go out before it is durable');
  assert.equal(rd.messages[0]?.type, T.PROMISE);
});

test('a promise is never broken: after promising b2 an acceptor refuses ACCEPT and PREPARE below b2', () => {
  const c = new PaxosReplica(config(3));
  c.step(msg(T.PREPARE, 2, 3, { ballot: b(2, 2), fromSlot: 1 }));
  drain(c);
  c.step(msg(T.ACCEPT, 1, 3, { ballot: b(1, 1), entries: [entry(1, b(1, 1), 'stale')], commitIndex: 0 }));
  const rd = drain(c);
  assert.equal(rd.persist.entries, undefined, 'nothing accepted');
  assert.equal(c.entry(1), undefined);
  assert.deepEqual(rd.messages.map((m) => [T[m.type], m.ballot]), [['NACK', b(2, 2)]]);
  c.step(msg(T.PREPARE, 1, 3, { ballot: b(2, 1), fromSlot: 1 }));
  assert.deepEqual(drain(c).messages.map((m) => [T[m.type], m.ballot]), [['NACK', b(2, 2)]]);
  assert.deepEqual(c.status().promised, b(2, 2));
});

test('an acceptor accepts at or above its promise, and a higher ACCEPT is also a promise', () => {
  const c = new PaxosReplica(config(3));
  c.step(msg(T.PREPARE, 1, 3, { ballot: b(1, 1), fromSlot: 1 }));
  drain(c);
  c.step(msg(T.ACCEPT, 2, 3, { ballot: b(3, 2), entries: [entry(1, b(3, 2), 'x')], commitIndex: 0, tick: 7 }));
  const rd = drain(c);
  assert.deepEqual(rd.persist.promised, b(3, 2));
  assert.deepEqual(rd.persist.entries?.map((e) => [e.slot, e.value.toString(), e.ballot]), [[1, 'x', b(3, 2)]]);
  const ack = rd.messages[0];
  assert.equal(ack?.type, T.ACCEPTED);
  assert.deepEqual([ack?.fromSlot, ack?.index, ack?.tick], [1, 1, 7], 'ACCEPTED names the slots and echoes the tick');
});

test('a new leader adopts the highest-ballot value of each slot and fills holes with no-ops', () => {
  // Replica 1 accepted x at ballot 1.2 in slot 1; replica 2 accepted y at 2.3 in slot 1 and z at 2.3 in slot 3.
  // Replica 3 is unreachable, so the quorum is {1, 2}.
  const h = new PaxosHarness();
  h.disks.get(1)?.entries.set(1, entry(1, b(1, 2), 'x'));
  h.disks.get(2)?.entries.set(1, entry(1, b(2, 3), 'y'));
  h.disks.get(2)?.entries.set(3, entry(3, b(2, 3), 'z'));
  h.disks.get(1)!.promised = b(1, 2);
  h.disks.get(2)!.promised = b(2, 3);
  for (const id of [1, 2]) h.start(id);
  h.isolate(3);
  h.tickAll(8); // the restart leases on 1 and 2 run out
  h.elect(1);
  assert.deepEqual(h.values(1), ['y', '-', 'z']);
  assert.ok(compareBallots(h.core(1).status().ballot, b(2, 3)) > 0, 'the new ballot is above every ballot it saw');
});

test('a value chosen by a quorum survives the leader: the next leader re-proposes it in the same slot', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.propose(1, 'a');
  // Only replica 2 hears the ACCEPT; the leader dies before learning anything.
  h.deliverOne((m) => m.type === T.ACCEPT && m.to === 2);
  h.crash(1);
  h.queue = [];
  h.tickAll(h.core(2).status().tick + 40);
  h.deliver();
  const leader = [2, 3].find((id) => h.core(id).status().role === 'leader');
  assert.ok(leader !== undefined);
  h.deliver();
  assert.deepEqual(h.values(leader), ['a']);
});

test('a live lease blocks rival ballots; once it runs out the rival is promised', () => {
  const h = new PaxosHarness();
  h.elect(1);
  const f = h.core(2);
  f.step(msg(T.PREPARE, 3, 2, { ballot: b(5, 3), fromSlot: 1 }));
  let rd = drain(f);
  assert.deepEqual(rd.messages.map((m) => T[m.type]), ['NACK']);
  assert.deepEqual(f.status().promised, b(1, 1), 'the refusal changes nothing');
  for (let i = 0; i < 8; i++) f.tick();
  drain(f);
  f.step(msg(T.PREPARE, 3, 2, { ballot: b(5, 3), fromSlot: 1 }));
  rd = drain(f);
  assert.deepEqual(rd.messages.map((m) => T[m.type]), ['PROMISE']);
});

test("the lease holder's own higher ballot is not blocked by its lease", () => {
  const h = new PaxosHarness();
  h.elect(1);
  const f = h.core(2);
  f.step(msg(T.PREPARE, 1, 2, { ballot: b(2, 1), fromSlot: 1 }));
  assert.deepEqual(drain(f).messages.map((m) => T[m.type]), ['PROMISE']);
});

test('a restarted replica refuses every prepare for a lease period (it may have granted a lease it forgot)', () => {
  const c = new PaxosReplica(config(2), { promised: b(1, 1), entries: [], commitIndex: 0, snapshot: undefined });
  c.step(msg(T.PREPARE, 3, 2, { ballot: b(2, 3), fromSlot: 1 }));
  assert.deepEqual(drain(c).messages.map((m) => T[m.type]), ['NACK']);
  for (let i = 0; i < 8; i++) c.tick();
  drain(c);
  c.step(msg(T.PREPARE, 3, 2, { ballot: b(2, 3), fromSlot: 1 }));
  assert.deepEqual(drain(c).messages.map((m) => T[m.type]), ['PROMISE']);
});

test('lease reads: the leader answers under its lease, and stops once a quorum has been silent too long', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.propose(1, 'a');
  h.deliver();
  assert.deepEqual(h.core(1).readIndex(), { kind: 'ok', index: 1 });
  assert.equal(h.core(2).readIndex().kind, 'not_leader');
  assert.deepEqual(h.core(2).readIndex(), { kind: 'not_leader', leaderId: 1 });
  h.isolate(1);
  const ll = leaderLeaseTicks(8, 0.05);
  let lastOk = 0;
  for (let t = 1; t <= 8; t++) {
    h.tick(1);
    h.deliver();
    if (h.core(1).readIndex().kind === 'ok') lastOk = t;
  }
  assert.ok(lastOk >= ll - 2 && lastOk < ll, `lease lasted ${lastOk} ticks after the last ack (leader lease ${ll})`);
  assert.equal(h.core(1).readIndex().kind, 'no_lease');
});

test('a new leader serves no lease read until it committed everything phase 1 found', () => {
  const h = new PaxosHarness();
  h.disks.get(2)?.entries.set(1, entry(1, b(1, 2), 'old'));
  h.disks.get(2)!.promised = b(1, 2);
  h.start(2);
  h.tickAll(8);
  // Replica 1 campaigns; deliver phase 1 but hold back every ACCEPTED.
  for (let i = 0; i < 40 && h.core(1).status().role !== 'leader'; i++) {
    h.tick(1);
    while (h.deliverOne((m) => m.type !== T.ACCEPTED)) {
      /* keep going */
    }
  }
  assert.equal(h.core(1).status().role, 'leader');
  assert.equal(h.core(1).readIndex().kind, 'no_lease');
  h.deliver();
  assert.deepEqual(h.core(1).readIndex(), { kind: 'ok', index: 1 });
});

test('a leader that hears from no quorum for an election timeout steps down', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.isolate(1);
  h.tick(1, 10);
  assert.equal(h.core(1).status().role, 'follower');
  assert.equal(h.core(1).propose([Buffer.from('x')]).kind, 'not_leader');
});

test("the leader's own accept counts only after its Ready is persisted", () => {
  const c = new PaxosReplica(config(1, { replicaIds: [1] }));
  for (let i = 0; i < 20 && c.status().role !== 'leader'; i++) {
    c.tick();
    while (c.hasReady()) drain(c);
  }
  assert.equal(c.status().role, 'leader');
  const r = c.propose([Buffer.from('a')]);
  assert.equal(r.kind, 'ok');
  const rd1 = c.ready();
  assert.equal(rd1.persist.entries?.length, 1);
  assert.equal(rd1.committed.length, 0, 'not chosen before it is on disk');
  c.advance(rd1);
  const rd2 = drain(c);
  assert.deepEqual(rd2.committed.map((e) => e.value.toString()), ['a']);
});

test('a lagging follower catches up from the log (CATCHUP -> CHOSEN)', () => {
  const h = new PaxosHarness({ overrides: { maxCatchupEntries: 2 } });
  h.elect(1);
  h.cutLink(1, 3);
  h.propose(1, 'a', 'b', 'c');
  h.deliver();
  h.heal();
  for (let i = 0; i < 10; i++) {
    h.tickAll();
    h.deliver();
  }
  assert.deepEqual(h.values(3), ['a', 'b', 'c']);
});

test('a follower never applies a stale value: a slot counts as chosen only with the leader ballot or from CHOSEN', () => {
  const h = new PaxosHarness();
  // Replica 3 holds a value from a dead ballot in slot 1 that was never chosen.
  h.disks.get(3)?.entries.set(1, entry(1, b(1, 3), 'stale'));
  h.disks.get(3)!.promised = b(1, 3);
  h.start(3);
  h.cutLink(1, 3);
  h.cutLink(3, 1);
  h.tickAll(8);
  h.elect(1);
  h.propose(1, 'fresh');
  h.deliver();
  h.heal();
  // Replica 3 now hears heartbeats with commit 2 but holds 'stale' at slot 1 under an old ballot.
  for (let i = 0; i < 10; i++) {
    h.tickAll();
    h.deliver();
  }
  // The quorum {1, 2} never saw 'stale', so slot 1 is 'fresh'; replica 3 must replace its stale value.
  assert.deepEqual(h.values(1), ['fresh']);
  assert.deepEqual(h.values(3), ['fresh']);
  assert.equal(h.core(3).entry(1)?.value.toString(), 'fresh');
});

test('log truncation after a snapshot, and catch-up of a lagging replica from that snapshot', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.isolate(3);
  h.propose(1, 'a', 'b', 'c', 'd');
  h.deliver();
  h.tick(1, 2);
  h.deliver();
  h.core(1).compact(4, Buffer.from('state@4'));
  h.process(1);
  assert.equal(h.core(1).status().snapshotIndex, 4);
  assert.equal(h.core(1).entry(2), undefined, 'the log before the snapshot is gone');
  assert.equal(h.disks.get(1)?.entries.size, 0, 'and so are the stored entries');
  assert.equal(h.disks.get(1)?.snapshot?.index, 4);
  h.heal();
  h.propose(1, 'e');
  for (let i = 0; i < 10; i++) {
    h.tickAll();
    h.deliver();
  }
  assert.equal(h.disks.get(3)?.snapshot?.data.toString(), 'state@4', 'replica 3 installed the snapshot');
  assert.deepEqual(h.values(3), ['e']);
  assert.equal(h.core(3).status().appliedIndex, 5);
});

test('a cut promise is continued: the candidate asks again from where the report stopped', () => {
  const h = new PaxosHarness({ overrides: { maxBatchEntries: 2 } });
  for (let s = 1; s <= 5; s++) h.disks.get(2)?.entries.set(s, entry(s, b(1, 2), `v${s}`));
  h.disks.get(2)!.promised = b(1, 2);
  h.start(2);
  h.isolate(3); // the quorum must include replica 2 and its whole report
  h.tickAll(8);
  h.recording = true;
  h.elect(1);
  assert.ok(h.transcript.some((l) => l.startsWith('2->1 PROMISE') && l.includes('more@2')));
  assert.ok(h.transcript.some((l) => l.startsWith('1->2 PREPARE') && l.endsWith('from=3')));
  h.deliver();
  assert.deepEqual(h.values(1), ['v1', 'v2', 'v3', 'v4', 'v5']);
});

test('restart from persisted state hands back committed entries after the snapshot and keeps the promise', () => {
  const entries = [entry(3, b(1, 1), 'c'), entry(4, b(1, 1), 'd'), entry(5, b(2, 1), 'e')];
  const c = new PaxosReplica(config(2), { promised: b(1, 1), entries, commitIndex: 4, snapshot: { index: 2, data: Buffer.from('s') } });
  const st = c.status();
  assert.deepEqual([st.commitIndex, st.snapshotIndex, st.appliedIndex, st.lastSlot], [4, 2, 2, 5]);
  assert.deepEqual(st.promised, b(2, 1), 'an accepted entry implies its promise');
  assert.deepEqual(drain(c).committed.map((e) => e.value.toString()), ['c', 'd']);
});

test('malformed messages throw InvalidArgument naming the field and change nothing', () => {
  const rows: [string, PaxosMessage, string][] = [
    ['unknown sender', msg(T.HEARTBEAT, 9, 2, { ballot: b(1, 9) }), 'message.from'],
    ['to another replica', msg(T.HEARTBEAT, 1, 3, { ballot: b(1, 1) }), 'message.to'],
    ['no ballot', msg(T.PREPARE, 1, 2, { fromSlot: 1 }), 'message.ballot'],
    ['ballot of another proposer', msg(T.PREPARE, 1, 2, { ballot: b(1, 3), fromSlot: 1 }), 'message.ballot'],
    ['slot zero', msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(0, b(1, 1), 'x')] }), 'message.entries[0].slot'],
    ['gap in an ACCEPT', msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(1, b(1, 1), 'x'), entry(3, b(1, 1), 'y')] }), 'message.entries[1].slot'],
    ['negative commit', msg(T.HEARTBEAT, 1, 2, { ballot: b(1, 1), commitIndex: -1 }), 'message.commitIndex'],
    ['fractional tick', msg(T.HEARTBEAT, 1, 2, { ballot: b(1, 1), tick: 1.5 }), 'message.tick'],
    ['empty accepted range', msg(T.ACCEPTED, 1, 2, { ballot: b(1, 1), fromSlot: 3, index: 2 }), 'message.index'],
    ['snapshot without snapshot', msg(T.SNAPSHOT, 1, 2, {}), 'message.snapshot'],
    ['unspecified type', msg(T.TYPE_UNSPECIFIED, 1, 2, {}), 'message.type'],
    ['unknown type', msg(77 as T, 1, 2, {}), 'message.type'],
    ['noop with a value', msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [{ slot: 1, ballot: b(1, 1), noop: true, value: Buffer.from('x') }] }), 'message.entries[0].value'],
  ];
  for (const [name, m, field] of rows) {
    const c = new PaxosReplica(config(2));
    const before = JSON.stringify(c.status());
    assert.throws(
      () => c.step(m),
      (e: unknown) => e instanceof InvalidArgument && e.field === field,
      name,
    );
    assert.equal(JSON.stringify(c.status()), before, `${name}: state unchanged`);
    assert.equal(c.hasReady(), false, `${name}: no output`);
  }
});

test('configuration errors name the field', () => {
  const rows: [Partial<PaxosCoreConfig>, string][] = [
    [{ replicaIds: [1, 2] }, 'replicaIds'],
    [{ replicaIds: [1, 1, 2] }, 'replicaIds'],
    [{ replicaIds: [0, 1, 2] }, 'replicaIds'],
    [{ id: 4 }, 'id'],
    [{ heartbeatTicks: 10 }, 'heartbeatTicks'],
    [{ leaseTicks: 10 }, 'leaseTicks'],
    [{ leaseTicks: 2 }, 'leaseTicks'],
    [{ maxClockDrift: 0.6 }, 'maxClockDrift'],
    [{ maxBatchEntries: 0 }, 'maxBatchEntries'],
  ];
  for (const [over, field] of rows) {
    assert.throws(
      () => new PaxosReplica(config(1, over)),
      (e: unknown) => e instanceof InvalidArgument && e.field === field,
      JSON.stringify(over),
    );
  }
});

test('proposals: not_leader with a hint on followers, busy when the pipeline is full', () => {
  const h = new PaxosHarness({ overrides: { maxInflightSlots: 4 } });
  h.elect(1);
  assert.deepEqual(h.core(2).propose([Buffer.from('x')]), { kind: 'not_leader', leaderId: 1 });
  assert.equal(h.core(1).propose(['a', 'b', 'c', 'd'].map((s) => Buffer.from(s))).kind, 'ok');
  assert.deepEqual(h.core(1).propose([Buffer.from('e')]), { kind: 'busy' });
  h.process(1);
  h.deliver();
  assert.equal(h.core(1).propose([Buffer.from('e')]).kind, 'ok');
});

test('ready() twice without advance() is a bug', () => {
  const c = new PaxosReplica(config(2));
  c.ready();
  assert.throws(() => c.ready(), /before advance/);
});

test('a leader that meets a higher promise re-runs phase 1 above it at once and keeps leading', () => {
  const h = new PaxosHarness();
  h.elect(1);
  // Replica 3 was cut off and campaigned alone, promising itself a high ballot.
  h.disks.get(3)!.promised = b(9, 3);
  h.crash(3);
  h.start(3);
  h.tick(1, 2);
  h.deliver();
  assert.equal(h.core(1).status().role, 'leader');
  assert.ok(compareBallots(h.core(1).status().ballot, b(9, 3)) > 0);
  h.propose(1, 'after');
  h.deliver();
  h.tick(1, 2);
  h.deliver();
  assert.deepEqual(h.values(3), ['after']);
});

test('phase 1 starts at the first unchosen slot: chosen slots are never prepared again', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.propose(1, 'a', 'b', 'c');
  h.deliver();
  h.tick(1, 2);
  h.deliver();
  h.crash(1);
  h.tick(3, 8); // replica 3's lease to the dead leader runs out
  h.recording = true;
  h.elect(2);
  assert.ok(h.transcript.includes('2->3 PREPARE b=1.2 from=4'), h.transcript.join('\n'));
  assert.deepEqual(h.values(2), ['a', 'b', 'c']);
});

test('a lagging candidate learns the slots a promiser knows chosen before it leads (no re-proposal of them)', () => {
  const h = new PaxosHarness();
  const chosen = ['a', 'b', 'c'].map((v, i) => entry(i + 1, b(1, 2), v));
  for (const id of [2, 3]) {
    const d = h.disks.get(id)!;
    for (const e of chosen) d.entries.set(e.slot, e);
    d.commitIndex = 3;
    d.promised = b(1, 2);
    h.start(id);
  }
  h.tickAll(8);
  h.recording = true;
  h.elect(1);
  const lines = h.transcript.filter((l) => /CATCHUP|CHOSEN|ACCEPT /.test(l));
  assert.ok(lines.some((l) => l.startsWith('1->') && l.includes('CATCHUP') && l.endsWith('from=1')), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('ACCEPT ') && l.includes('1:a')), 'chosen slots are learned, not re-proposed');
  assert.deepEqual(h.values(1), ['a', 'b', 'c']);
  h.propose(1, 'd');
  h.deliver();
  h.tick(1, 2);
  h.deliver();
  for (const id of h.ids) assert.deepEqual(h.values(id), ['a', 'b', 'c', 'd']);
});

test('takeMessages: a leader streams new ACCEPTs while its previous Ready is still being persisted', () => {
  const h = new PaxosHarness();
  h.elect(1);
  const leader = h.core(1);
  leader.propose([Buffer.from('a')]);
  const inFlight = leader.ready(); // the leader's disk is busy with slot 1
  leader.propose([Buffer.from('b')]);
  const early = leader.takeMessages();
  assert.deepEqual(early.map((m) => [m.to, T[m.type], m.entries.map((e) => e.slot)]), [
    [2, 'ACCEPT', [2]],
    [3, 'ACCEPT', [2]],
  ]);
  // Both followers accept slots 1 and 2 and answer; the leader counts them while its own fsync is pending.
  for (const m of [...inFlight.messagesBeforePersist, ...early]) {
    h.core(m.to).step(m);
    h.process(m.to);
  }
  while (h.deliverOne((m) => m.to === 1)) {
    /* the harness steps the leader; its Ready loop waits, since a Ready is in flight */
  }
  assert.equal(leader.status().commitIndex, 2, 'two followers are a quorum: chosen before the leader synced');
  leader.advance(inFlight);
  const next = leader.ready();
  assert.deepEqual(next.committed.map((e) => e.value.toString()), ['a', 'b']);
  leader.advance(next);
});

test('hostile numbers allocate nothing and stretch nothing: far-future slots are refused, future ticks ignored', () => {
  const c = new PaxosReplica(config(2));
  c.step(msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(2 ** 50, b(1, 1), 'x')], commitIndex: 0 }));
  const rd = drain(c);
  assert.equal(rd.persist.entries, undefined);
  assert.equal(c.status().lastSlot, 0);
  const h = new PaxosHarness();
  h.elect(1);
  h.isolate(1);
  h.core(1).step(msg(T.HEARTBEAT_ACK, 2, 1, { ballot: h.core(1).status().ballot, tick: 10 ** 9 }));
  h.tick(1, 8);
  assert.equal(h.core(1).readIndex().kind, 'no_lease', 'a forged echo does not keep the lease alive');
});

test('a batched ACCEPT is taken slot by slot: duplicates and chosen slots are kept, the rest accepted, one ACCEPTED for the range', () => {
  const c = new PaxosReplica(config(2));
  c.step(msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(1, b(1, 1), 'a'), entry(2, b(1, 1), 'b'), entry(3, b(1, 1), 'c')], commitIndex: 0 }));
  let rd = drain(c);
  assert.deepEqual(rd.persist.entries?.map((e) => e.slot), [1, 2, 3]);
  assert.deepEqual(rd.messages.map((m) => [T[m.type], m.fromSlot, m.index]), [['ACCEPTED', 1, 3]]);
  // A resend overlapping what it holds in this ballot: only the new slot is written, the whole range acked.
  c.step(msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(2, b(1, 1), 'b'), entry(3, b(1, 1), 'c'), entry(4, b(1, 1), 'd')], commitIndex: 1 }));
  rd = drain(c);
  assert.deepEqual(rd.persist.entries?.map((e) => e.slot), [4]);
  assert.deepEqual(rd.messages.map((m) => [T[m.type], m.fromSlot, m.index]), [['ACCEPTED', 2, 4]]);
  assert.equal(c.status().commitIndex, 1);
  // A higher ballot re-proposes slots 1 and 2: slot 1 is chosen here and keeps its value; slot 2 takes the new one.
  c.step(msg(T.ACCEPT, 3, 2, { ballot: b(2, 3), entries: [entry(1, b(2, 3), 'a'), entry(2, b(2, 3), 'y')], commitIndex: 0 }));
  rd = drain(c);
  assert.deepEqual(rd.persist.entries?.map((e) => [e.slot, e.value.toString()]), [[2, 'y']]);
  assert.equal(c.entry(1)?.value.toString(), 'a');
  assert.deepEqual(c.entry(2)?.ballot, b(2, 3));
  // A stale ballot is refused as a whole: nothing written, one NACK.
  c.step(msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(5, b(1, 1), 'e')], commitIndex: 1 }));
  rd = drain(c);
  assert.equal(rd.persist.entries, undefined);
  assert.deepEqual(rd.messages.map((m) => T[m.type]), ['NACK']);
});

/** holdReady takes replica id's next Ready and keeps it in flight (a slow fsync); messages to it are stepped only. */
function holdReady(h: PaxosHarness, id: number): Ready {
  const c = h.core(id);
  while (h.deliverOne((m) => m.to === id)) {
    /* step what is queued for it */
  }
  return c.ready();
}

test('a slow follower is not resent what it holds: heartbeats pass during its fsync without duplicate ACCEPTs', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.propose(1, 'a');
  const slow = h.core(2);
  const inFlight = holdReady(h, 2); // follower 2's disk is slow: its Ready with slot 1 stays in flight
  h.recording = true;
  for (let t = 0; t < 8; t++) {
    h.tick(1);
    h.deliver(); // heartbeats reach follower 2, which steps them; its acks wait for its fsync
  }
  assert.equal(h.transcript.filter((l) => l.startsWith('1->2 ACCEPT')).length, 0, 'no duplicate ACCEPT while it syncs');
  slow.advance(inFlight);
  h.process(2);
  h.deliver();
  assert.equal(h.core(2).entry(1)?.value.toString(), 'a');
  assert.ok(h.transcript.includes('2->1 HEARTBEAT_ACK b=1.1 commit=1'), 'its acks went out after its fsync');
});

test('a lost ACCEPT is resent from the gap the next heartbeat ack shows', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.cutLink(1, 3); // slot 1 can be chosen only with follower 2
  h.propose(1, 'a');
  h.queue = h.queue.filter((m) => !(m.to === 2 && m.type === T.ACCEPT)); // the ACCEPT of slot 1 is lost
  h.propose(1, 'b');
  h.deliver();
  assert.equal(h.core(2).entry(1), undefined);
  assert.equal(h.core(1).status().commitIndex, 0, 'slot 2 has a quorum, but slot 1 does not');
  h.recording = true;
  h.tick(1, 2); // one heartbeat: its ack says 2 holds nothing after its commit, though slots 1-2 were sent before
  h.deliver();
  assert.ok(h.transcript.includes('1->2 ACCEPT b=1.1 [1:a,2:b] commit=0'), h.transcript.join('\n'));
  assert.equal(h.core(1).status().commitIndex, 2);
});

test('a heartbeat ack counts as ACCEPTED for the slots it reports held: a lost ACCEPTED costs no resend', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.cutLink(1, 3);
  h.propose(1, 'a', 'b');
  h.deliverOne((m) => m.to === 2 && m.type === T.ACCEPT);
  h.queue = h.queue.filter((m) => !(m.to === 1 && m.type === T.ACCEPTED)); // follower 2's ACCEPTED is lost
  assert.equal(h.core(1).status().commitIndex, 0);
  h.recording = true;
  h.tick(1, 2);
  h.deliver();
  assert.equal(h.core(1).status().commitIndex, 2, 'the durable range in the heartbeat ack completes the quorum');
  assert.equal(h.transcript.filter((l) => l.startsWith('1->2 ACCEPT')).length, 0);
});

test('takeCommitted: a slot chosen while the leader syncs is handed out at once, and only once', () => {
  const h = new PaxosHarness();
  h.elect(1);
  const leader = h.core(1);
  leader.propose([Buffer.from('a')]);
  const inFlight = leader.ready(); // the leader's own fsync of slot 1 is slow
  for (const m of inFlight.messagesBeforePersist) {
    h.core(m.to).step(m);
    h.process(m.to);
  }
  while (h.deliverOne((m) => m.to === 1)) {
    /* ACCEPTED from both followers: a quorum without the leader */
  }
  assert.deepEqual(leader.takeCommitted().map((e) => [e.slot, e.value.toString()]), [[1, 'a']]);
  assert.deepEqual(leader.takeCommitted(), []);
  leader.advance(inFlight);
  assert.deepEqual(drain(leader).committed, [], 'the next Ready does not hand slot 1 out again');
});

test('takeCommitted hands out nothing while a snapshot from a peer waits to be installed', () => {
  const c = new PaxosReplica(config(2));
  c.step(msg(T.HEARTBEAT, 1, 2, { ballot: b(1, 1), commitIndex: 5 }));
  drain(c);
  c.step(msg(T.SNAPSHOT, 1, 2, { ballot: b(1, 1), snapshot: { index: 5, data: Buffer.from('state@5') }, commitIndex: 5 }));
  c.step(msg(T.ACCEPT, 1, 2, { ballot: b(1, 1), entries: [entry(6, b(1, 1), 'f')], commitIndex: 6 }));
  assert.deepEqual(c.takeCommitted(), []);
  const rd = drain(c);
  assert.equal(rd.installSnapshot?.index, 5);
  assert.deepEqual(rd.committed.map((e) => e.slot), [6]);
});

test('safety net: a follower whose every ack is lost is resent its pipeline after an election timeout, not before', () => {
  const h = new PaxosHarness();
  h.elect(1);
  h.cutLink(2, 1); // nothing from follower 2 reaches the leader: no ACCEPTED, no heartbeat ack, no probe answer
  h.propose(1, 'a');
  h.deliver();
  h.recording = true;
  const acceptsTo2 = (): number => h.transcript.filter((l) => l.startsWith('1->2 ACCEPT')).length;
  for (let t = 1; t < 10; t++) {
    h.tick(1);
    h.deliver();
  }
  assert.equal(acceptsTo2(), 0, 'silence alone is not a loss before an election timeout');
  h.tick(1);
  h.deliver();
  assert.equal(acceptsTo2(), 1, 'resent once the pipeline made no progress for an election timeout');
  assert.equal(h.core(1).status().role, 'leader', 'follower 3 keeps the quorum');
});
