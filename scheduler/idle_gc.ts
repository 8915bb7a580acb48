// idleMinorGc collects V8's young generation now, in the scheduler process's idle time between passes, so that the
// next pass starts with an empty nursery and is not interrupted by a scavenge. An online pass on the 2011 trace
// allocates ~2.3 MB (queue entries, assignments, verdicts), so with the default nursery a scavenge of 4-6 ms landed
// in about one pass in six and could set the slowest pass of a run (scheduler/README.md). Collected between passes,
// the same work is done while the process waits.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' | 'major' }) => void;
/** gcFunction: V8's collector once found; null when this runtime does not expose it (then idleMinorGc does nothing). */
let gcFunction: GcFunction | null | undefined;

/**
 * idleMinorGc runs a young-generation collection; call it when the process has nothing to do until the next pass.
 * Returns false when the runtime offers no way to ask for one (the pass then pays for its scavenges as before).
 */
export function idleMinorGc(): boolean {
  if (gcFunction === undefined) gcFunction = findGc();
  if (gcFunction === null) return false;
  gcFunction({ type: 'minor' });
  return true;
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
