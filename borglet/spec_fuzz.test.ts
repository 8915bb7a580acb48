// Property: whatever a master sends, validation either accepts it or throws an InvalidArgument naming a field
// under the given prefix; it never throws anything else (which would surface as an internal error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateDesiredTask } from './spec';
import { InvalidArgument } from '../model/errors';
import type { DesiredTask } from '../proto/index';

const int = fc.oneof(fc.integer(), fc.integer({ min: -1, max: 2 ** 20 }), fc.constantFrom(0, -1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1.5, Number.NaN));
const str = fc.oneof(fc.string(), fc.constantFrom('', '/bin/sh', 'c/u/j/0', '..', 'a/b/c/d/e', '/x\0y', 'BORG_X'));
const desired: fc.Arbitrary<DesiredTask> = fc.record({
  taskId: str,
  specVersion: fc.nat(),
  priority: int,
  bnsName: str,
  ports: fc.array(int, { maxLength: 5 }),
  spec: fc.option(
    fc.record({
      command: str,
      args: fc.array(str, { maxLength: 4 }),
      env: fc.dictionary(str, str, { maxKeys: 3 }),
      workingDir: str,
      requirements: fc.option(fc.record({ cpuMillis: int, ramBytes: int, diskBytes: int, ports: int }), { nil: undefined }),
      constraints: fc.constant([]),
      healthCheck: fc.option(fc.record({ httpPath: str, portIndex: fc.nat(), intervalMs: fc.nat(), timeoutMs: fc.nat(), failuresBeforeRestart: fc.nat() }), { nil: undefined }),
      restartPolicy: fc.option(fc.record({ kind: fc.integer({ min: -1, max: 5 }), maxRestarts: fc.nat(), backoffInitialMs: fc.nat(), backoffMaxMs: fc.nat(), resetAfterMs: fc.nat() }), { nil: undefined }),
      latencySensitive: fc.boolean(),
      killGraceMs: fc.nat(),
    }),
    { nil: undefined },
  ),
});

test('validation never throws anything but a named InvalidArgument', () => {
  const capacity = { cpuMillis: 4000, ramBytes: 2 ** 33, diskBytes: 2 ** 40, ports: 100 };
  fc.assert(
    fc.property(desired, (d) => {
      try {
        const v = validateDesiredTask(d, capacity, 'tasks[0]');
        assert.ok(v.limit.ramBytes <= capacity.ramBytes && v.limit.cpuMillis <= capacity.cpuMillis);
        assert.match(v.group, /^[a-z0-9][a-z0-9_.-]*$/);
        assert.ok(!v.group.includes('..'));
      } catch (e: unknown) {
        if (!(e instanceof InvalidArgument)) throw e;
        assert.ok(e.field.startsWith('tasks[0]'), e.field);
      }
    }),
    { numRuns: 2_000, seed: 42 },
  );
});
