// Tests of PaxosStorage on a real LevelDB in a temp dir: what is saved comes back after reopen, the acceptor's
// rules hold at the storage boundary, and every kind of corruption on disk makes open() refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { PaxosStorage, StorageCorrupt } from './storage';
import { crc32 } from 'node:zlib';
import { PaxosEntry, PaxosSnapshot } from '../../proto/index';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-storage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function entry(slot: number, round: number, text: string): PaxosEntry {
  return { slot, ballot: { round, replica: 1 }, noop: false, value: Buffer.from(text) };
}

async function populated(dir: string): Promise<void> {
  const s = await PaxosStorage.open(dir);
  await s.save({ promised: { round: 3, replica: 2 } });
  await s.save({ entries: [entry(1, 3, 'MARKER-one'), entry(2, 3, 'MARKER-two'), entry(3, 3, 'MARKER-three')] });
  await s.save({ commitIndex: 2 });
  await s.close();
}

test('a fresh directory opens empty', async (t) => {
  const s = await PaxosStorage.open(tempDir(t));
  const st = s.takeLoaded();
  assert.deepEqual(st, { promised: { round: 0, replica: 0 }, entries: [], commitIndex: 0, snapshot: undefined });
  await s.close();
});

test('what was saved comes back after reopen, in slot order', async (t) => {
  const dir = tempDir(t);
  await populated(dir);
  const s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.deepEqual(st.promised, { round: 3, replica: 2 });
  assert.equal(st.commitIndex, 2);
  assert.deepEqual(
    st.entries.map((e) => [e.slot, e.ballot?.round, e.value.toString()]),
    [
      [1, 3, 'MARKER-one'],
      [2, 3, 'MARKER-two'],
      [3, 3, 'MARKER-three'],
    ],
  );
  assert.deepEqual((await s.entries(2, 3)).map((e) => e.slot), [2, 3]);
  await s.close();
});

test('a higher-ballot value overwrites its slot; a snapshot truncates the log it covers', async (t) => {
  const dir = tempDir(t);
  await populated(dir);
  let s = await PaxosStorage.open(dir);
  s.takeLoaded();
  await s.save({ promised: { round: 4, replica: 3 }, entries: [entry(3, 4, 'newer'), entry(4, 4, 'four')] });
  await s.save({ snapshot: { index: 2, data: Buffer.from('state@2') }, commitIndex: 3 });
  await s.close();
  s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.deepEqual(st.promised, { round: 4, replica: 3 });
  assert.deepEqual(st.entries.map((e) => [e.slot, e.value.toString()]), [
    [3, 'newer'],
    [4, 'four'],
  ]);
  assert.equal(st.snapshot?.index, 2);
  assert.equal(st.snapshot?.data.toString(), 'state@2');
  assert.equal((await s.snapshot())?.index, 2);
  assert.equal(st.commitIndex, 3);
  await s.close();
});

test('the storage refuses to lower a promise, shrink the chosen prefix, or overlap writes', async (t) => {
  const s = await PaxosStorage.open(tempDir(t));
  await s.save({ promised: { round: 5, replica: 1 }, commitIndex: 4 });
  await assert.rejects(s.save({ promised: { round: 4, replica: 3 } }), /never lowered/);
  await assert.rejects(s.save({ commitIndex: 3 }), /never shrinks/);
  const first = s.save({ entries: [entry(1, 5, 'a')] });
  await assert.rejects(s.save({ entries: [entry(2, 5, 'b')] }), /must not overlap/);
  await first;
  await s.close();
});

// Damage done through LevelDB itself: each row rewrites or removes one record, then open must refuse.
const damages: { name: string; damage: (db: Level<string, Uint8Array>) => Promise<void>; message: RegExp }[] = [
  {
    name: 'a flipped bit in an accepted value',
    damage: async (db) => {
      const v = (await db.get('e:0000000000000002')) as Uint8Array;
      const bad = Uint8Array.from(v);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
      await db.put('e:0000000000000002', bad);
    },
    message: /checksum mismatch/,
  },
  {
    name: 'a torn promise record',
    damage: async (db) => {
      const v = (await db.get('m:promised')) as Uint8Array;
      await db.put('m:promised', v.subarray(0, 2));
    },
    message: /torn record/,
  },
  {
    name: 'a lost accepted value (a batch dropped in the middle)',
    damage: async (db) => db.del('e:0000000000000001'),
    message: /a write was lost/,
  },
  {
    name: 'a lost promise',
    damage: async (db) => db.del('m:promised'),
    message: /a write was lost/,
  },
  {
    name: 'a value copied under another slot',
    damage: async (db) => db.put('e:0000000000000001', (await db.get('e:0000000000000002')) as Uint8Array),
    message: /checksum mismatch/,
  },
  {
    name: 'a lost seal',
    damage: async (db) => db.del('m:seal'),
    message: /missing, but 5 records exist/,
  },
  {
    name: 'a stray key',
    damage: async (db) => db.put('x:stray', new Uint8Array([0, 0, 0, 0])),
    message: /checksum mismatch|unknown key/,
  },
];

for (const row of damages) {
  test(`open refuses to serve after ${row.name}`, async (t) => {
    const dir = tempDir(t);
    await populated(dir);
    const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.open();
    await row.damage(raw);
    await raw.close();
    await assert.rejects(PaxosStorage.open(dir), (e: unknown) => {
      assert.ok(e instanceof StorageCorrupt, `expected StorageCorrupt, got ${String(e)}`);
      assert.match(e.message, row.message);
      assert.match(e.message, /refusing to serve/);
      return true;
    });
  });
}

test('a byte flipped in a LevelDB table file on disk is caught at open', async (t) => {
  const dir = tempDir(t);
  await populated(dir);
  // A reopen flushes LevelDB's write-ahead log into a sorted table (.ldb); compression is off, so the value
  // bytes appear verbatim in the file.
  const s = await PaxosStorage.open(dir);
  await s.close();
  const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb'));
  let flipped = false;
  for (const f of tables) {
    const path = join(dir, f);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('MARKER-two');
    if (at < 0) continue;
    bytes[at + 7] = (bytes[at + 7] ?? 0) ^ 0x20;
    writeFileSync(path, bytes);
    flipped = true;
  }
  assert.ok(flipped, `no table file holds the value (files: ${readdirSync(dir).join(', ')})`);
  // LevelDB does not verify block checksums on reads by default, so either it notices or our record checksum
  // does; both refuse to open.
  await assert.rejects(PaxosStorage.open(dir), /checksum mismatch|[Cc]orrupt/);
});

test('a synced save survives a process that is killed right after it returns', async (t) => {
  const dir = tempDir(t);
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { PaxosStorage } from ${JSON.stringify(new URL('./storage.ts', import.meta.url).pathname)};
    const s = await PaxosStorage.open(process.argv[1]);
    await s.save({ promised: { round: 9, replica: 1 }, entries: [{ slot: 1, ballot: { round: 9, replica: 1 }, noop: false, value: Buffer.from('kept') }] });
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.deepEqual(st.promised, { round: 9, replica: 1 });
  assert.equal(st.entries[0]?.value.toString(), 'kept');
  await s.close();
});

/** entryKeys counts the log records on disk (storage closed). */
async function entryKeys(dir: string): Promise<number[]> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const slots: number[] = [];
  for await (const key of db.keys({ gte: 'e:', lt: 'e;' })) slots.push(Number.parseInt(key.slice(2), 16));
  await db.close();
  return slots;
}

test('a snapshot takes the entries it covers out of the seal and a range clear deletes them; a crash before the clear leaves a disk that opens', async (t) => {
  const dir = tempDir(t);
  const n = 1_210;
  let s = await PaxosStorage.open(dir);
  s.takeLoaded();
  for (let from = 1; from <= n; from += 100) {
    await s.save({ entries: Array.from({ length: Math.min(100, n - from + 1) }, (_, i) => entry(from + i, 1, `v${from + i}`)), commitIndex: Math.min(from + 99, n) });
  }
  const snap = n - 5;
  await s.save({ snapshot: { index: snap, data: Buffer.from(`state@${snap}`) }, truncateThrough: snap });
  await s.close(); // waits for the clear
  assert.deepEqual(await entryKeys(dir), [n - 4, n - 3, n - 2, n - 1, n], 'every covered entry deleted');
  s = await PaxosStorage.open(dir);
  let st = s.takeLoaded();
  assert.equal(st.snapshot?.index, snap);
  assert.deepEqual(st.entries.map((e) => e.slot), [n - 4, n - 3, n - 2, n - 1, n]);
  assert.deepEqual(await s.entries(1, n), st.entries);
  await s.save({ entries: [entry(n + 1, 1, 'x')] });
  await s.close();

  // A crash between the snapshot's batch and its clear: covered records still on disk. They are outside the seal,
  // so the disk opens, they are not handed to the core, and the open clears them.
  let raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await raw.open();
  const record = (slot: number, value: string): Uint8Array => {
    const payload = PaxosEntry.encode(entry(slot, 1, value)).finish();
    const key = `e:${slot.toString(16).padStart(16, '0')}`;
    const out = new Uint8Array(4 + payload.length);
    new DataView(out.buffer).setUint32(0, crc32(payload, crc32(key)), true);
    out.set(payload, 4);
    return out;
  };
  await raw.put(`e:${(7).toString(16).padStart(16, '0')}`, record(7, 'v7'));
  await raw.put(`e:${(snap).toString(16).padStart(16, '0')}`, record(snap, `v${snap}`));
  await raw.close();
  assert.deepEqual(await entryKeys(dir), [7, snap, n - 4, n - 3, n - 2, n - 1, n, n + 1]);
  s = await PaxosStorage.open(dir);
  st = s.takeLoaded();
  assert.deepEqual(st.entries.map((e) => e.slot), [n - 4, n - 3, n - 2, n - 1, n, n + 1], 'garbage is not handed to the core');
  await s.close();
  assert.deepEqual(await entryKeys(dir), [n - 4, n - 3, n - 2, n - 1, n, n + 1], 'and the open cleared it');

  // Garbage is still checked: a corrupt record anywhere means the disk cannot be trusted.
  raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await raw.open();
  const bad = record(9, 'v9');
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  await raw.put(`e:${(9).toString(16).padStart(16, '0')}`, bad);
  await raw.close();
  await assert.rejects(PaxosStorage.open(dir), (e: unknown) => e instanceof StorageCorrupt && /checksum mismatch/.test(e.message));
});

/** snapshotFiles lists the snapshot files beside the LevelDB (storage closed or not). */
function snapshotFiles(dir: string): string[] {
  return readdirSync(join(dir, 'snapshots')).sort();
}

const SNAP_3 = 'snapshot-0000000000000003.bin';
const SNAP_5 = 'snapshot-0000000000000005.bin';

test('a snapshot lives in its own file; a newer one replaces it and the older file is removed', async (t) => {
  const dir = tempDir(t);
  let s = await PaxosStorage.open(dir);
  s.takeLoaded();
  await s.save({ entries: [1, 2, 3, 4, 5, 6].map((i) => entry(i, 1, `v${i}`)), commitIndex: 6 });
  await s.save({ snapshot: { index: 3, data: Buffer.from('state@3') }, truncateThrough: 3 });
  assert.deepEqual(snapshotFiles(dir), [SNAP_3]);
  assert.equal(readFileSync(join(dir, 'snapshots', SNAP_3), 'utf8'), 'state@3');
  await s.save({ snapshot: { index: 5, data: Buffer.from('state@5') }, truncateThrough: 5 });
  await s.close(); // waits for the removal queued behind the range clear
  assert.deepEqual(snapshotFiles(dir), [SNAP_5]);
  s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.equal(st.snapshot?.index, 5);
  assert.equal(st.snapshot?.data.toString(), 'state@5');
  assert.equal((await s.snapshot())?.data.toString(), 'state@5');
  assert.deepEqual(st.entries.map((e) => e.slot), [6]);
  await s.close();
});

/** withSnapshotAt3 leaves a closed storage whose snapshot (index 3) is in SNAP_3. */
async function withSnapshotAt3(dir: string): Promise<void> {
  const s = await PaxosStorage.open(dir);
  s.takeLoaded();
  await s.save({ entries: [1, 2, 3, 4].map((i) => entry(i, 1, `v${i}`)), commitIndex: 4 });
  await s.save({ snapshot: { index: 3, data: Buffer.from('state@3 MARKER') }, truncateThrough: 3 });
  await s.close();
}

for (const c of [
  { name: 'a byte flipped in the snapshot file', damage: (p: string) => writeFileSync(p, Buffer.from('state@3 MARKEr')), error: /checksum mismatch/ },
  { name: 'a torn (short) snapshot file', damage: (p: string) => writeFileSync(p, Buffer.from('state@3')), error: /torn/ },
  { name: 'a missing snapshot file', damage: (p: string) => rmSync(p), error: /unreadable/ },
]) {
  test(`${c.name} is caught at open`, async (t) => {
    const dir = tempDir(t);
    await withSnapshotAt3(dir);
    c.damage(join(dir, 'snapshots', SNAP_3));
    await assert.rejects(PaxosStorage.open(dir), (e: unknown) => e instanceof StorageCorrupt && c.error.test(e.message));
  });
}

test('a snapshot file no record references (a crash before its batch) is swept at open; the referenced one stays', async (t) => {
  const dir = tempDir(t);
  await withSnapshotAt3(dir);
  writeFileSync(join(dir, 'snapshots', SNAP_5), 'state@5, never referenced');
  writeFileSync(join(dir, 'snapshots', 'notes.txt'), 'not ours');
  const s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.equal(st.snapshot?.index, 3);
  assert.equal(st.snapshot?.data.toString(), 'state@3 MARKER');
  await s.close();
  assert.deepEqual(snapshotFiles(dir), ['notes.txt', SNAP_3]);
});

test('a snapshot record from before snapshot files (the whole PaxosSnapshot inside) still opens', async (t) => {
  const dir = tempDir(t);
  await withSnapshotAt3(dir);
  // Rewrite the snapshot record the old way, keeping the seal right: the seal sums record checksums, so the new
  // record's checksum replaces the ref's.
  const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await raw.open();
  const framed = (key: string, payload: Uint8Array): Uint8Array => {
    const out = new Uint8Array(4 + payload.length);
    new DataView(out.buffer).setUint32(0, crc32(payload, crc32(key)), true);
    out.set(payload, 4);
    return out;
  };
  const oldRecord = await raw.get('s:snapshot');
  assert.ok(oldRecord);
  const oldSum = new DataView(oldRecord.buffer, oldRecord.byteOffset, 4).getUint32(0, true);
  const legacy = PaxosSnapshot.encode({ index: 3, data: Buffer.from('legacy state@3') }).finish();
  const legacySum = crc32(legacy, crc32('s:snapshot'));
  const sealRecord = await raw.get('m:seal');
  assert.ok(sealRecord);
  const seal = Buffer.from(sealRecord.subarray(4));
  seal.writeUInt32LE((seal.readUInt32LE(12) - oldSum + legacySum) >>> 0, 12);
  await raw.batch([
    { type: 'put', key: 's:snapshot', value: framed('s:snapshot', legacy) },
    { type: 'put', key: 'm:seal', value: framed('m:seal', seal) },
  ]);
  await raw.close();
  const s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.equal(st.snapshot?.data.toString(), 'legacy state@3');
  await s.close();
  assert.deepEqual(snapshotFiles(dir), [], 'the file no record names any more is swept');
});
