// Tests of PaxosStorage on a real LevelDB in a temp dir: what is saved comes back after reopen, the acceptor's
// rules hold at the storage boundary, and every kind of corruption on disk makes open() refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { PaxosStorage, StorageCorrupt } from './storage';
import type { PaxosEntry } from '../../proto/index';
import { PAXOS_TRUNCATE_CHUNK } from '../../cells/limits';

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

test('truncation after a snapshot is lazy: covered entries go a chunk per later batch, and every state between opens', async (t) => {
  const dir = tempDir(t);
  const n = 3 * PAXOS_TRUNCATE_CHUNK + 10;
  let s = await PaxosStorage.open(dir);
  s.takeLoaded();
  for (let from = 1; from <= n; from += 100) {
    await s.save({ entries: Array.from({ length: Math.min(100, n - from + 1) }, (_, i) => entry(from + i, 1, `v${from + i}`)), commitIndex: Math.min(from + 99, n) });
  }
  const snap = n - 5;
  await s.save({ snapshot: { index: snap, data: Buffer.from(`state@${snap}`) }, truncateThrough: snap });
  await s.close();
  assert.equal((await entryKeys(dir)).length, n - PAXOS_TRUNCATE_CHUNK, 'the snapshot batch deleted only one chunk');
  // Reopen with garbage on disk: it verifies (sealed like any record) and is not handed to the core.
  s = await PaxosStorage.open(dir);
  const st = s.takeLoaded();
  assert.equal(st.snapshot?.index, snap);
  assert.deepEqual(st.entries.map((e) => e.slot), [n - 4, n - 3, n - 2, n - 1, n]);
  assert.deepEqual(await s.entries(1, n), st.entries);
  let next = n + 1;
  for (let i = 0; i < 3; i++) await s.save({ entries: [entry(next++, 1, 'x')] });
  await s.close();
  assert.deepEqual(await entryKeys(dir), Array.from({ length: next - snap - 1 }, (_, i) => snap + 1 + i), 'all garbage gone after two more chunks');
  s = await PaxosStorage.open(dir);
  assert.equal(s.takeLoaded().entries.length, next - snap - 1);
  await s.close();
});
