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
  assert.deepEqual(b.machineSample('m1'), { usage: R(5), sampledMs: 3000 });
  b.touchMachine('m2', 3000);
  assert.equal(b.machineSample('m2'), undefined);
});
