// Varints: sizes at the 7-bit boundaries, round trips up to 2^53 - 1, and cut-short input refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVarint, varintEnd, varintSize, writeVarint } from './varint';

test('varint sizes and round trips at the 7-bit boundaries', () => {
  const cases: [number, number][] = [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2 ** 32, 5], [Number.MAX_SAFE_INTEGER, 8]];
  for (const [n, size] of cases) {
    assert.equal(varintSize(n), size, `size of ${n}`);
    const buf = new Uint8Array(size + 2);
    assert.equal(writeVarint(buf, 1, n), 1 + size, `end of ${n}`);
    assert.equal(readVarint(buf, 1), n, `read back ${n}`);
    assert.equal(varintEnd(), 1 + size);
  }
});

test('a varint the bytes end inside of, or longer than 10 bytes, reads as -1', () => {
  assert.equal(readVarint(Uint8Array.of(0x80, 0x80), 0), -1);
  assert.equal(readVarint(new Uint8Array(0), 0), -1);
  assert.equal(readVarint(new Uint8Array(11).fill(0x80), 0), -1);
  assert.equal(readVarint(Uint8Array.of(0xac, 0x02), 0), 300);
});
