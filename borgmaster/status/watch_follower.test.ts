// followWatchHub over a real WatchHub: notices name what each applied entry changed; a cut-off follower tells
// pages to refresh everything and follows again, also when the hub was full for a while.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType } from '../../proto/index';
import { WatchHub } from '../api/watch_hub';
import { taskView } from '../state/index';
import { DrivenCell } from '../../test/support/status_cell';
import { CellStateSource } from './cell_source';
import { followWatchHub } from './watch_follower';
import type { ChangeNotice } from './source';

async function setup(hubOptions: ConstructorParameters<typeof WatchHub>[2] = {}): Promise<{ c: DrivenCell; hub: WatchHub; s: CellStateSource; got: ChangeNotice[] }> {
  const c = new DrivenCell('test');
  c.addMachine('m0');
  c.quota('alice', 200, { cpuMillis: 4000, ramBytes: 8 * 2 ** 30 });
  c.createJob({ name: 'web', user: 'alice', taskCount: 2 });
  await c.schedulePass();
  // A hub of our own, so its options (buffer, watcher bound) are the test's.
  const hub = new WatchHub(() => c.state, (t) => taskView(t, 'test'), hubOptions);
  const s = new CellStateSource({ state: () => c.state, replica: () => ({ cell: 'test', selfId: 1, leaderId: 1, authoritative: true, appliedIndex: c.state.appliedIndex, lagEntries: 0, replicas: [] }) });
  const got: ChangeNotice[] = [];
  s.subscribe((n) => got.push(n));
  return { c, hub, s, got };
}

test('each published entry becomes a notice naming its task, job and machine', async () => {
  const { c, hub, s, got } = await setup();
  const stop = followWatchHub(hub, s, () => c.state.appliedIndex);
  c.publishHub = false;
  const out = c.state.apply({ requestId: '', caller: '', timeMs: c.timeMs + 1, body: { $case: 'transitions', value: { transitions: [{ taskId: 'test/alice/web/0', event: EventType.FINISH, machine: '', specVersion: 0, victimTaskIds: [], exitCode: 0, restarts: 0, message: '' }] } } }, c.state.appliedIndex + 1);
  hub.publish(out.logIndex, [out.changes]);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]?.tasks, ['test/alice/web/0']);
  assert.deepEqual(got[0]?.jobs, ['test/alice/web']);
  assert.deepEqual(got[0]?.machines, ['m0']);
  stop();
  hub.publish(out.logIndex + 1, [out.changes]);
  assert.equal(got.length, 1, 'no notices after stop');
});

test('a cut-off follower asks pages to refresh all and follows again, waiting while the hub is full', async () => {
  const { c, hub, s, got } = await setup({ maxWatchers: 1 });
  const stop = followWatchHub(hub, s, () => c.state.appliedIndex);
  hub.reset(); // a checkpoint restore cuts every watcher off
  assert.equal(got.at(-1)?.all, true);
  await new Promise((r) => setImmediate(r));
  assert.equal(hub.watcherCount, 1, 'following again');
  // Cut off again while someone else takes the only slot: the follower retries instead of throwing.
  hub.reset();
  const other = hub.subscribe(c.state.appliedIndex);
  await new Promise((r) => setImmediate(r));
  assert.equal(hub.watcherCount, 1);
  hub.unsubscribe(other);
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(hub.watcherCount, 1, 'the follower took the slot back');
  stop();
  assert.equal(hub.watcherCount, 0);
});
