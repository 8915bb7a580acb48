// followWatchHub feeds a CellStateSource from the replica's WatchHub (borgmaster/api), the same change stream the
// API's Watch serves, so the status page needs no second hook into apply(). If the hub cuts the follower off
// (too far behind, or a checkpoint restore), it follows again from the current index and tells pages to refresh.
import { BorgError } from '../../model/errors';
import type { WatchEvent } from '../../proto/index';
import type { WatchHub, Watcher } from '../api/watch_hub';
import { changeNotice, type CellStateSource } from './cell_source';

/** REFOLLOW_DELAY_MS: how soon to try following again when the hub refused (too many watchers). */
const REFOLLOW_DELAY_MS = 1_000;

function noticeOf(ev: WatchEvent, cell: string): ReturnType<typeof changeNotice> {
  if (ev.snapshot) return { logIndex: ev.logIndex, all: true, jobs: [], tasks: [], machines: [], events: 0 };
  const jobs = new Set<string>(ev.deletedJobIds);
  for (const j of ev.jobs) if (j.spec !== undefined) jobs.add(`${cell}/${j.spec.user}/${j.spec.name}`);
  const tasks = new Set<string>(ev.deletedTaskIds);
  for (const t of ev.tasks) tasks.add(t.id);
  const machines = new Set<string>(ev.machines.map((m) => m.name));
  return changeNotice(ev.logIndex, jobs, tasks, machines, ev.events.length);
}

/** followWatchHub starts following (throws if the hub is full now); the returned function stops it. */
export function followWatchHub(hub: WatchHub, source: CellStateSource, appliedIndex: () => number): () => void {
  let watcher: Watcher | undefined;
  let stopped = false;
  const follow = (): void => {
    const w = hub.subscribe(appliedIndex());
    watcher = w;
    w.onReady = () => {
      for (let ev = w.take(); ev !== undefined; ev = w.take()) source.notify(noticeOf(ev, source.cell));
      if (w.closed && !stopped && watcher === w) {
        // Cut off: whatever was missed, pages must refresh; then follow again from now. Deferred, because the
        // hub is in the middle of publishing.
        source.notify({ logIndex: appliedIndex(), all: true, jobs: [], tasks: [], machines: [], events: 0 });
        watcher = undefined;
        queueMicrotask(retry);
      }
    };
    w.onReady();
  };
  // Re-following can find the hub full (MAX_WATCHERS): try again a little later rather than crash the replica.
  let timer: NodeJS.Timeout | undefined;
  const retry = (): void => {
    if (stopped) return;
    try {
      follow();
    } catch (e: unknown) {
      if (!(e instanceof BorgError)) throw e;
      timer = setTimeout(retry, REFOLLOW_DELAY_MS);
      timer.unref();
    }
  };
  follow();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    if (watcher !== undefined) hub.unsubscribe(watcher);
  };
}
