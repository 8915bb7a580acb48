// RequestCache remembers the results of recently applied client requests, keyed by (caller, request id), so a
// retried request has its effect once (DESIGN.md §5). Bounded by IDEMPOTENCY_CACHE_ENTRIES entries and by
// IDEMPOTENCY_CACHE_TASK_IDS task ids inside remembered results (a plan's result lists thousands): the oldest
// entry is forgotten first (insertion order and sizes are identical on every replica, so eviction is too). A fingerprint of the request body catches a
// request id reused for a different request.
import { IDEMPOTENCY_CACHE_ENTRIES, IDEMPOTENCY_CACHE_TASK_IDS } from '../../cells/limits';
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

/** weight counts the task ids a remembered result holds. */
function weight(r: CommandResult): number {
  return r.acceptedTaskIds.length + r.rejected.length + r.restartedTaskIds.length;
}

export class RequestCache {
  private entries = new Map<string, CachedRequest>();
  private taskIds = 0;

  constructor(
    readonly capacity: number = IDEMPOTENCY_CACHE_ENTRIES,
    readonly maxTaskIds: number = IDEMPOTENCY_CACHE_TASK_IDS,
  ) {
    assert(Number.isInteger(capacity) && capacity > 0, 'RequestCache capacity must be positive');
    assert(Number.isInteger(maxTaskIds) && maxTaskIds >= 0, 'RequestCache maxTaskIds must be non-negative');
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
    this.taskIds += weight(entry.result);
    // The newest entry always stays (its answer is being returned right now), whatever it weighs.
    while (this.entries.size > this.capacity || (this.taskIds > this.maxTaskIds && this.entries.size > 1)) {
      const oldest = this.entries.entries().next();
      assert(oldest.done !== true, 'non-empty cache has an oldest entry');
      this.entries.delete(oldest.value[0]);
      this.taskIds -= weight(oldest.value[1].result);
    }
  }

  /** all lists entries oldest first (for checkpoints). */
  all(): IterableIterator<[string, CachedRequest]> {
    return this.entries.entries();
  }
}
