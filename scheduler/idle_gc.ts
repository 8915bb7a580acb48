// idleGc collects V8's heap now, in the scheduler process's idle time between passes, so that the next pass is not
// interrupted by the collector:
// - the young generation every time. An online pass on the 2011 trace allocates ~2.3 MB (queue entries,
//   assignments, verdicts), so with the default nursery a scavenge of 4-6 ms landed in about one pass in six and
//   could set the slowest pass of a run (scheduler/README.md);
// - the whole heap when it grew by IDLE_MAJOR_GROWTH_BYTES since it was last at its smallest: a bulk pass (a whole
//   cell scheduled from scratch) or a burst of new jobs leaves V8 ready to mark the old generation, and it did so
//   during the next online passes (marking steps on the main thread, then a pause) and made them the slowest.
// Collected between passes, the same work is done while the process waits.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8's `gc` collects the whole heap when called without options; { type: 'minor' } asks for a scavenge (any other
// type is not a full collection in this V8: measured).
type GcFunction = (options?: { type: 'minor' }) => void;
/** gcFunction: V8's collector once found; null when this runtime does not expose it (then idleGc does nothing). */
let gcFunction: GcFunction | null | undefined;

/** IDLE_MAJOR_GROWTH_BYTES: heap growth since its last low point that makes an idle collection a full one. */
export const IDLE_MAJOR_GROWTH_BYTES = 64 * 1024 * 1024;

/** heapLow: the smallest used heap seen after an idle collection (growth is measured from it). */
let heapLow = Infinity;

export type IdleGcKind = 'minor' | 'major' | 'none';

/**
 * idleGc collects the young generation, or the whole heap when it grew by `majorGrowthBytes` since its last low
 * point; call it when the process has nothing to do until the next pass. Returns what it ran: 'none' when the
 * runtime offers no way to ask for a collection (the passes then pay for them as before).
 */
export function idleGc(majorGrowthBytes = IDLE_MAJOR_GROWTH_BYTES): IdleGcKind {
  if (gcFunction === undefined) gcFunction = findGc();
  if (gcFunction === null) return 'none';
  const used = getHeapStatistics().used_heap_size;
  const kind = used - heapLow >= majorGrowthBytes ? 'major' : 'minor';
  if (kind === 'major') gcFunction();
  else gcFunction({ type: 'minor' });
  const after = getHeapStatistics().used_heap_size;
  heapLow = kind === 'major' ? after : Math.min(heapLow, after);
  return kind;
}

function findGc(): GcFunction | null {
  try {
    // V8 installs `gc` in contexts created after the flag is set; the function collects this whole isolate.
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as GcFunction) : null;
  } catch {
    return null;
  }
}
