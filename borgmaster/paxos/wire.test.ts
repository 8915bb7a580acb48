// The hand-written hot-path encoder must write exactly what the generated codec writes: random messages of every
// type, with the edge values (zero ballots, no-ops, empty values, slots near 2^53, snapshots), both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../../model/rng';
import { PaxosBatch, PaxosEntry, PaxosMessage, PaxosMessage_Type as T } from '../../proto/index';
import { encodeBatch, encodeEntry, encodeMessage } from './wire';
import { PAXOS_ENCODED_ENTRY_CACHE_BYTES, PAXOS_ENCODED_ENTRY_CACHE_ENTRIES } from '../../cells/limits';

const EDGE_NUMBERS = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];

function num(rng: SeededRng, max = Number.MAX_SAFE_INTEGER): number {
  const v = rng.next() < 0.5 ? (EDGE_NUMBERS[rng.int(EDGE_NUMBERS.length)] ?? 0) : rng.int(1_000_000);
  return Math.min(v, max);
}

function randomEntry(rng: SeededRng): PaxosEntry {
  const noop = rng.next() < 0.2;
  return {
    slot: num(rng),
    ballot: rng.next() < 0.1 ? undefined : { round: num(rng), replica: num(rng, 2 ** 32 - 1) },
    noop,
    value: noop ? Buffer.alloc(0) : Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256))),
  };
}

function randomMessage(rng: SeededRng): PaxosMessage {
  return {
    type: 1 + rng.int(10),
    from: num(rng, 2 ** 32 - 1),
    to: num(rng, 2 ** 32 - 1),
    ballot: rng.next() < 0.1 ? undefined : { round: num(rng), replica: num(rng, 2 ** 32 - 1) },
    fromSlot: num(rng),
    entries: Array.from({ length: rng.int(5) }, () => randomEntry(rng)),
    commitIndex: num(rng),
    index: num(rng),
    snapshot: rng.next() < 0.2 ? { index: num(rng), data: Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256))) } : undefined,
    tick: num(rng),
    more: rng.next() < 0.3,
  };
}

test('encodeEntry, encodeMessage and encodeBatch write the generated codec bytes exactly', () => {
  const rng = new SeededRng(42);
  for (let i = 0; i < 2_000; i++) {
    const e = randomEntry(rng);
    assert.deepEqual(encodeEntry(e), Buffer.from(PaxosEntry.encode(e).finish()), `entry ${i}`);
    const m = randomMessage(rng);
    assert.deepEqual(encodeMessage(m), Buffer.from(PaxosMessage.encode(m).finish()), `message ${i}`);
    const batch = { messages: Array.from({ length: rng.int(4) }, () => randomMessage(rng)) };
    const bytes = encodeBatch(batch);
    assert.deepEqual(bytes, Buffer.from(PaxosBatch.encode(batch).finish()), `batch ${i}`);
    assert.deepEqual(PaxosBatch.decode(bytes), PaxosBatch.decode(PaxosBatch.encode(batch).finish()));
  }
});

test('an entry is encoded once: the leader disk record and every ACCEPT share one buffer', () => {
  const e: PaxosEntry = { slot: 7, ballot: { round: 2, replica: 1 }, noop: false, value: Buffer.from('v') };
  const first = encodeEntry(e);
  assert.equal(encodeEntry(e), first);
  const accept = (to: number): PaxosMessage => ({ type: T.ACCEPT, from: 1, to, ballot: e.ballot, fromSlot: 0, entries: [e], commitIndex: 6, index: 0, snapshot: undefined, tick: 3, more: false });
  assert.deepEqual(PaxosMessage.decode(encodeMessage(accept(2))).entries, [e]);
  assert.deepEqual(PaxosMessage.decode(encodeMessage(accept(3))).entries, [e]);
});

test('the encoding cache is bounded: past PAXOS_ENCODED_ENTRY_CACHE_BYTES an old entry is encoded again, identically', () => {
  const first: PaxosEntry = { slot: 1, ballot: { round: 1, replica: 1 }, noop: false, value: Buffer.from('first') };
  const bytes = encodeEntry(first);
  const big = Buffer.alloc(1024 * 1024, 1);
  for (let i = 0; i < PAXOS_ENCODED_ENTRY_CACHE_BYTES / big.length + 2; i++) encodeEntry({ slot: 2 + i, ballot: first.ballot, noop: false, value: big });
  const again = encodeEntry(first);
  assert.notEqual(again, bytes, 'evicted');
  assert.deepEqual(again, bytes);
});

test('the encoding cache is bounded by count too: past PAXOS_ENCODED_ENTRY_CACHE_ENTRIES small entries an old one is encoded again', () => {
  const first: PaxosEntry = { slot: 1, ballot: { round: 2, replica: 1 }, noop: false, value: Buffer.from('first') };
  const bytes = encodeEntry(first);
  const small = Buffer.from('x');
  // Half the bound later it is still cached (a Ready's disk record and ACCEPTs come within far fewer entries).
  for (let i = 0; i < PAXOS_ENCODED_ENTRY_CACHE_ENTRIES / 2 - 1; i++) encodeEntry({ slot: 2 + i, ballot: first.ballot, noop: false, value: small });
  assert.equal(encodeEntry(first), bytes, 'still cached');
  for (let i = 0; i < PAXOS_ENCODED_ENTRY_CACHE_ENTRIES; i++) encodeEntry({ slot: 2 + i, ballot: first.ballot, noop: false, value: small });
  const again = encodeEntry(first);
  assert.notEqual(again, bytes, 'evicted');
  assert.deepEqual(again, bytes);
});
