// ByteChunks holds records appended back to back in 1 MiB Buffers and dropped from the front: thousands of small
// records cost a few long-lived Buffers that the garbage collector does not trace, not an object each. Records
// never span chunks; one larger than a chunk gets a chunk of its own. A record is named by its address, chunk
// number * CHUNK_BYTES + position, which stays valid until the chunk is dropped. The KV write history
// (kv_history.ts) and the log's settled slots (log.ts) keep their bytes here.
import { assert } from '../../model/assert';

export const CHUNK_BYTES = 1 << 20;

export class ByteChunks {
  /** chunks[i] is chunk number firstChunk + i; used[i] of its bytes hold records. */
  private chunks: Buffer[] = [];
  private used: number[] = [];
  private firstChunk = 0;

  /** reserve makes room for a record of `size` bytes after the last one and returns its address (write it via chunkOf). */
  reserve(size: number): number {
    let n = this.chunks.length - 1;
    if (n < 0 || (this.used[n] as number) + size > (this.chunks[n] as Buffer).length) {
      this.chunks.push(Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size)));
      this.used.push(0);
      n += 1;
    }
    const start = this.used[n] as number;
    this.used[n] = start + size;
    // A chunk longer than CHUNK_BYTES holds one record; the next chunk number's addresses start past it all the same.
    return (this.firstChunk + n) * CHUNK_BYTES + start;
  }

  /** chunkOf returns the chunk holding the record at `address`; the record starts at positionOf(address) in it. */
  chunkOf(address: number): Buffer {
    const chunk = this.chunks[Math.floor(address / CHUNK_BYTES) - this.firstChunk];
    assert(chunk !== undefined, `no chunk holds address ${address}`);
    return chunk;
  }

  /** view returns the `length` bytes at `address` as a view of their chunk (valid until the chunk is dropped). */
  view(address: number, length: number): Buffer {
    const pos = positionOf(address);
    return this.chunkOf(address).subarray(pos, pos + length);
  }

  /** dropBefore frees the chunks wholly before `address`, the oldest record still needed. */
  dropBefore(address: number): void {
    while (Math.floor(address / CHUNK_BYTES) > this.firstChunk) {
      this.chunks.shift();
      this.used.shift();
      this.firstChunk += 1;
    }
  }

  /** partsFrom returns every record from `address` (the oldest kept) to the last, as views of the chunks, no copy. */
  partsFrom(address: number): Buffer[] {
    assert(Math.floor(address / CHUNK_BYTES) === this.firstChunk, 'the oldest kept record is in the first chunk');
    return this.chunks.map((c, i) => c.subarray(i === 0 ? positionOf(address) : 0, this.used[i]));
  }

  /** clear drops every record. */
  clear(): void {
    this.chunks = [];
    this.used = [];
    this.firstChunk = 0;
  }
}

/** positionOf is where the record at `address` starts in its chunk. */
export function positionOf(address: number): number {
  return address % CHUNK_BYTES;
}
