// Equivalence-class keys: the scheduler's string-free shortcut (sameClassKey) agrees with classKey.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OP_EQ } from './types';
import { classKey, sameClassKey } from './task_class';
import { TestCell } from './testing';

const descArb = fc.record({
  job: fc.constantFrom('a', 'b'),
  priority: fc.constantFrom(0, 100, 200),
  cpu: fc.constantFrom(500, 1000),
  ramGiB: fc.constantFrom(1, 2),
  disk: fc.constantFrom(0, 10),
  ports: fc.constantFrom(0, 1),
  spread: fc.record({ maxPerMachine: fc.constantFrom(0, 1), maxPerRack: fc.constantFrom(0, 2), maxPerPowerDomain: fc.constantFrom(0, 3) }),
  constrained: fc.boolean(),
});

test('property: sameClassKey is classKey equality for tasks without constraints, and false with any', () => {
  fc.assert(
    fc.property(descArb, descArb, (da, db) => {
      const cell = new TestCell();
      const task = (d: typeof da) => cell.task({ ...d, constraints: d.constrained ? [['arch', OP_EQ, 'x86']] : [] });
      const a = task(da);
      const b = task(db);
      const want = !da.constrained && !db.constrained && classKey(a) === classKey(b);
      assert.equal(sameClassKey(a, b), want);
    }),
    { numRuns: 500, seed: 7 },
  );
  assert.equal(sameClassKey(new TestCell().task(), undefined), false);
});
