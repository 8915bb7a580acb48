import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from './clock';
import { SeededRng, shuffle } from './rng';

test('SeededRng: same seed, same stream; different seeds differ; int stays in range', () => {
  const a = new SeededRng(42);
  const b = new SeededRng(42);
  const c = new SeededRng(43);
  const xs = Array.from({ length: 100 }, () => a.u32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.u32()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.u32()));
  const r = new SeededRng(7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const v = r.int(10);
    assert.ok(v >= 0 && v < 10);
    counts[v]!++;
  }
  for (const n of counts) assert.ok(n > 850 && n < 1150, `roughly uniform: ${counts.join(',')}`);
  assert.deepEqual(shuffle([1, 2, 3, 4, 5], new SeededRng(1)), shuffle([1, 2, 3, 4, 5], new SeededRng(1)));
  assert.equal(new SeededRng(5).fork('x').next(), new SeededRng(5).fork('x').next());
  assert.notEqual(new SeededRng(5).fork('x').next(), new SeededRng(5).fork('y').next());
});

test('VirtualClock fires timers in time order, only when advanced', () => {
  const clock = new VirtualClock(1000);
  const fired: string[] = [];
  clock.after(20, () => fired.push('b'));
  clock.after(10, () => {
    fired.push('a');
    clock.after(5, () => fired.push('a2'));
  });
  const cancel = clock.after(12, () => fired.push('cancelled'));
  cancel();
  assert.deepEqual(fired, []);
  clock.advance(15);
  assert.deepEqual(fired, ['a', 'a2']);
  assert.equal(clock.nowMs(), 1015);
  clock.advance(100);
  assert.deepEqual(fired, ['a', 'a2', 'b']);
  assert.equal(clock.pendingTimers(), 0);
});
