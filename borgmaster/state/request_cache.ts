// RequestCache remembers the results of recently applied client requests, keyed by (caller, request id), so a
// retried request has its effect once (DESIGN.md §5). Bounded by IDEMPOTENCY_CACHE_ENTRIES: the oldest entry is
// forgotten first (insertion order, identical on every replica). A fingerprint of the request body catches a
// request id reused for a different request.
import { IDEMPOTENCY_CACHE_ENTRIES } from '../../cells/limits';
import { assert } from '../../model/assert';
import type { CommandResult } from '../../proto/index';

export interface CachedRequest {
  fingerprint: number;
  result: CommandResult;
}

export function requestKey(caller: string, requestId: string): string {
  return `${caller}\u0000${requestId}`;
}

/** fingerprint is FNV-1a over the encoded request body. */
export function fingerprint(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

export class RequestCache {
  private entries = new Map<string, CachedRequest>();

  constructor(readonly capacity: number = IDEMPOTENCY_CACHE_ENTRIES) {
    assert(Number.isInteger(capacity) && capacity > 0, 'RequestCache capacity must be positive');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedRequest | undefined {
    return this.entries.get(key);
  }

  put(key: string, entry: CachedRequest): void {
    assert(!this.entries.has(key), 'a request is remembered once');
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      assert(oldest.done !== true, 'non-empty cache has an oldest entry');
      this.entries.delete(oldest.value);
    }
  }

  /** all lists entries oldest first (for checkpoints). */
  all(): IterableIterator<[string, CachedRequest]> {
    return this.entries.entries();
  }
}
