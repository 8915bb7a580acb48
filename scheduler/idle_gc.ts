// idleMinorGc collects V8's young generation now, in the scheduler process's idle time between passes, so that the
// next pass starts with an empty nursery and is not interrupted by a scavenge. An online pass on the 2011 trace
// allocates ~2.5 MB (queue entries, assignments, verdicts), so with the default nursery a scavenge of 4-6 ms landed
// in about one pass in six, and set the slowest pass of a run; collected between passes it costs ~1 ms of idle
// time instead (measured in scheduler/README.md). Same total work, moved out of the pass.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' | 'major' }) => void;
let gcFunction: GcFunction | undefined;

/** idleMinorGc runs a young-generation collection; call it when the process has nothing to do until the next pass. */
export function idleMinorGc(): void {
  if (gcFunction === undefined) {
    // V8 installs `gc` in contexts created after the flag is set; the function collects this whole isolate.
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as GcFunction;
  }
  gcFunction({ type: 'minor' });
}
