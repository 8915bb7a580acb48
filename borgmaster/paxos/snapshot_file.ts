// SnapshotFiles keeps each state-machine snapshot in a file of its own under the storage directory, and LevelDB
// only a small checksummed reference to it (SnapshotRef). Why: a multi-MB snapshot put into a LevelDB batch was
// copied twice on the event loop (~15 ms for 9 MB) and then rewritten by LevelDB's log, memtable flush and
// compactions on every replica; a file is written once, from the snapshot's own buffer, in libuv's thread pool.
import { mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert } from '../../model/assert';

/**
 * SnapshotRef is what LevelDB stores for a snapshot: its index, and the size and CRC-32 of its file's bytes (the
 * snapshot data, nothing else). The record holding it has its own checksum like every record (storage.ts).
 */
export interface SnapshotRef {
  index: number;
  bytes: number;
  crc: number;
}

/** SNAPSHOT_REF_MAGIC starts an encoded ref; an older embedded PaxosSnapshot record starts with 0x08 or 0x12. */
export const SNAPSHOT_REF_MAGIC = 0xf1;
const REF_BYTES = 1 + 8 + 8 + 4;
/** The directory, inside the storage directory (LevelDB ignores names it did not create), and the file names. */
const SNAPSHOT_DIR = 'snapshots';
const FILE_PATTERN = /^snapshot-([0-9a-f]{16})\.bin$/;

export function encodeSnapshotRef(ref: SnapshotRef): Uint8Array {
  assert(Number.isSafeInteger(ref.index) && ref.index > 0, `snapshot index ${ref.index}`);
  assert(Number.isSafeInteger(ref.bytes) && ref.bytes >= 0, `snapshot size ${ref.bytes}`);
  const out = new Uint8Array(REF_BYTES);
  const v = new DataView(out.buffer);
  out[0] = SNAPSHOT_REF_MAGIC;
  v.setBigUint64(1, BigInt(ref.index), true);
  v.setBigUint64(9, BigInt(ref.bytes), true);
  v.setUint32(17, ref.crc >>> 0, true);
  return out;
}

/** isSnapshotRef tells a ref from an older record that embedded the whole PaxosSnapshot. */
export function isSnapshotRef(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === SNAPSHOT_REF_MAGIC;
}

/** decodeSnapshotRef returns undefined for a payload that is not a well-formed ref. */
export function decodeSnapshotRef(payload: Uint8Array): SnapshotRef | undefined {
  if (payload.length !== REF_BYTES || payload[0] !== SNAPSHOT_REF_MAGIC) return undefined;
  const v = new DataView(payload.buffer, payload.byteOffset, REF_BYTES);
  const index = v.getBigUint64(1, true);
  const bytes = v.getBigUint64(9, true);
  if (index === 0n || index > BigInt(Number.MAX_SAFE_INTEGER) || bytes > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { index: Number(index), bytes: Number(bytes), crc: v.getUint32(17, true) };
}

function fileName(index: number): string {
  return `snapshot-${index.toString(16).padStart(16, '0')}.bin`;
}

/** fsyncPath makes a directory's entries (or a file's contents) durable. */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * SnapshotFiles owns `<storage dir>/snapshots`. Ordering, which storage.ts keeps: write() a snapshot's file (it is
 * durable when write resolves) BEFORE the LevelDB batch that references it; remove() the older file only AFTER that
 * batch is durable; at open, read() the referenced file (verified) and sweep() every other file (a crash left it).
 */
export class SnapshotFiles {
  private constructor(readonly dir: string) {}

  /** open creates the directory if needed (and makes its entry durable in the storage directory). */
  static async open(storageDir: string): Promise<SnapshotFiles> {
    const dir = join(storageDir, SNAPSHOT_DIR);
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncPath(storageDir);
    return new SnapshotFiles(dir);
  }

  /**
   * write stores data as snapshot `index`, synced with its directory entry, and returns its ref. It overwrites a
   * file of the same index (one a crash left unreferenced); the caller computes nothing: the CRC is taken here.
   */
  async write(index: number, data: Uint8Array): Promise<SnapshotRef> {
    const ref: SnapshotRef = { index, bytes: data.length, crc: crc32(data) };
    const fh = await open(join(this.dir, fileName(index)), 'w');
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsyncPath(this.dir);
    return ref;
  }

  /** read returns the snapshot's bytes, or a description of why they cannot be trusted. */
  async read(ref: SnapshotRef): Promise<{ data: Buffer } | { problem: string }> {
    let data: Buffer;
    try {
      data = await readFile(join(this.dir, fileName(ref.index)));
    } catch (e: unknown) {
      return { problem: `snapshot file ${fileName(ref.index)} unreadable: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (data.length !== ref.bytes) return { problem: `snapshot file ${fileName(ref.index)} has ${data.length} bytes, its record says ${ref.bytes} (torn)` };
    const crc = crc32(data);
    if (crc !== ref.crc) return { problem: `snapshot file ${fileName(ref.index)} checksum mismatch: stored ${ref.crc.toString(16)}, computed ${crc.toString(16)}` };
    return { data };
  }

  /** remove deletes snapshot `index`'s file (one a newer durable snapshot replaced); a missing file is fine. */
  async remove(index: number): Promise<void> {
    await rm(join(this.dir, fileName(index)), { force: true });
  }

  /** sweep deletes every file here except the snapshot `keep` (undefined: keep none); returns the names deleted. */
  async sweep(keep: number | undefined): Promise<string[]> {
    const keepName = keep === undefined ? undefined : fileName(keep);
    const removed: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (name === keepName) continue;
      // Only our own names are ours to delete; anything else is left for a human to look at.
      if (!FILE_PATTERN.test(name)) continue;
      await rm(join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }
}
