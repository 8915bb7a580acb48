// Rendering tests of the pure page functions: hostile user values come out as text on every page that shows
// them, the replica badge says who is authoritative, charts and pagers compute what they draw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB } from '../../model/resources';
import { bandChart, DIMENSIONS } from './charts';
import { cpu, percent, ago } from './format';
import { layout, replicaBadge, type PageContext } from './pages/layout';
import { pager } from './pages/components';
import { taskPage } from './pages/task';
import { jobPage } from './pages/job';
import { eventsPage } from './pages/events';
import { cellPage } from './pages/cell';
import { machinesPage } from './pages/machines';
import { html } from './escape';
import type { BandResources, CellSummary, JobDetail, ReplicaInfo, TaskDetail, TaskRow } from './source';

const EVIL = '<img src=x onerror=alert(1)>';
const EVIL_TEXT = '&lt;img src=x onerror=alert(1)&gt;';
const R = (cpuMillis: number, ramBytes = 0) => ({ cpuMillis, ramBytes, diskBytes: 0, ports: 0 });

const leader: ReplicaInfo = { cell: 'test', selfId: 1, leaderId: 1, authoritative: true, appliedIndex: 42, lagEntries: 0, replicas: [] };
const ctx: PageContext = { replica: leader, path: '/' };

function taskRow(partial: Partial<TaskRow> = {}): TaskRow {
  return {
    id: 'test/alice/web/0', user: 'alice', job: 'web', index: 0, priority: 200, band: 'prod', state: 'RUNNING', lastEvent: 'SCHEDULE', machine: 'm0',
    limit: R(1000, GiB), reservation: R(1000, GiB), usage: undefined, restarts: 0, healthy: true, healthTimeMs: 1, specVersion: 1, stateTimeMs: 1, startTimeMs: 1, bnsName: '0.web.alice.test.borg', ports: [], message: '',
    ...partial,
  };
}

function assertNoRawEvil(markup: string): void {
  assert.equal(markup.includes(EVIL), false, 'the raw value never appears');
  assert.equal(/<img/i.test(markup), false, 'no img element');
}

test('task page: env, args, message, log tail and why-pending are text', () => {
  const d: TaskDetail = {
    task: taskRow({ message: EVIL, state: 'PENDING', machine: '' }),
    spec: { command: '/bin/x', args: [EVIL], env: { K: EVIL }, workingDir: '', constraints: [], restartPolicy: 'default', healthCheck: '' },
    whyPending: `0/3 machines feasible: ${EVIL}`,
    notBeforeMs: 0,
    exitCode: 0,
    events: [{ timeMs: 1, logIndex: 1, taskId: 'test/alice/web/0', type: 'SUBMIT', machine: '', user: 'alice', job: 'web', priority: 200, message: EVIL }],
  };
  const out = taskPage(d, { kind: 'ok', tail: { text: `${EVIL}\n`, truncated: false } }, 10, ctx).value;
  assertNoRawEvil(out);
  assert.ok(out.split(EVIL_TEXT).length - 1 >= 5, 'each value shows, escaped');
  assert.match(out, /id="why-pending"><b>Why pending\?<\/b> 0\/3 machines feasible/);
  assert.match(out, /data-watch="task:test\/alice\/web\/0"/);
  const err = taskPage(d, { kind: 'error', message: EVIL }, 10, ctx).value;
  assertNoRawEvil(err);
});

test('job page: annotations and template are text; BNS names listed', () => {
  const d: JobDetail = {
    job: { id: 'test/alice/web', user: 'alice', name: 'web', priority: 200, band: 'prod', taskCount: 2, running: 2, healthy: 1, atVersion: 1, rolloutDown: 1, pending: 0, dead: 0, specVersion: 2, createdMs: 1 },
    rolloutDownTasks: [1],
    annotations: { [EVIL]: EVIL },
    spec: { command: EVIL, args: [], env: { A: EVIL }, workingDir: EVIL, constraints: [EVIL], restartPolicy: 'default', healthCheck: 'GET /healthz on port index 0 every 10s (timeout 1s); restarted after 3 failures in a row' },
    maxTasksDown: 1,
  };
  const out = jobPage(d, { rows: [taskRow(), taskRow({ id: 'test/alice/web/1', index: 1, healthy: false })], total: 2, offset: 0, limit: 100 }, { sort: 'id', dir: 'asc', offset: 0, limit: 100 }, 10, ctx).value;
  assertNoRawEvil(out);
  assert.match(out, /0\.web\.alice\.test\.borg/);
  // Health: the job's count, each running task's badge only when not healthy, and the spec's check spelled out.
  assert.match(out, /2 running<\/a> \(1 healthy\)/);
  assert.match(out, /<td id="rollout"><span class="warnc">1 of 2 tasks at version 2; waiting for task <a href="\/task\/alice\/web\/1">1<\/a> to run healthy before taking down more/);
  assert.match(out, /data-task="test\/alice\/web\/1">((?!<\/tr>).)*<span class="st st-running">RUNNING<\/span> <span class="st st-unhealthy">UNHEALTHY<\/span>/);
  assert.doesNotMatch(out, /data-task="test\/alice\/web\/0">((?!<\/tr>).)*UNHEALTHY/);
  assert.match(out, /<th>health check<\/th><td>GET \/healthz on port index 0 every 10s \(timeout 1s\); restarted after 3 failures in a row/);
});

test('events page: messages are text; filter values are echoed escaped', () => {
  const out = eventsPage(
    { rows: [{ timeMs: 1, logIndex: 1, taskId: 'test/a/b/0', type: 'FAIL', machine: 'm0', user: 'a', job: 'b', priority: 1, message: EVIL }], total: 1, offset: 0, limit: 100 },
    { offset: 0, limit: 100, user: EVIL, job: '"><script>' },
    ['SUBMIT', 'FAIL'],
    ctx,
  ).value;
  assertNoRawEvil(out);
  assert.equal(out.includes('"><script>'), false);
});

test('the replica badge marks the leader authoritative and a follower with its lag', () => {
  assert.match(replicaBadge(leader).value, /leader · authoritative/);
  const f = replicaBadge({ ...leader, selfId: 2, authoritative: false, lagEntries: 17 }).value;
  assert.match(f, /follower · 17 entries behind · leader is replica 1/);
  assert.match(replicaBadge({ ...leader, selfId: 2, authoritative: false, leaderId: undefined }).value, /no leader known/);
  assert.match(layout(ctx, EVIL, '*', html``).value, /<title>&lt;img/);
});

test('bandChart stacks one segment per non-empty band and marks the capacity', () => {
  const bands: BandResources[] = [
    { band: 'batch', tasks: 1, limit: R(1000), reservation: R(500), usage: R(100), sampledTasks: 1 },
    { band: 'prod', tasks: 1, limit: R(3000), reservation: R(3000), usage: R(0), sampledTasks: 0 },
    { band: 'free', tasks: 0, limit: R(0), reservation: R(0), usage: R(0), sampledTasks: 0 },
  ];
  const dim = DIMENSIONS[0];
  assert.ok(dim !== undefined);
  const svg = bandChart(dim, R(8000), bands).value;
  assert.equal((svg.match(/<rect [^>]*fill=/g) ?? []).length, 5, 'limits 2 + reservations 2 + usage 1');
  assert.match(svg, /class="capline"/);
  assert.match(svg, />50%</, 'limits total 4 of 8 cores');
});

test('cell page renders tiles, charts for four resources and the replica table', () => {
  const s: CellSummary = {
    cell: 'test', timeMs: 1, appliedIndex: 42, machines: { UP: 3, DRAINING: 1, DOWN: 2 }, capacity: R(8000, 8 * GiB), jobs: 1,
    sampledMachines: 2,
    bands: [{ band: 'prod', tasks: 1, limit: R(1000), reservation: R(1000), usage: R(10), sampledTasks: 1 }],
    pendingByBand: { free: 0, batch: 2, mid: 0, prod: 0, monitoring: 0 }, tasks: { PENDING: 2, RUNNING: 1, DEAD: 0 }, unhealthy: 0,
    passes: { count: 0, lastSeconds: undefined, p50Seconds: undefined, p99Seconds: undefined, maxSeconds: undefined },
  };
  const out = cellPage(s, { ...ctx, replica: { ...leader, replicas: [{ id: 1, address: EVIL, leader: true, reachable: true, logIndex: 42, appliedIndex: 42, lag: 0, statusUrl: '' }] } }).value;
  assert.equal((out.match(/<svg role="img"/g) ?? []).length, 4);
  assertNoRawEvil(out);
  assert.match(out, /<span class="v">2<\/span><span class="l">down<\/span>/);
  assert.match(out, /the latest samples of 1 of 1 running tasks, on 2 of 4 machines up/, 'says how much of the cell the use columns cover');
});

test('machines page filters, sorts by name and pages', () => {
  const m = (name: string, state: 'UP' | 'DOWN') => ({ name, address: '', state, rack: 'r', powerDomain: 'p', capacity: R(1000, GiB), allocatedLimit: R(500), allocatedReservation: R(0), usage: undefined, tasks: 0, generation: 1, attributes: {} });
  const out = machinesPage([m('b', 'UP'), m('a', 'UP'), m('c', 'DOWN')], { state: 'UP', q: undefined, offset: 0, limit: 100 }, ctx).value;
  assert.ok(out.indexOf('/machine/a') < out.indexOf('/machine/b'));
  assert.equal(out.includes('/machine/c'), false);
});

test('pager and format helpers', () => {
  const p = pager('/tasks', { state: 'RUNNING' }, { rows: [1, 2], total: 250, offset: 100, limit: 100 }).value;
  assert.match(p, /101–102 of <b class="total">250<\/b>/);
  assert.match(p, /page 2 of 3/);
  assert.match(p, /href="\/tasks\?state=RUNNING&amp;page=3" rel="next"/);
  assert.deepEqual([cpu(250), cpu(1000), cpu(1500), cpu(4001), cpu(6250), cpu(12_000), cpu(158_400_000)], ['250m', '1 core', '1.5 cores', '4.001 cores', '6.25 cores', '12 cores', '158,400 cores']);
  assert.deepEqual([percent(0, 10), percent(1, 1000), percent(5, 10), percent(1, 0)], ['0%', '<1%', '50%', '∞']);
  assert.deepEqual([ago(0, 5), ago(1000, 61_000), ago(0 + 1, 3_600_001 + 120_000)], ['-', '1m0s', '1h2m']);
});
