// followWatchHub feeds a CellStateSource from the replica's WatchHub (borgmaster/api), the same change stream the
// API's Watch serves, so the status page needs no second hook into apply(). If the hub cuts the follower off
// (too far behind, or a checkpoint restore), it follows again from the current index and tells pages to refresh.
import type { WatchEvent } from '../../proto/index';
import type { WatchHub, Watcher } from '../api/watch_hub';
import { changeNotice, type CellStateSource } from './cell_source';

function noticeOf(ev: WatchEvent, cell: string): ReturnType<typeof changeNotice> {
  if (ev.snapshot) return { logIndex: ev.logIndex, all: true, jobs: [], tasks: [], machines: [], events: 0 };
  const jobs = new Set<string>(ev.deletedJobIds);
  for (const j of ev.jobs) if (j.spec !== undefined) jobs.add(`${cell}/${j.spec.user}/${j.spec.name}`);
  const tasks = new Set<string>(ev.deletedTaskIds);
  for (const t of ev.tasks) tasks.add(t.id);
  const machines = new Set<string>(ev.machines.map((m) => m.name));
  return changeNotice(ev.logIndex, jobs, tasks, machines, ev.events.length);
}

/** followWatchHub starts following; the returned function stops it. */
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
        queueMicrotask(() => {
          if (!stopped) follow();
        });
      }
    };
    w.onReady();
  };
  follow();
  return () => {
    stopped = true;
    if (watcher !== undefined) hub.unsubscribe(watcher);
  };
}
