// Trace and JSONL readers on small files made here: good rows become machines and tasks, bad rows are counted
// by reason and skipped, priorities map onto the project's bands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GiB } from '../../model/resources';
import { readGoogle2011, tracePriority, DEFAULT_TRACE_SCALE } from './google_2011';
import { readJsonlWorkload } from './jsonl';
import { loadWorkload } from './scheduler_input';

function withDir(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'borg-workload-'));
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('priority mapping keeps order and the prod line', () => {
  assert.deepEqual([0, 1, 2, 8, 9, 10, 11].map(tracePriority), [0, 1, 100, 112, 200, 250, 360]);
});

test(
  'google 2011 reader: cell at time 0, bad rows counted and skipped',
  withDir(async (dir) => {
    mkdirSync(join(dir, 'machine_events'));
    mkdirSync(join(dir, 'task_events'));
    const machines = [
      '0,5,0,PLAT,0.5,0.2493',
      '0,6,0,PLAT,1,1',
      '0,7,0,PLAT,,', // empty capacity
      '0,8,0,PLAT,0.5,0.5',
      '0,8,1,,,', // removed at time 0
      'garbage',
      '0,x,0,PLAT,0.5,0.5', // bad id
      '100,9,0,PLAT,0.5,0.5', // after time 0: not in the cell
    ];
    const tasks = [
      '0,,10,0,,0,userA,3,9,0.125,0.0625,0.0004,1', // prod, different-machines
      '0,,10,1,,0,userA,3,9,0.125,0.0625,0.0004,1',
      '0,,11,0,,0,userB,0,0,0.01,0.01,,0', // free, no disk
      '0,2,12,0,,0,userB,0,2,,,,', // empty requests
      '0,,10,0,123,1,userA,3,9,0.125,0.0625,0.0004,1', // SCHEDULE row: not a submission
      '0,,13,0,,0,userC,1,12,0.1,0.1,0,0', // priority out of range
      'short,row',
      '0,,10,0,,0,userA,3,9,0.125,0.0625,0.0004,1', // resubmission
      '5000000,,14,0,,0,userD,1,4,0.02,0.02,0,0', // later submission
    ];
    writeFileSync(join(dir, 'machine_events', 'part-00000-of-00001.csv.gz'), gzipSync(machines.join('\n') + '\n'));
    writeFileSync(join(dir, 'task_events', 'part-00000-of-00500.csv.gz'), gzipSync(tasks.join('\n') + '\n'));
    const w = await readGoogle2011(dir);
    assert.deepEqual(w.machines.map((m) => m.name), ['m5', 'm6']);
    assert.deepEqual(w.machines[0]?.capacity, { cpuMillis: 16_000, ramBytes: Math.round(0.2493 * 128 * GiB), diskBytes: DEFAULT_TRACE_SCALE.diskBytesPerUnit, ports: 1000 });
    assert.deepEqual(
      w.initial.map((t) => [t.job, t.index, t.priority, t.limit.cpuMillis, t.spread.maxPerMachine]),
      [
        ['j10', 0, 200, 4000, 1],
        ['j10', 1, 200, 4000, 1],
        ['j11', 0, 0, 320, 0],
      ],
    );
    assert.equal(w.initial[2]?.limit.diskBytes, 0);
    assert.deepEqual(w.later.map((t) => [t.job, t.priority, t.submitMs]), [['j14', 104, 5000]]);
    assert.deepEqual(w.skipped, {
      'machine_events: empty capacity': 1,
      'machine_events: wrong number of fields': 1,
      'machine_events: bad time, id or type': 1,
      'task_events: empty cpu or memory request': 1,
      'task_events: bad time, job, index or priority': 1,
      'task_events: wrong number of fields': 1,
      'task_events: resubmission of a known task': 1,
    });
    const loaded = loadWorkload(w);
    assert.equal(loaded.snap.liveMachines, 2);
    assert.equal(loaded.initial.length, 3);
  }),
);

test(
  'jsonl reader: machines, tasks, bad lines with their line numbers',
  withDir(async (dir) => {
    const path = join(dir, 'w.jsonl');
    const lines = [
      '# a comment',
      '{"kind":"machine","name":"m1","capacity":{"cpuMillis":4000,"ramBytes":1000},"attributes":{"arch":"x86"},"rack":"r1"}',
      '{"kind":"task","job":"web","user":"alice","priority":200,"limit":{"cpuMillis":500},"constraints":[{"key":"arch","op":"=","values":["x86"]}],"spread":{"maxPerMachine":1}}',
      '{"kind":"task","job":"web","user":"alice","index":1,"priority":200,"limit":{"cpuMillis":500},"submitMs":10}',
      '{"kind":"task","job":"web","user":"alice","priority":2000,"limit":{}}',
      '{"kind":"machine","name":"m2","capacity":{"cpuMillis":-5}}',
      'not json',
      '{"kind":"pod"}',
      '{"kind":"task","job":"x","user":"y","priority":1,"limit":{},"constraints":[{"key":"k","op":"~","values":[]}]}',
      '',
    ];
    writeFileSync(path, lines.join('\n'));
    const errors: string[] = [];
    const w = await readJsonlWorkload(path, errors);
    assert.deepEqual(w.machines.map((m) => [m.name, m.capacity.cpuMillis, m.attributes.arch, m.rack, m.powerDomain]), [['m1', 4000, 'x86', 'r1', 'power-0']]);
    assert.deepEqual(w.initial.map((t) => [t.job, t.index, t.constraints.length, t.spread.maxPerMachine]), [['web', 0, 1, 1]]);
    assert.deepEqual(w.later.map((t) => [t.index, t.submitMs]), [[1, 10]]);
    assert.deepEqual(errors, [
      'line 5: priority must be at most 1000',
      'line 6: capacity.cpuMillis must be a non-negative integer',
      'line 7: not valid JSON',
      'line 8: kind must be "machine" or "task"',
      'line 9: constraints[0].op must be one of = != in exists !exists',
    ]);
    assert.equal(Object.values(w.skipped).reduce((a, b) => a + b, 0), 5);
  }),
);
