// BorgMetrics: typed observations land in the right series, cell gauges are computed at scrape time from the
// summary, each instance has its own registry, and nonsense values are bugs (assertions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../model/assert';
import { BorgMetrics, PassWindow } from './metrics';
import type { CellSummary } from './source';

const R = (cpuMillis: number) => ({ cpuMillis, ramBytes: cpuMillis * 1000, diskBytes: 0, ports: 0 });

function summary(pending: number): CellSummary {
  return {
    cell: 'c', timeMs: 0, appliedIndex: 77, machines: { UP: 5, DRAINING: 1, DOWN: 0 }, capacity: R(10_000), jobs: 2, sampledMachines: 6,
    bands: [{ band: 'prod', tasks: 3, limit: R(3000), reservation: R(2000), usage: R(1500), sampledTasks: 3 }],
    pendingByBand: { free: 0, batch: pending, mid: 0, prod: 0, monitoring: 0 }, tasks: { PENDING: pending, RUNNING: 3, DEAD: 0 }, unhealthy: 1,
    passes: { count: 0, lastSeconds: undefined, p50Seconds: undefined, p99Seconds: undefined, maxSeconds: undefined },
  };
}

test('observations and scrape-time gauges appear in the Prometheus text', async () => {
  let pending = 4;
  const m = new BorgMetrics({ summary: () => summary(pending), labels: { replica: '1' } });
  m.observePass(0.02);
  m.observePass(0.5);
  m.observePlacement(3);
  m.observeCommit(0.004);
  m.observePoll(2, 'ok');
  m.observePoll(9, 'timeout');
  m.setLogIndex(1234);
  m.countPreemptions(3);
  m.countOomKills(1);
  m.countOomKills(0);
  const text = await m.text();
  const line = (re: RegExp) => assert.match(text, re);
  line(/^borg_scheduler_pass_seconds_count\{replica="1"\} 2$/m);
  line(/^borg_scheduler_pass_seconds_bucket\{le="0\.025",replica="1"\} 1$/m);
  line(/^borg_scheduler_placement_seconds_count\{replica="1"\} 1$/m);
  line(/^borg_paxos_commit_seconds_count\{replica="1"\} 1$/m);
  line(/^borg_link_polls_total\{result="timeout",replica="1"\} 1$/m);
  line(/^borg_link_poll_interval_seconds_sum\{replica="1"\} 11$/m);
  line(/^borg_paxos_log_index\{replica="1"\} 1234$/m);
  line(/^borg_preemptions_total\{replica="1"\} 3$/m);
  line(/^borg_oom_kills_total\{replica="1"\} 1$/m);
  line(/^borg_pending_tasks\{band="batch",replica="1"\} 4$/m);
  line(/^borg_state_applied_index\{replica="1"\} 77$/m);
  line(/^borg_machines\{state="DRAINING",replica="1"\} 1$/m);
  line(/^borg_tasks_unhealthy\{replica="1"\} 1$/m);
  line(/^borg_allocated\{band="prod",resource="cpu_millis",kind="reservation",replica="1"\} 2000$/m);
  line(/^borg_usage\{band="prod",resource="ram_bytes",replica="1"\} 1500000$/m);
  line(/^borg_capacity\{resource="cpu_millis",replica="1"\} 10000$/m);
  // Gauges follow the state on every scrape.
  pending = 9;
  assert.match(await m.text(), /^borg_pending_tasks\{band="batch",replica="1"\} 9$/m);
  assert.match(m.contentType(), /^text\/plain/);
});

test('each BorgMetrics has its own registry', async () => {
  const a = new BorgMetrics();
  const b = new BorgMetrics();
  a.countPreemptions(5);
  assert.match(await a.text(), /^borg_preemptions_total 5$/m);
  assert.match(await b.text(), /^borg_preemptions_total 0$/m);
  assert.doesNotMatch(await b.text(), /borg_pending_tasks\{/, 'no summary bound, no cell series');
});

test('nonsense observations are assertions, not silent data', () => {
  const m = new BorgMetrics();
  for (const f of [() => m.observePass(-1), () => m.observeCommit(Number.NaN), () => m.setLogIndex(1.5), () => m.countPreemptions(-2), () => m.observePoll(Infinity)]) {
    assert.throws(f, AssertionError);
  }
});

test('PassWindow keeps the last passes and their percentiles', () => {
  const w = new PassWindow(4);
  assert.equal(w.latency().count, 0);
  for (const s of [0.1, 0.2, 0.3, 0.4, 0.5]) w.add(s);
  const l = w.latency();
  assert.equal(l.count, 5);
  assert.equal(l.lastSeconds, 0.5);
  assert.equal(l.maxSeconds, 0.5);
  assert.equal(l.p50Seconds, 0.3, 'window is 0.2..0.5');
  assert.equal(l.p99Seconds, 0.5);
});
