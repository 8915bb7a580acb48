// Tables for the small pure rules: ballots, restart policy and back-off, health checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeBallot, compareBallots } from './ballot';
import { afterExit, forgives } from './restart_policy';
import { backoffAfter } from '../model/restart';
import { healthStep } from './health';
import { EventType } from '../model/task_state';
import type { RestartRule } from './spec';

test('ballots: older refused, equal accepted, newer accepted and persisted', () => {
  const seen = { round: 5, replica: 2 };
  const rows = [
    { b: { round: 4, replica: 3 }, want: 'refuse' },
    { b: { round: 5, replica: 1 }, want: 'refuse' },
    { b: { round: 5, replica: 2 }, want: 'accept' },
    { b: { round: 5, replica: 3 }, want: 'accept+newer' },
    { b: { round: 6, replica: 0 }, want: 'accept+newer' },
  ];
  for (const r of rows) {
    const v = judgeBallot(seen, r.b);
    assert.equal(v.kind === 'refuse' ? 'refuse' : v.newer ? 'accept+newer' : 'accept', r.want, JSON.stringify(r.b));
  }
  assert.equal(compareBallots({ round: 1, replica: 9 }, { round: 2, replica: 0 }), -1);
});

test('restart policy: who restarts, when, and when it gives up', () => {
  const rule = (kind: RestartRule['kind'], maxRestarts = 0): RestartRule => ({ kind, maxRestarts, backoffInitialMs: 100, backoffMaxMs: 1000, resetAfterMs: 60_000 });
  const ok = { code: 0, signal: null, oomKilled: false };
  const bad = { code: 3, signal: null, oomKilled: false };
  const oom = { code: null, signal: 'SIGKILL', oomKilled: true };
  const rows = [
    { r: rule('on_failure'), e: ok, n: 0, want: 'dead FINISH' },
    { r: rule('on_failure'), e: bad, n: 0, want: 'restart 100 FAIL' },
    { r: rule('on_failure'), e: oom, n: 2, want: 'restart 400 FAIL' },
    { r: rule('always'), e: ok, n: 5, want: 'restart 1000 FINISH' },
    { r: rule('never'), e: bad, n: 0, want: 'dead FAIL' },
    { r: rule('always', 3), e: bad, n: 3, want: 'dead FAIL' },
    { r: rule('always', 3), e: bad, n: 2, want: 'restart 400 FAIL' },
  ];
  for (const row of rows) {
    const a = afterExit(row.r, row.e, row.n);
    const got = a.kind === 'restart' ? `restart ${a.delayMs} ${EventType[a.event]}` : `dead ${EventType[a.event]}`;
    assert.equal(got, row.want, JSON.stringify(row));
  }
  assert.equal(backoffAfter(rule('always'), 1000), 1000, 'back-off is capped, even after many restarts');
  // A run of at least resetAfterMs forgives the ones before it; a shorter one does not.
  assert.equal(forgives(rule('always'), 5_000, 65_000), true);
  assert.equal(forgives(rule('always'), 5_000, 64_999), false);
});

test('health: consecutive failures trigger a restart, a success resets', () => {
  const rule = { path: '/h', port: 1, intervalMs: 100, timeoutMs: 50, failuresBeforeRestart: 3 };
  let s = { failures: 0, healthy: true };
  const seq = [false, false, true, false, false, false];
  const restarts = seq.map((ok) => {
    const r = healthStep(s, ok, rule);
    s = r.state;
    return r.restart;
  });
  assert.deepEqual(restarts, [false, false, false, false, false, true]);
  assert.equal(s.healthy, false);
});
