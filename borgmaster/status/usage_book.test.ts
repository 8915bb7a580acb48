// UsageBook: newest sample wins, groups are summed as samples arrive and leave, and the book is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgument } from '../../model/errors';
import { UsageBook } from './usage_book';

const R = (cpuMillis: number) => ({ cpuMillis, ramBytes: 10 * cpuMillis, diskBytes: 0, ports: 0 });

test('newest sample wins; group sums follow records, replacements and forgets', () => {
  const b = new UsageBook();
  b.setClassifier((id) => (id.startsWith('p/') ? 'prod' : id.startsWith('x/') ? undefined : 'batch'));
  b.recordTask('p/1', R(100), 10);
  b.recordTask('p/2', R(50), 10);
  b.recordTask('b/1', R(7), 10);
  b.recordTask('x/1', R(1000), 10);
  assert.deepEqual(b.groupUsage('prod'), R(150));
  b.recordTask('p/1', R(30), 5); // older: ignored
  assert.deepEqual(b.task('p/1'), R(100));
  b.recordTask('p/1', R(30), 20);
  assert.deepEqual(b.groupUsage('prod'), R(80));
  b.forgetTask('p/2');
  assert.deepEqual(b.groupUsage('prod'), R(30));
  assert.deepEqual(b.groupUsage('batch'), R(7));
  assert.deepEqual(b.groupUsage('none'), R(0));
  // Regrouping recomputes from what is held.
  b.setClassifier(() => 'all');
  assert.deepEqual(b.groupUsage('all'), R(1037));
  const v = b.version;
  b.recordMachine('m1', R(5), 1);
  assert.ok(b.version > v);
  assert.deepEqual(b.machine('m1'), R(5));
});

test('the book is bounded: the stalest samples go first, and leave their group', () => {
  const b = new UsageBook(3);
  b.setClassifier(() => 'g');
  for (let i = 0; i < 5; i++) b.recordTask(`t/${i}`, R(1), i);
  assert.equal(b.size, 3);
  assert.equal(b.task('t/0'), undefined);
  assert.deepEqual(b.groupUsage('g'), R(3));
});

test('bad samples are refused with the field named', () => {
  const b = new UsageBook();
  assert.throws(() => b.recordTask('t/1', { cpuMillis: -1, ramBytes: 0, diskBytes: 0, ports: 0 }, 1), (e: unknown) => e instanceof InvalidArgument && /usage of t\/1\.cpuMillis/.test(e.message));
});

test('an unchanged sample only refreshes its time and keeps its group until the task is forgotten', () => {
  const b = new UsageBook();
  let group = 'batch';
  b.setClassifier(() => group);
  b.recordTask('t/1', R(10), 1);
  group = 'prod';
  b.recordTask('t/1', R(10), 2);
  assert.deepEqual([b.groupUsage('batch'), b.groupUsage('prod')], [R(10), R(0)], 'same usage: not classified again');
  b.recordTask('t/1', R(10), 1);
  b.forgetTask('t/1');
  b.recordTask('t/1', R(10), 3);
  assert.deepEqual([b.groupUsage('batch'), b.groupUsage('prod')], [R(0), R(10)], 'forgotten, then classified afresh');
  b.recordTask('t/1', R(20), 4);
  assert.deepEqual(b.groupUsage('prod'), R(20), 'a changed sample replaces the old one');
});

test('a machine that answers the same again is as recent as that answer; one never sampled stays unknown', () => {
  const b = new UsageBook();
  b.recordMachine('m1', R(5), 1000);
  b.touchMachine('m1', 3000);
  b.touchMachine('m1', 2000);
  assert.deepEqual([b.machineSample('m1')?.usage, b.machineSample('m1')?.sampledMs], [R(5), 3000]);
  b.touchMachine('m2', 3000);
  assert.equal(b.machineSample('m2'), undefined);
});

test('a replica shares its own samples once each, as they change; a peer keeps the newest and does not pass them on', () => {
  const a = new UsageBook();
  const peer = new UsageBook();
  peer.setClassifier(() => 'g');
  a.recordMachine('m1', R(5), 1000);
  a.recordTask('t/1', R(10), 1000);
  a.recordTask('t/2', R(20), 1000);
  const first = a.takeShare(100);
  assert.deepEqual(first, {
    machines: [{ machine: 'm1', usage: R(5), sampledMs: 1000 }],
    tasks: [
      { taskId: 't/1', usage: R(10), sampledMs: 1000 },
      { taskId: 't/2', usage: R(20), sampledMs: 1000 },
    ],
  });
  assert.equal(a.takeShare(100), undefined, 'nothing new: nothing to share');
  assert.equal(peer.acceptShare(first!), 0);
  assert.deepEqual([peer.task('t/2'), peer.groupUsage('g'), peer.groupTasks('g'), peer.machineSample('m1')?.sampledMs], [R(20), R(30), 2, 1000]);
  assert.equal(peer.takeShare(100), undefined, 'samples from a peer are not passed on');

  // An unchanged sample is not sent again (a machine that answered the same only moves its time); a changed one is.
  a.recordTask('t/1', R(10), 3000);
  a.touchMachine('m1', 3000);
  a.recordTask('t/2', R(25), 3000);
  const second = a.takeShare(100);
  assert.deepEqual([second?.machines, second?.tasks.map((t) => t.taskId)], [[], ['t/2']]);
  peer.acceptShare(second!);
  assert.deepEqual([peer.machineSample('m1')?.sampledMs, peer.groupUsage('g')], [1000, R(35)]);

  // Older samples lose to what the peer holds; bad ones are dropped alone and counted.
  const dropped = peer.acceptShare({
    machines: [{ machine: 'm1', usage: R(1), sampledMs: 500 }],
    tasks: [
      { taskId: 't/1', usage: R(-1), sampledMs: 4000 },
      { taskId: 't/3', usage: R(1), sampledMs: Number.NaN },
      { taskId: 't/4', usage: R(4), sampledMs: 4000 },
    ],
  });
  assert.equal(dropped, 2);
  assert.deepEqual([peer.machine('m1'), peer.task('t/1'), peer.task('t/3'), peer.task('t/4')], [R(5), R(10), undefined, R(4)]);
});

test('a share is bounded; a refresh goes round every own sample a slice at a time; a forgotten task is not sent', () => {
  const a = new UsageBook();
  for (let i = 0; i < 5; i++) a.recordTask(`t/${i}`, R(i + 1), 10);
  a.forgetTask('t/4');
  assert.deepEqual(a.takeShare(3)?.tasks.map((t) => t.taskId), ['t/0', 't/1', 't/2']);
  assert.deepEqual(a.takeShare(3)?.tasks.map((t) => t.taskId), ['t/3']);
  a.recordMachine('m1', R(1), 10);
  // A peer's sample of t/0 newer than ours makes it the peer's: refreshes leave it out.
  a.acceptShare({ machines: [], tasks: [{ taskId: 't/0', usage: R(9), sampledMs: 20 }] });
  const ids = (s: ReturnType<UsageBook['refreshShare']>) => [...(s?.machines.map((m) => m.machine) ?? []), ...(s?.tasks.map((t) => t.taskId) ?? [])];
  // m1 changed and waits for takeShare: the refresh does not send it twice.
  assert.deepEqual([ids(a.refreshShare(2, 100)), ids(a.refreshShare(2, 100)), ids(a.refreshShare(2, 100))], [['t/1', 't/2'], ['t/3'], ['t/1', 't/2']]);
  a.takeShare(100);
  assert.deepEqual(ids(a.refreshShare(1, 100)), ['m1', 't/3', 't/1', 't/2'], 'all of it in one round, from where the last stopped');
  assert.deepEqual(ids(a.refreshShare(1, 2)), ['m1', 't/3'], 'at most max');
});
