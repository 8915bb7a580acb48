// Tests of the standalone replica's key-value state machine: apply order, history pages, snapshot round trip, and
// commands that do not decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { KvStateMachine, encodePut, scanCanonicalPut, validatePut } from './replica_kv';
import { KvPutRequest } from '../../proto/index';
import { PAXOS_KV_MAX_KEY_BYTES } from '../../cells/limits';

function put(key: string, value: string): Uint8Array {
  return encodePut({ key, value: Buffer.from(value) });
}

test('the latest write to a key wins and the history lists writes in log order', () => {
  const kv = new KvStateMachine();
  kv.apply(put('a', '1'), 1);
  kv.apply(put('b', '2'), 3); // slot 2 was a no-op: the driver never hands no-ops to apply
  kv.apply(put('a', '3'), 4);
  assert.equal(kv.get('a')?.value.toString(), '3');
  assert.equal(kv.get('a')?.index, 4);
  assert.equal(kv.get('c'), undefined);
  assert.equal(kv.applied, 4);
  assert.deepEqual(kv.writes(0, 100).writes, [
    { index: 1, key: 'a', valueCrc32: crc32('1') },
    { index: 3, key: 'b', valueCrc32: crc32('2') },
    { index: 4, key: 'a', valueCrc32: crc32('3') },
  ]);
  assert.deepEqual(kv.writes(2, 1).writes.map((w) => w.index), [3]);
  assert.throws(() => kv.apply(put('x', 'y'), 4), /out of order/);
});

test('a value read stays as read when the key is rewritten in place, and the snapshot holds the newest', () => {
  const kv = new KvStateMachine();
  kv.apply(put('a', 'one'), 1);
  const read = kv.get('a');
  kv.apply(put('a', 'two'), 2); // same size: rewritten in place
  kv.apply(put('a', 'three'), 3); // larger: a new record
  kv.apply(put('a', 'four!'), 4); // same size as 'three'
  assert.equal(read?.value.toString(), 'one');
  assert.deepEqual(kv.get('a'), { value: Buffer.from('four!'), index: 4 });
  const b = new KvStateMachine();
  b.restoreSnapshot(kv.takeSnapshot());
  assert.deepEqual(b.get('a'), { value: Buffer.from('four!'), index: 4 });
});

test('a snapshot restores the same state and history on another replica', () => {
  const a = new KvStateMachine();
  for (let i = 1; i <= 50; i++) a.apply(put(`k${i % 7}`, `v${i}`), i);
  const b = new KvStateMachine();
  b.apply(put('stale', 'x'), 1);
  b.restoreSnapshot(a.takeSnapshot());
  assert.equal(b.applied, 50);
  assert.equal(b.get('stale'), undefined);
  for (let k = 0; k < 7; k++) assert.deepEqual(b.get(`k${k}`), a.get(`k${k}`));
  assert.deepEqual(b.writes(0, 1000), a.writes(0, 1000));
  b.apply(put('after', 'snap'), 51);
  assert.equal(b.get('after')?.index, 51);
});

test('a command that does not decode is skipped the same way everywhere', () => {
  const kv = new KvStateMachine();
  kv.apply(Uint8Array.from([0xff, 0xff, 0xff]), 1);
  kv.apply(encodePut({ key: '', value: Buffer.from('no key') }), 2);
  kv.apply(put('ok', 'fine'), 3);
  assert.equal(kv.rejectedCommands, 2);
  assert.deepEqual(kv.writes(0, 10).writes.map((w) => w.key), ['ok']);
});

test('validatePut names the bad field', () => {
  assert.throws(() => validatePut({ key: '', value: Buffer.alloc(0) }), /key: must not be empty/);
  assert.throws(() => validatePut({ key: 'k'.repeat(PAXOS_KV_MAX_KEY_BYTES + 1), value: Buffer.alloc(0) }), /key: longer than/);
  assert.throws(() => validatePut({ key: 'k', value: Buffer.alloc(2 * 1024 * 1024) }), /value: longer than/);
});

test('scanCanonicalPut reads what the generated decoder reads, and leaves every other form to it', () => {
  const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
  const rows: { name: string; command: Uint8Array; scanned: boolean }[] = [
    { name: 'key and value', command: put('k-1', 'value'), scanned: true },
    { name: 'a 300-byte value (two-byte length)', command: put('key', 'v'.repeat(300)), scanned: true },
    { name: 'empty value (field 2 omitted)', command: put('k', ''), scanned: false },
    { name: 'non-ASCII key', command: put('clé', 'v'), scanned: false },
    { name: 'value before key', command: bytes(18, 1, 0x76, 10, 1, 0x6b), scanned: false },
    { name: 'an unknown field after the value', command: bytes(10, 1, 0x6b, 18, 1, 0x76, 24, 1), scanned: false },
    { name: 'value length past the end', command: bytes(10, 1, 0x6b, 18, 5, 0x76), scanned: false },
    { name: 'explicit empty value field', command: bytes(10, 1, 0x6b, 18, 0), scanned: true },
    { name: 'key over the limit', command: put('k'.repeat(PAXOS_KV_MAX_KEY_BYTES + 1), 'v'), scanned: false },
    { name: 'garbage', command: bytes(0xff, 0xff, 0xff), scanned: false },
  ];
  for (const r of rows) {
    const s = scanCanonicalPut(r.command);
    assert.equal(s !== undefined, r.scanned, r.name);
    if (s === undefined) continue;
    const g = KvPutRequest.decode(r.command);
    assert.equal(s.key, g.key, r.name);
    assert.deepEqual(Buffer.from(s.value), Buffer.from(g.value), r.name);
  }
  // Either path, the same state: each row applied on its own state machine matches the generated decoder's view.
  for (const r of rows) {
    let req: KvPutRequest | undefined;
    try {
      req = KvPutRequest.decode(r.command);
      validatePut(req);
    } catch {
      req = undefined;
    }
    const kv = new KvStateMachine();
    kv.apply(r.command, 1);
    assert.equal(kv.rejectedCommands, req === undefined ? 1 : 0, r.name);
    if (req !== undefined) assert.deepEqual(Buffer.from(kv.get(req.key)?.value ?? []), Buffer.from(req.value), r.name);
  }
});
