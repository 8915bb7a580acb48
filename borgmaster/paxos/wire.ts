// Hand-written protobuf encoding of the Paxos hot path (PaxosEntry, PaxosMessage, PaxosBatch), byte for byte what
// the generated codec (proto/gen) writes. Why: the generated encoder allocates and forks a writer per message and
// per nested ballot, which made encoding a stored entry cost ~20 us, more than the rest of its commit on a replica;
// here each entry is encoded once, into one exactly-sized buffer, and that buffer serves the leader's disk record
// and its ACCEPT to every follower. Decoding stays with the generated codec (it validates what peers send).
import type { Ballot, PaxosBatch, PaxosEntry, PaxosMessage, PaxosSnapshot } from '../../proto/index';
import { assert } from '../../model/assert';
import { varintSize, writeVarint } from '../../model/varint';
import { PAXOS_ENCODED_ENTRY_CACHE_BYTES, PAXOS_ENCODED_ENTRY_CACHE_ENTRIES } from '../../cells/limits';

/**
 * The cache of encodings, by entry identity. Entries are immutable once the core created them (a new value in a
 * slot is a new object), so it never serves stale bytes. Its uses (the disk record, the ACCEPT to each follower)
 * fall within a Ready or two, so it keeps two generations of at most half the bounds each instead of the whole
 * in-memory log twice over; an older entry (a resend, a catch-up) is simply encoded again. The count bound matters
 * as much as the byte bound: at 300-byte entries 16 MiB was ~55,000 live Buffers per generation, each one traced
 * by every garbage collection (the leader's scavenges took ~10 ms and its full collections up to 177 ms).
 */
const GENERATION_BYTES = PAXOS_ENCODED_ENTRY_CACHE_BYTES / 2;
const GENERATION_ENTRIES = PAXOS_ENCODED_ENTRY_CACHE_ENTRIES / 2;
let current = new Map<PaxosEntry, Buffer>();
let previous = new Map<PaxosEntry, Buffer>();
let currentBytes = 0;

function cached(e: PaxosEntry): Buffer | undefined {
  return current.get(e) ?? previous.get(e);
}

function remember(e: PaxosEntry, b: Buffer): void {
  current.set(e, b);
  currentBytes += b.length;
  if (currentBytes >= GENERATION_BYTES || current.size >= GENERATION_ENTRIES) {
    previous = current;
    current = new Map();
    currentBytes = 0;
  }
}

/** checkedSize is varintSize for a value that must be a non-negative safe integer (the encoding is exact only then). */
function checkedSize(n: number): number {
  assert(Number.isSafeInteger(n) && n >= 0, `varint out of range: ${n}`);
  return varintSize(n);
}

/** Writer fills one exactly-sized buffer; sizes are computed first, so nothing is copied twice. */
class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    this.pos = writeVarint(this.buf, this.pos, n);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** tagged sizes: a varint field (omitted at 0, as proto3 does) and a length-delimited one. */
const varintField = (n: number): number => (n === 0 ? 0 : 1 + checkedSize(n));
const lengthField = (len: number): number => 1 + checkedSize(len) + len;

function ballotSize(b: Ballot): number {
  return varintField(b.round) + varintField(b.replica);
}

function writeBallot(w: Writer, tag: number, b: Ballot): void {
  w.varint(tag);
  w.varint(ballotSize(b));
  if (b.round !== 0) {
    w.varint(8);
    w.varint(b.round);
  }
  if (b.replica !== 0) {
    w.varint(16);
    w.varint(b.replica);
  }
}

/**
 * takeEntryEncoding returns e's encoding (encodeEntry's) and drops it from the cache: for a caller that keeps the
 * bytes itself from now on (the log's settled slots), so that neither e nor its Buffer outlives its last use here.
 */
export function takeEntryEncoding(e: PaxosEntry): Buffer {
  const b = encodeEntry(e);
  if (current.delete(e)) currentBytes -= b.length;
  else previous.delete(e);
  return b;
}

/** encodeEntry returns e's PaxosEntry encoding (cached for a while: do not modify the Buffer). */
export function encodeEntry(e: PaxosEntry): Buffer {
  const hit = cached(e);
  if (hit !== undefined) return hit;
  const size =
    varintField(e.slot) + (e.ballot === undefined ? 0 : lengthField(ballotSize(e.ballot))) + (e.noop ? 2 : 0) + (e.value.length === 0 ? 0 : lengthField(e.value.length));
  const w = new Writer(Buffer.allocUnsafe(size));
  if (e.slot !== 0) {
    w.varint(8);
    w.varint(e.slot);
  }
  if (e.ballot !== undefined) writeBallot(w, 18, e.ballot);
  if (e.noop) {
    w.varint(24);
    w.varint(1);
  }
  if (e.value.length !== 0) {
    w.varint(34);
    w.varint(e.value.length);
    w.bytes(e.value);
  }
  assert(w.pos === size, `entry encoding size ${w.pos} != ${size}`);
  remember(e, w.buf);
  return w.buf;
}

function snapshotSize(s: PaxosSnapshot): number {
  return varintField(s.index) + (s.data.length === 0 ? 0 : lengthField(s.data.length));
}

function messageSize(m: PaxosMessage): number {
  let n = varintField(m.type) + varintField(m.from) + varintField(m.to);
  if (m.ballot !== undefined) n += lengthField(ballotSize(m.ballot));
  n += varintField(m.fromSlot);
  for (const e of m.entries) n += lengthField(encodeEntry(e).length);
  n += varintField(m.commitIndex) + varintField(m.index);
  if (m.snapshot !== undefined) n += lengthField(snapshotSize(m.snapshot));
  n += varintField(m.tick) + (m.more ? 2 : 0);
  return n;
}

function writeVarintField(w: Writer, tag: number, n: number): void {
  if (n === 0) return;
  w.varint(tag);
  w.varint(n);
}

function writeMessage(w: Writer, m: PaxosMessage, size: number): void {
  const start = w.pos;
  writeVarintField(w, 8, m.type);
  writeVarintField(w, 16, m.from);
  writeVarintField(w, 24, m.to);
  if (m.ballot !== undefined) writeBallot(w, 34, m.ballot);
  writeVarintField(w, 40, m.fromSlot);
  for (const e of m.entries) {
    const b = encodeEntry(e);
    w.varint(50);
    w.varint(b.length);
    w.bytes(b);
  }
  writeVarintField(w, 56, m.commitIndex);
  writeVarintField(w, 64, m.index);
  if (m.snapshot !== undefined) {
    const s = m.snapshot;
    w.varint(74);
    w.varint(snapshotSize(s));
    writeVarintField(w, 8, s.index);
    if (s.data.length !== 0) {
      w.varint(18);
      w.varint(s.data.length);
      w.bytes(s.data);
    }
  }
  writeVarintField(w, 80, m.tick);
  if (m.more) {
    w.varint(88);
    w.varint(1);
  }
  assert(w.pos - start === size, `message encoding size ${w.pos - start} != ${size}`);
}

/** encodeMessage returns m's PaxosMessage encoding. */
export function encodeMessage(m: PaxosMessage): Buffer {
  const size = messageSize(m);
  const w = new Writer(Buffer.allocUnsafe(size));
  writeMessage(w, m, size);
  return w.buf;
}

/** encodeBatch returns b's PaxosBatch encoding: the transport's serializer for the Deliver stream. */
export function encodeBatch(b: PaxosBatch): Buffer {
  const sizes = b.messages.map(messageSize);
  let total = 0;
  for (const s of sizes) total += lengthField(s);
  const w = new Writer(Buffer.allocUnsafe(total));
  b.messages.forEach((m, i) => {
    const size = sizes[i] ?? 0;
    w.varint(10);
    w.varint(size);
    writeMessage(w, m, size);
  });
  assert(w.pos === total, `batch encoding size ${w.pos} != ${total}`);
  return w.buf;
}
