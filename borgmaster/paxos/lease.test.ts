// The leader's lease in ticks: never longer than the shortest real time a follower's grant can last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leaderLeaseTicks } from './lease';

test('leaderLeaseTicks: (leaseTicks - 1) follower periods, shrunk by the drift bound, rounded down', () => {
  const rows: [number, number, number][] = [
    [8, 0.05, 6],
    [8, 0, 7],
    [8, 0.2, 5],
    [3, 0, 2],
    [3, 0.5, 1],
    [20, 0.05, 18],
  ];
  for (const [lease, drift, want] of rows) assert.equal(leaderLeaseTicks(lease, drift), want, `lease ${lease}, drift ${drift}`);
});

test('leaderLeaseTicks is safe for every drift within the bound (exhaustive over small cases)', () => {
  // Worst case: the leader's period is (1 + drift) times the follower's, the follower's first tick comes at once,
  // and the leader reads just before its next tick: (k + 1) leader periods must fit in (lease - 1) follower ones.
  for (let lease = 2; lease <= 40; lease++) {
    for (const drift of [0, 0.01, 0.05, 0.1, 0.25, 0.49]) {
      const ll = leaderLeaseTicks(lease, drift);
      const k = ll - 1; // the last leader tick count at which the lease is used
      assert.ok((k + 1) * (1 + drift) <= lease - 1 + 1e-9, `lease ${lease}, drift ${drift}: ${ll} too long`);
      assert.ok((k + 2) * (1 + drift) > lease - 1, `lease ${lease}, drift ${drift}: ${ll} needlessly short`);
    }
  }
});
