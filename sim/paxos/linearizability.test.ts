// The register linearizability checker on small histories whose verdict is known by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRegister, type RegisterOp } from './linearizability';

const w = (id: number, value: string, invokeMs: number, responseMs: number | undefined): RegisterOp => ({ kind: 'write', value, invokeMs, responseMs, id });
const r = (id: number, value: string, invokeMs: number, responseMs: number): RegisterOp => ({ kind: 'read', value, invokeMs, responseMs, id });

const rows: [string, RegisterOp[], boolean][] = [
  ['empty history', [], true],
  ['read of the initial value', [r(1, '', 0, 1)], true],
  ['sequential write then read', [w(1, 'a', 0, 1), r(2, 'a', 2, 3)], true],
  ['stale read after an acknowledged write', [w(1, 'a', 0, 1), r(2, '', 2, 3)], false],
  ['read concurrent with a write may see either', [w(1, 'a', 0, 10), r(2, '', 1, 2), r(3, 'a', 3, 4)], true],
  ['values cannot go back in time', [w(1, 'a', 0, 10), r(2, 'a', 1, 2), r(3, '', 3, 4)], false],
  ['read of a value never written', [r(1, 'ghost', 0, 1)], false],
  ['unknown write may take effect late', [w(1, 'a', 0, undefined), r(2, '', 1, 2), r(3, 'a', 5, 6)], true],
  ['unknown write may never take effect', [w(1, 'a', 0, undefined), r(2, '', 5, 6)], true],
  ['two writes: a read order must be consistent', [w(1, 'a', 0, 10), w(2, 'b', 0, 10), r(3, 'a', 11, 12), r(4, 'b', 13, 14), r(5, 'a', 15, 16)], false],
  ['two concurrent writes, reads agree on one order', [w(1, 'a', 0, 10), w(2, 'b', 0, 10), r(3, 'b', 11, 12), r(4, 'b', 13, 14)], true],
  ['a write acknowledged before another starts is ordered first', [w(1, 'a', 0, 1), w(2, 'b', 2, 3), r(3, 'a', 4, 5)], false],
];

for (const [name, history, ok] of rows) {
  test(`linearizability: ${name}`, () => {
    const res = checkRegister(history, '');
    assert.equal(res.ok, ok, JSON.stringify(res));
  });
}

test('linearizability: a long sequential history is checked quickly', () => {
  const h: RegisterOp[] = [];
  for (let i = 0; i < 2_000; i++) {
    h.push(w(2 * i, `v${i}`, 4 * i, 4 * i + 1));
    h.push(r(2 * i + 1, `v${i}`, 4 * i + 2, 4 * i + 3));
  }
  const res = checkRegister(h, '');
  assert.equal(res.ok, true);
  assert.ok(res.explored <= 4_001, `explored ${res.explored}`);
});

test('linearizability: an exhausted search budget says unknown, never ok', () => {
  const h: RegisterOp[] = [];
  for (let i = 0; i < 12; i++) h.push(w(i, `v${i}`, 0, undefined));
  h.push(r(100, 'nope-never', 1, 2));
  h.push(w(101, 'nope-never', 0, 100));
  h.push(r(102, 'v3', 3, 4), r(103, 'v5', 5, 6), r(104, 'v3', 7, 8));
  const res = checkRegister(h, '', 50);
  assert.equal(res.ok, 'unknown');
});
