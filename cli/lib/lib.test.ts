// Unit tests of the CLI library's pure parts: the flag parser, tables and JSON lines, exit codes, the client's
// retry decisions, job and task references, request ids, job states, spec diffs and small formatters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BorgError, InvalidArgument, NotLeader } from '../../model/errors';
import { EXIT, exitCodeFor } from '../registry';
import { jobSpec } from '../../borgmaster/state/index';
import { afterFailure, backoffMs, defaultUser } from './client';
import { expectPositionals, flagHelp, parseFlags } from './flags';
import { jobCounts, jobJson, jobState, rolloutText } from './jobs';
import { age, jsonLines, table } from './output';
import { isTaskRef, parseJobRef, parseTaskRef } from './refs';
import { killRequestId, submitRequestId, updateRequestId } from './request_ids';
import { specDiff } from './spec_diff';
import { abbreviate } from '../commands/why';
import { lastLines } from '../commands/logs';
import { parseBand, parseLimit } from '../commands/quota';
import { parseEventType } from '../commands/events';
import { replicaRows } from '../commands/cell';
import { Constraint_Op, EventType, MachineState, PriorityBand, type CellStatusResponse, type Machine } from '../../proto/index';
import { fitGuidance } from './guidance';

const specs = {
  cell: { kind: 'string', value: 'FILE', help: 'cell' },
  master: { kind: 'string', multiple: true, help: 'replicas' },
  json: { kind: 'boolean', help: 'json' },
  tail: { kind: 'int', help: 'lines' },
  timeout: { kind: 'duration', help: 'deadline' },
  help: { kind: 'boolean', short: 'h', help: 'help' },
} as const;

test('parseFlags: values, forms and positionals', () => {
  const cases: [string[], Record<string, unknown>, string[]][] = [
    [[], { cell: undefined, master: [], json: false, tail: undefined, timeout: undefined, help: false }, []],
    [['a', '--json', 'b'], { json: true }, ['a', 'b']],
    [['--cell', 'x.yaml', 'f'], { cell: 'x.yaml' }, ['f']],
    [['--cell=x.yaml'], { cell: 'x.yaml' }, []],
    [['--master', 'a:1', '--master=b:2,c:3'], { master: ['a:1', 'b:2', 'c:3'] }, []],
    [['--tail', '20'], { tail: 20 }, []],
    [['--timeout', '2s'], { timeout: 2000 }, []],
    [['--timeout', '500ms'], { timeout: 500 }, []],
    [['-h'], { help: true }, []],
    [['--json=false'], { json: false }, []],
    [['--', '--json', '-'], { json: false }, ['--json', '-']],
    [['-'], {}, ['-']],
  ];
  for (const [args, want, pos] of cases) {
    const p = parseFlags(args, specs);
    for (const [k, v] of Object.entries(want)) assert.deepEqual((p.flags as Record<string, unknown>)[k], v, `${args.join(' ')}: ${k}`);
    assert.deepEqual(p.positionals, pos, args.join(' '));
  }
});

test('parseFlags: bad input names the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--jsno'], /^--jsno: unknown option; did you mean --json\?$/],
    [['--frobnicate'], /^--frobnicate: unknown option$/],
    [['-x'], /^-x: unknown option/],
    [['--cell'], /^--cell: needs a value \(FILE\)$/],
    [['--cell', '--json'], /^--cell: needs a value/],
    [['--tail', 'ten'], /^--tail: must be an integer, got "ten"$/],
    [['--timeout', '10'], /^--timeout: "10" is not a duration/],
    [['--cell', 'a', '--cell', 'b'], /^--cell: is given twice$/],
    [['--json=yes'], /^--json: takes no value/],
    [['--cell='], /^--cell: must not be empty$/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseFlags(args, specs), (e: unknown) => e instanceof InvalidArgument && re.test(e.message), args.join(' '));
    try {
      parseFlags(args, specs);
    } catch (e: unknown) {
      assert.equal(exitCodeFor(e), EXIT.badInput);
    }
  }
});

test('expectPositionals and flagHelp', () => {
  assert.deepEqual(expectPositionals(['a'], ['FILE'], 0), ['a']);
  assert.deepEqual(expectPositionals([], ['JOB'], 1), []);
  assert.throws(() => expectPositionals([], ['FILE'], 0, 'borg submit FILE'), /^Error|FILE: is required \(usage: borg submit FILE\)$/);
  assert.throws(() => expectPositionals(['a', 'b'], ['FILE'], 0), /"b": unexpected argument/);
  const h = flagHelp(specs);
  assert.match(h, /^ {2}--cell FILE {9}cell$/m);
  assert.match(h, /^ {2}-h, --help {10}help$/m);
  assert.match(h, /^ {2}--timeout DURATION {2}deadline$/m);
});

test('table aligns columns, right-aligns numbers, shows - for empty and keeps one row per line', () => {
  const rows = [
    { name: 'web', n: 3, msg: 'ok' },
    { name: 'batch-job', n: 12, msg: 'line one\nline two' },
    { name: 'x', n: 0, msg: '' },
  ];
  const t = table(rows, [
    { header: 'JOB', value: (r) => r.name },
    { header: 'TASKS', value: (r) => r.n, right: true },
    { header: 'INFO', value: (r) => r.msg },
  ]);
  assert.equal(t, ['JOB        TASKS  INFO', 'web            3  ok', 'batch-job     12  line one line two', 'x              0  -'].join('\n'));
});

test('jsonLines is one JSON document with one item per line', () => {
  assert.equal(jsonLines([]), '[]');
  const s = jsonLines([{ a: 1 }, { b: 'x' }]);
  assert.equal(s, '[\n{"a":1},\n{"b":"x"}\n]');
  assert.deepEqual(JSON.parse(s), [{ a: 1 }, { b: 'x' }]);
});

test('exit codes: bad input 2, refused 3, unreachable 4, internal 1', () => {
  const cases: [unknown, number][] = [
    [new InvalidArgument('spec.name', 'is required'), EXIT.badInput],
    [new BorgError('not_found', 'job x not found'), EXIT.badInput],
    [new BorgError('already_exists', 'job x'), EXIT.badInput],
    [new BorgError('permission_denied', 'no'), EXIT.refused],
    [new BorgError('unauthenticated', 'no'), EXIT.refused],
    [new BorgError('resource_exhausted', 'quota'), EXIT.refused],
    [new BorgError('failed_precondition', 'down'), EXIT.refused],
    [new BorgError('unavailable', 'gone'), EXIT.unreachable],
    [new BorgError('deadline_exceeded', 'slow'), EXIT.unreachable],
    [new NotLeader(undefined), EXIT.unreachable],
    [new BorgError('internal', 'bug'), EXIT.internal],
    [new Error('plain'), EXIT.internal],
  ];
  for (const [e, code] of cases) assert.equal(exitCodeFor(e), code, String(e));
});

test('afterFailure: follow redirects, retry unavailability, fail on answers', () => {
  assert.deepEqual(afterFailure(new NotLeader('127.0.0.1:7101'), '127.0.0.1:7102'), { kind: 'redirect', address: '127.0.0.1:7101' });
  assert.deepEqual(afterFailure(new NotLeader('127.0.0.1:7101'), '127.0.0.1:7101'), { kind: 'retry' }, 'a redirect to itself is not followed');
  assert.deepEqual(afterFailure(new NotLeader(undefined), 'a:1'), { kind: 'retry' });
  assert.deepEqual(afterFailure(new BorgError('unavailable', 'x'), 'a:1'), { kind: 'retry' });
  assert.deepEqual(afterFailure(new BorgError('deadline_exceeded', 'x'), 'a:1'), { kind: 'retry' });
  for (const code of ['invalid_argument', 'not_found', 'already_exists', 'permission_denied', 'unauthenticated', 'resource_exhausted', 'failed_precondition', 'aborted', 'internal'] as const) {
    assert.deepEqual(afterFailure(new BorgError(code, 'x'), 'a:1'), { kind: 'fail' }, code);
  }
  assert.deepEqual([0, 1, 2, 3, 4, 5, 20].map(backoffMs), [50, 100, 200, 400, 800, 1000, 1000]);
});

test('defaultUser: --user, then $BORG_USER, then ubar; names are checked', () => {
  assert.equal(defaultUser(undefined, {}), 'ubar');
  assert.equal(defaultUser(undefined, { BORG_USER: 'ann' }), 'ann');
  assert.equal(defaultUser('bob', { BORG_USER: 'ann' }), 'bob');
  assert.throws(() => defaultUser('Bad User', {}), /--user: "Bad User" is not a valid name/);
  assert.throws(() => defaultUser(undefined, { BORG_USER: 'X' }), /BORG_USER: "X" is not a valid name/);
});

test('job and task references', () => {
  assert.deepEqual(parseJobRef('web', 'ubar', 'local'), { cell: 'local', user: 'ubar', job: 'web' });
  assert.deepEqual(parseJobRef('ann/web', 'ubar', 'local'), { cell: 'local', user: 'ann', job: 'web' });
  assert.deepEqual(parseJobRef('local/ann/web', 'ubar', 'local'), { cell: 'local', user: 'ann', job: 'web' });
  assert.deepEqual(parseJobRef('web.ann.local.borg', 'ubar', 'local'), { cell: 'local', user: 'ann', job: 'web' });
  assert.throws(() => parseJobRef('west/ann/web', 'ubar', 'local'), /JOB: names cell "west", but the target is cell "local"/);
  assert.throws(() => parseJobRef('a/b/c/d', 'ubar', 'local'), /is not job, user\/job or cell\/user\/job/);
  assert.throws(() => parseJobRef('0.web.ann.local.borg', 'ubar', 'local'), /names a task/);
  assert.equal(parseTaskRef('web/0', 'ubar', 'local'), 'local/ubar/web/0');
  assert.equal(parseTaskRef('ann/web/3', 'ubar', 'local'), 'local/ann/web/3');
  assert.equal(parseTaskRef('local/ann/web/3', 'ubar', 'local'), 'local/ann/web/3');
  assert.equal(parseTaskRef('2.web.ann.local.borg', 'ubar', 'local'), 'local/ann/web/2');
  assert.throws(() => parseTaskRef('web', 'ubar', 'local'), /TASK: "web" is not job\/index/);
  assert.throws(() => parseTaskRef('web/x', 'ubar', 'local'), /TASK index: "x" is not a task index/);
  assert.deepEqual(['web/0', 'ann/web/1', '0.web.ann.local.borg', 'web', 'ann/web', 'web.ann.local.borg'].map(isTaskRef), [true, true, true, false, false, false]);
});

test('request ids are deterministic, distinct per spec, generation and version, and within the master bounds', () => {
  const a = jobSpec({ cell: 'local', user: 'ubar', name: 'web' });
  const b = jobSpec({ cell: 'local', user: 'ubar', name: 'web', taskCount: 2 });
  assert.equal(submitRequestId(a, 0), submitRequestId(jobSpec({ cell: 'local', user: 'ubar', name: 'web' }), 0));
  const ids = [submitRequestId(a, 0), submitRequestId(a, 1), submitRequestId(b, 0), updateRequestId(a, 1), updateRequestId(a, 2), killRequestId('ubar', 'web', 1), killRequestId('ubar', 'web', 2)];
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[!-~]{1,128}$/);
  const long = jobSpec({ cell: 'local', user: 'u'.repeat(63), name: 'j'.repeat(63) });
  assert.ok(submitRequestId(long, 63).length <= 128);
});

test('job state and counts: only states with tasks are named, so grep finds running jobs only', () => {
  const cases: [number, number, number, number, string, Record<string, number>][] = [
    [3, 3, 0, 0, 'RUNNING', { RUNNING: 3 }],
    [3, 1, 2, 0, 'PARTLY RUNNING', { RUNNING: 1, PENDING: 2 }],
    [3, 0, 3, 0, 'PENDING', { PENDING: 3 }],
    [2, 0, 0, 2, 'DEAD', { DEAD: 2 }],
    [0, 0, 0, 0, 'EMPTY', {}],
  ];
  for (const [taskCount, running, pending, dead, state, counts] of cases) {
    assert.equal(jobState({ taskCount, running, pending, dead }), state);
    assert.deepEqual(jobCounts({ running, pending, dead }), counts);
    const line = JSON.stringify(jobJson({ spec: jobSpec({ cell: 'local', user: 'ubar', name: 'web', taskCount }), specVersion: 1, createdMs: 1, running, pending, dead, killed: false, healthy: running, atVersion: taskCount, rolloutDown: 0 }));
    assert.equal(/running/i.test(line), running > 0, line);
  }
});

test('rolloutText: nothing while every task is at the version and up; else how far the update is and what it waits on', () => {
  assert.equal(rolloutText({ specVersion: 3, atVersion: 4, rolloutDown: 0, taskCount: 4 }), '-');
  assert.equal(rolloutText({ specVersion: 3, atVersion: 1, rolloutDown: 1, taskCount: 4 }), '1/4 at v3, waiting on 1 to run healthy');
  assert.equal(rolloutText({ specVersion: 3, atVersion: 4, rolloutDown: 1, taskCount: 4 }), '4/4 at v3, waiting on 1 to run healthy', 'the last one restarted is not up yet');
  assert.equal(rolloutText({ specVersion: 2, atVersion: 2, rolloutDown: 0, taskCount: 3 }), '2/3 at v2');
});

test('specDiff names each changed field of the desired state', () => {
  const a = jobSpec({ cell: 'local', user: 'ubar', name: 'web', taskCount: 2, task: { args: ['1'], env: { A: '1' } } });
  const b = jobSpec({ cell: 'local', user: 'ubar', name: 'web', taskCount: 3, task: { args: ['2'], env: { B: '2' } } });
  assert.deepEqual(specDiff(a, b), ['~ task.args: ["1"] -> ["2"]', '- task.env.A: "1"', '+ task.env.B: "2"', '~ taskCount: 2 -> 3']);
  assert.deepEqual(specDiff(a, a), []);
});

test('small formatters: ages, index ranges, last lines, bands, limits, event types', () => {
  assert.deepEqual([0, 1000, 119_000, 121_000, 7_300_000, 200_000_000].map((d) => age(d === 0 ? 0 : 1_000_000_000 - d, 1_000_000_000)), ['-', '1s', '119s', '2m', '2h', '2d']);
  assert.equal(abbreviate([5, 0, 1, 2, 3, 7, 9, 10]), '0-3,5,7,9-10');
  assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc\n');
  assert.equal(lastLines('a\nb\nc', 1), 'c');
  assert.equal(lastLines('a\n', 0), '');
  assert.deepEqual(['free', 'batch', 'best-effort', 'mid', 'prod', 'production', 'monitoring', '200', '0'].map(parseBand), [
    PriorityBand.FREE, PriorityBand.BEST_EFFORT, PriorityBand.BEST_EFFORT, PriorityBand.MID, PriorityBand.PRODUCTION, PriorityBand.PRODUCTION, PriorityBand.MONITORING, PriorityBand.PRODUCTION, PriorityBand.FREE,
  ]);
  assert.throws(() => parseBand('gold'), /BAND: "gold" is not a band/);
  const base = { cpuMillis: 1000, ramBytes: 1, diskBytes: 2, ports: 3 };
  assert.deepEqual(parseLimit(['cpu=500m', 'ram=1GiB'], base), { cpuMillis: 500, ramBytes: 1 << 30, diskBytes: 2, ports: 3 });
  assert.throws(() => parseLimit(['gpu=1'], base), /gpu: is not a resource/);
  assert.throws(() => parseLimit(['cpu'], base), /cpu: is not key=value/);
  assert.throws(() => parseLimit([], base), /LIMIT: give at least one/);
  assert.throws(() => parseLimit(['cpu=1', 'cpu=2'], base), /cpu: is given twice/);
  assert.equal(parseEventType('schedule'), EventType.SCHEDULE);
  assert.equal(parseEventType('update-running'), EventType.UPDATE_RUNNING);
  assert.throws(() => parseEventType('boom'), /--type: "boom" is not one of submit, schedule/);
});

test('replicaRows: roles, lag against the most advanced replica, unreachable ones kept', () => {
  const st = (replica: number, logIndex: number, leader: boolean): CellStatusResponse => ({
    read: { replica, logIndex, leader },
    cell: 'c',
    leaderReplica: 1,
    leaderAddress: 'a:1',
    ballot: undefined,
    replicas: leader ? [{ id: 3, address: 'a:3', leader: false, reachable: false, logIndex: 9, appliedIndex: 4, lag: 5, statusUrl: '' }] : [],
    machinesUp: 0,
    machinesDraining: 0,
    machinesDown: 0,
    tasksRunning: 0,
    tasksPending: 0,
    jobs: 0,
  });
  const rows = replicaRows(['a:1', 'a:2', 'a:3'], new Map<string, CellStatusResponse | Error>([['a:1', st(1, 9, true)], ['a:2', st(2, 7, false)], ['a:3', new Error('connect refused')]]));
  assert.deepEqual(rows.map((r) => [r.id, r.role, r.appliedIndex, r.lag, r.error]), [
    [1, 'leader', 9, 0, ''],
    [2, 'follower', 7, 2, ''],
    [3, 'unreachable', 4, undefined, 'connect refused'],
  ]);
});

test('fitGuidance: a request no machine has, one no machine has free, and none when the task fits', () => {
  const GiB = 1024 ** 3;
  const r = (cpuMillis: number, ramGiB: number, ports = 0) => ({ cpuMillis, ramBytes: ramGiB * GiB, diskBytes: 0, ports });
  const machine = (name: string, state: MachineState, cap: ReturnType<typeof r>, limit: ReturnType<typeof r>, reservation: ReturnType<typeof r>, os = 'linux'): Machine => ({
    name, address: '', capacity: cap, attributes: { os }, rack: '', powerDomain: '', state, generation: 1, allocatedLimit: limit, allocatedReservation: reservation, usage: undefined, lastPollMs: 0, portBase: 0,
  });
  const cell = [
    machine('a', MachineState.UP, r(2000, 4, 10), r(1500, 1), r(500, 1)),
    machine('b', MachineState.UP, r(4000, 2, 10), r(1000, 1), r(1000, 1)),
    machine('big', MachineState.DOWN, r(64000, 256, 10), r(0, 0), r(0, 0)),
    machine('arm', MachineState.UP, r(8000, 16, 10), r(0, 0), r(0, 0), 'plan9'),
  ];
  const linux = [{ key: 'os', op: Constraint_Op.EQ, values: ['linux'] }];
  assert.deepEqual(fitGuidance(r(1000, 8), 100, linux, cell), [
    'it asks for 8GiB ram; no machine up that meets its constraints has that much (the largest: 4GiB ram on a): ask for at most that, or add larger machines',
  ]);
  // Free: capacity less reservations for a non-prod task (a: 1.5 cores, b: 3), less limits for a prod one (a: 500m, b: 3).
  assert.deepEqual(fitGuidance(r(3500, 1), 100, linux, cell), ['it asks for 3.5 cores of cpu; the most free on a machine up that meets its constraints is 3 cores of cpu (b), before any preemption']);
  assert.deepEqual(fitGuidance(r(2000, 1), 100, linux, cell), []);
  assert.deepEqual(fitGuidance(r(2000, 2), 200, linux, cell), ['each of its requests is free on some machine up that meets its constraints, but not all of them on one, before any preemption']);
  assert.deepEqual(fitGuidance(r(100, 1, 11), 100, [], cell), ['it asks for 11 ports; no machine up has that much (the largest: 10 ports on a): ask for at most that, or add larger machines']);
  assert.deepEqual(fitGuidance(r(100, 1), 100, [{ key: 'os', op: Constraint_Op.EQ, values: ['vms'] }], cell), ['no machine is up that meets its constraints']);
});
