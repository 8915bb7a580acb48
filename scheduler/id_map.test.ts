// IdMap against a JS Map: the same answers after any sequence of sets, swaps, deletes and takes, including ids that
// collide in small tables, deletes in the middle of probe runs, growth, and ids beyond 2^32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdMap } from './id_map';

const id = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 20 }), fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER));
const op = fc.tuple(fc.constantFrom('set', 'delete', 'get', 'swap', 'take'), id);

test('IdMap answers as a Map does after any sequence of sets and deletes', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 50, maxLength: 400 }), (ops) => {
      const m = new IdMap<number>();
      const ref = new Map<number, number>();
      ops.forEach(([kind, k], i) => {
        if (kind === 'set') {
          m.set(k, i);
          ref.set(k, i);
        } else if (kind === 'delete') assert.equal(m.delete(k), ref.delete(k));
        else if (kind === 'swap') {
          assert.equal(m.swap(k, i), ref.get(k));
          ref.set(k, i);
        } else if (kind === 'take') {
          assert.equal(m.take(k), ref.get(k));
          ref.delete(k);
        }
        assert.equal(m.get(k), ref.get(k));
        assert.equal(m.has(k), ref.has(k));
        assert.equal(m.size, ref.size);
      });
      // Every key still reachable after the deletes shifted entries back.
      for (const [k, v] of ref) assert.equal(m.get(k), v);
      const seen = new Map<number, number>();
      m.forEach((v, k) => seen.set(k, v));
      assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), [...ref].sort((a, b) => a[0] - b[0]));
    }),
    { numRuns: 300 },
  );
});

test('IdMap: values that are not ids are absent, and setting one is refused', () => {
  const m = new IdMap<string>();
  m.set(0, 'zero');
  for (const bad of [-1, -5, 1.5, Number.NaN]) {
    assert.equal(m.has(bad), false);
    assert.equal(m.get(bad), undefined);
    assert.equal(m.delete(bad), false);
    assert.equal(m.take(bad), undefined);
  }
  assert.throws(() => m.swap(-1, 'x'));
  assert.throws(() => m.set(-1, 'x'));
  assert.throws(() => m.set(0.5, 'x'));
  assert.equal(m.get(0), 'zero');
});

test('IdMap: a run of consecutive ids takes consecutive table positions, so a job numbered together shares cache lines', () => {
  const m = new IdMap<number>();
  for (let id = 48; id < 64; id++) m.set(id, id);
  const order: number[] = [];
  m.forEach((_v, id) => order.push(id));
  assert.deepEqual(order, Array.from({ length: 16 }, (_, i) => 48 + i));
});
