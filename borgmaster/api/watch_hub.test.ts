// WatchHub without a network: snapshots come in bounded parts that add up to the whole cell, resume replays only
// what came after, a resume point older than the history falls back to a snapshot, one slot's commands become one
// event, a full queue cuts the watcher off, and the number of watchers is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState, bodies, command, jobSpec, machine, taskView, type Changes } from '../state/index';
import { PriorityBand, type WatchEvent } from '../../proto/index';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GiB, MiB } from '../../model/resources';
import { WatchHub, Watcher } from './watch_hub';

function setup(options: ConstructorParameters<typeof WatchHub>[2] = {}) {
  const state = new CellState('test');
  const hub = new WatchHub(() => state, (t) => taskView(t, 'test'), options);
  let index = 0;
  const slot = (...bs: Parameters<typeof command>[0][]) => {
    index++;
    const changes: Changes[] = bs.map((b) => state.apply(command(b, { timeMs: 1000 + index }), index).changes);
    hub.publish(index, changes);
    return index;
  };
  slot(bodies.registerMachine(machine('m0')), bodies.registerMachine(machine('m1')));
  slot(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 8000, ramBytes: 32 * GiB, diskBytes: 0, ports: 0 }));
  return { state, hub, slot };
}

const small = (name: string, taskCount = 1) => jobSpec({ cell: 'test', name, taskCount, priority: 0, task: { requirements: { cpuMillis: 10, ramBytes: MiB, diskBytes: 0, ports: 0 } } });

test('snapshot parts are bounded and add up to the whole cell; one slot is one event', () => {
  const { hub, slot } = setup({ snapshotPartItems: 10 });
  const i = slot(bodies.createJob(small('a', 12)), bodies.createJob(small('b', 3)));
  const w = hub.subscribe(0);
  const parts = [];
  for (let ev = w.take(); ev !== undefined; ev = w.take()) parts.push(ev);
  assert.ok(parts.length >= 2);
  assert.ok(parts.every((p) => p.snapshot && p.logIndex === i && p.jobs.length + p.tasks.length + p.machines.length <= 10));
  assert.deepEqual(parts.map((p) => p.snapshotPart), parts.map((_, k) => k));
  assert.deepEqual(parts.map((p) => p.snapshotLast), parts.map((_, k) => k === parts.length - 1));
  assert.equal(parts.reduce((n, p) => n + p.tasks.length, 0), 15);
  assert.equal(parts.reduce((n, p) => n + p.machines.length, 0), 2);
  assert.equal(w.lastLogIndex, i);
  // Live: two commands in one slot arrive as one event.
  const j = slot(bodies.createJob(small('c')), bodies.killJob('alice', 'a'));
  const ev = w.take();
  assert.ok(ev && !ev.snapshot && ev.logIndex === j);
  assert.deepEqual(ev.tasks.map((t) => t.id), ['test/alice/c/0']);
  assert.deepEqual(ev.deletedJobIds, ['test/alice/a']);
  assert.equal(ev.deletedTaskIds.length, 12);
  assert.equal(w.take(), undefined);
});

test('resume replays the history after the index; an index older than the history gets a snapshot', () => {
  const { hub, slot } = setup({ historyEntries: 3 });
  const marks = [slot(bodies.createJob(small('a'))), slot(bodies.createJob(small('b'))), slot(bodies.createJob(small('c'))), slot(bodies.createJob(small('d')))];
  const w = hub.subscribe(marks[1] as number);
  assert.deepEqual([w.take()?.logIndex, w.take()?.logIndex, w.take()], [marks[2], marks[3], undefined]);
  const old = hub.subscribe(1);
  const first = old.take();
  assert.ok(first?.snapshot, 'history no longer reaches back to index 1');
  assert.equal(first.jobs.length, 4);
  // An index in the future (a follower behind the replica the client saw) waits for it.
  const ahead = hub.subscribe((marks[3] as number) + 1);
  slot(bodies.createJob(small('e')));
  assert.equal(ahead.take(), undefined);
  slot(bodies.createJob(small('f')));
  assert.equal(ahead.take()?.jobs[0]?.spec?.name, 'f');
});

test('a full queue cuts the watcher off with the index to resume from; watchers are bounded', () => {
  const { hub, slot } = setup({ bufferEvents: 2, maxWatchers: 2 });
  const start = slot(bodies.noop());
  const w = hub.subscribe(start);
  slot(bodies.createJob(small('a')));
  assert.equal(w.take()?.jobs.length, 1);
  slot(bodies.createJob(small('b')));
  slot(bodies.createJob(small('c')));
  assert.equal(w.cutOff, undefined);
  slot(bodies.createJob(small('d')));
  const cut = w.cutOff as { code: string; reason: string } | undefined;
  assert.equal(cut?.code, 'resource_exhausted');
  assert.match(cut?.reason ?? '', /fell 2 events behind \(limit 2\); watch again from log index \d+/);
  assert.equal(w.queued, 0, 'its queue is dropped at once');
  assert.equal(hub.watcherCount, 0);
  hub.subscribe(0);
  hub.subscribe(0);
  assert.throws(() => hub.subscribe(0), /already serves 2 watchers \(limit 2\)/);
});

test('a taken event is no longer held by the watcher (thousands of rendered tasks must not outlive their delivery)', async () => {
  const w = new Watcher(100, 0);
  let ev: WatchEvent | undefined = { logIndex: 1, snapshot: false, jobs: [], tasks: [], machines: [], deletedTaskIds: [], deletedJobIds: [], events: [], snapshotPart: 0, snapshotLast: false, cellTimeMs: 0 };
  const ref = new WeakRef(ev);
  w.offer(ev);
  w.offer({ ...ev, logIndex: 2 });
  assert.equal(w.take()?.logIndex, 1);
  ev = undefined;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(ref.deref(), undefined, 'the first event was collected while the second still waits');
  assert.equal(w.queued, 1);
  assert.equal(w.take()?.logIndex, 2);
  assert.equal(w.take(), undefined);
});
