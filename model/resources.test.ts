import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, sub, fits, shortfall, resources, validateResources, GiB, MiB, formatResources, sum } from './resources';
import { InvalidArgument } from './errors';
import { AssertionError } from './assert';

const machine = resources({ cpuMillis: 4000, ramBytes: 8 * GiB, diskBytes: 100 * GiB, ports: 10 });

test('fits: edges per dimension', () => {
  const rows: [string, Partial<Parameters<typeof resources>[0]>, boolean][] = [
    ['zero fits anywhere', {}, true],
    ['exact fit', { cpuMillis: 4000, ramBytes: 8 * GiB, diskBytes: 100 * GiB, ports: 10 }, true],
    ['one milli over', { cpuMillis: 4001 }, false],
    ['one byte of ram over', { ramBytes: 8 * GiB + 1 }, false],
    ['one byte of disk over', { diskBytes: 100 * GiB + 1 }, false],
    ['one port over', { ports: 11 }, false],
    ['under in all', { cpuMillis: 1, ramBytes: 1, diskBytes: 1, ports: 1 }, true],
  ];
  for (const [name, need, want] of rows) assert.equal(fits(resources(need), machine), want, name);
  assert.ok(fits(resources(), resources()), 'zero fits in zero');
  assert.ok(!fits(resources({ cpuMillis: 1 }), resources()), 'one milli does not fit in zero');
});

test('shortfall names the dimensions that do not fit, in order', () => {
  assert.deepEqual(shortfall(resources({ cpuMillis: 5000, ports: 11 }), machine), ['cpuMillis', 'ports']);
  assert.deepEqual(shortfall(resources({ ramBytes: 1 }), machine), []);
});

test('add and sub are inverse; sub below zero is a bug', () => {
  const a = resources({ cpuMillis: 250, ramBytes: 512 * MiB, ports: 1 });
  assert.deepEqual(sub(add(machine, a), a), machine);
  assert.deepEqual(sum([a, a, a]), resources({ cpuMillis: 750, ramBytes: 1536 * MiB, ports: 3 }));
  assert.throws(() => sub(a, machine), AssertionError);
});

test('overflow past 2^53 is rejected', () => {
  const big = resources({ ramBytes: Number.MAX_SAFE_INTEGER });
  assert.throws(() => add(big, resources({ ramBytes: 1 })), AssertionError);
  assert.throws(() => resources({ ramBytes: 2 ** 53 }), AssertionError);
});

test('validateResources names the field for bad input', () => {
  const rows: [unknown, string][] = [
    [{ cpuMillis: -1 }, 'spec.req.cpuMillis: must not be negative, got -1'],
    [{ ramBytes: 1.5 }, 'spec.req.ramBytes: must be an integer, got 1.5'],
    [{ diskBytes: 2 ** 53 }, 'spec.req.diskBytes: 9007199254740992 is too large (limit 2^53-1)'],
    [{ ports: Number.NaN }, 'spec.req.ports: must be a number, got NaN'],
    [{ cpuMillis: '5' }, 'spec.req.cpuMillis: must be a number, got 5'],
    [undefined, 'spec.req: is required'],
  ];
  for (const [input, message] of rows) {
    assert.throws(() => validateResources(input as never, 'spec.req'), (e: unknown) => e instanceof InvalidArgument && e.message === message, message);
  }
  assert.deepEqual(validateResources({ cpuMillis: 5 }, 'x'), resources({ cpuMillis: 5 }));
});

test('formatResources is readable', () => {
  assert.equal(formatResources(resources({ cpuMillis: 1500, ramBytes: 2 * GiB, ports: 2 })), 'cpu=1500m ram=2GiB disk=0B ports=2');
});
