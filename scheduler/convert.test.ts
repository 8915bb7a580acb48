// Converters between the wire types and the scheduler's compact ones: round trip of ids, constraints and spread,
// and precise errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Constraint_Op, JobSpec, Machine, MachineState, TaskSpec } from '../proto/index';
import { CellSnapshot } from './snapshot';
import { IdTable, assignmentToProto, machineFromProto, tasksFromJobSpec } from './convert';
import { MACHINE_DRAINING, OP_IN } from './types';

test('machines and jobs convert into the snapshot; plans convert back to wire assignments', () => {
  const snap = new CellSnapshot();
  const machines = new IdTable();
  const tasks = new IdTable();
  const m = machineFromProto(
    Machine.fromPartial({ name: 'm1', capacity: { cpuMillis: 4000, ramBytes: 1 << 30 }, attributes: { arch: 'x86' }, rack: 'r1', powerDomain: 'p1', state: MachineState.DRAINING }),
    snap,
    machines,
  );
  assert.equal(m.state, MACHINE_DRAINING);
  assert.equal(snap.attrKeys.name(m.attributes[0]?.[0] ?? 0), 'arch');
  snap.addMachine(m);
  const spec = JobSpec.fromPartial({
    name: 'web',
    user: 'alice',
    cell: 'c1',
    priority: 200,
    taskCount: 2,
    task: { requirements: { cpuMillis: 500, ramBytes: 1 << 20 }, constraints: [{ key: 'arch', op: Constraint_Op.IN, values: ['x86', 'arm64'] }] },
    overrides: [{ index: 1, spec: { requirements: { cpuMillis: 900 } } }],
    spread: { maxPerMachine: 1 },
  });
  const ts = tasksFromJobSpec(spec, snap, tasks);
  assert.deepEqual(ts.map((t) => [tasks.name(t.id), t.limit.cpuMillis, t.constraints.length, t.spread.maxPerMachine]), [
    ['c1/alice/web/0', 500, 1, 1],
    ['c1/alice/web/1', 900, 0, 1],
  ]);
  assert.equal(ts[0]?.constraints[0]?.op, OP_IN);
  assert.equal(ts[0]?.job, ts[1]?.job);
  const wire = assignmentToProto({ taskId: (ts[0] as { id: number }).id, machineId: m.id, machineGeneration: 3, victims: [(ts[1] as { id: number }).id] }, tasks, machines);
  assert.deepEqual(wire, { taskId: 'c1/alice/web/0', machine: 'm1', machineGeneration: 3, victimTaskIds: ['c1/alice/web/1'], specVersion: 0 });
});

test('bad wire input names the field', () => {
  const snap = new CellSnapshot();
  assert.throws(() => machineFromProto(Machine.fromPartial({ name: '' }), snap, new IdTable()), /machine.name/);
  assert.throws(() => machineFromProto(Machine.fromPartial({ name: 'm', capacity: { cpuMillis: 1.5 } }), snap, new IdTable()), /m.capacity.cpuMillis/);
  assert.throws(() => machineFromProto(Machine.fromPartial({ name: 'm', capacity: {}, state: MachineState.MACHINE_STATE_UNSPECIFIED }), snap, new IdTable()), /m.state/);
  const spec = JobSpec.fromPartial({ name: 'j', user: 'u', cell: 'c', priority: 100, taskCount: 1, task: { requirements: {}, constraints: [{ key: 'a', op: Constraint_Op.OP_UNSPECIFIED }] } });
  assert.throws(() => tasksFromJobSpec(spec, snap, new IdTable()), /constraints\[0\].op/);
  assert.throws(() => tasksFromJobSpec({ ...spec, priority: -1, task: TaskSpec.fromPartial({ requirements: {} }) }, snap, new IdTable()), /priority/);
});
