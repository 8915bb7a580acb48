// The status page (HTTP, read-only, served by every replica) and /metrics (DESIGN.md §2, issue 8). Wire it as:
//   const metrics = new BorgMetrics({ labels: { cell, replica: String(id) } });
//   const source = new CellStateSource({ state: () => state, replica: () => replicaInfo(), whyPending: (id) => store.get(id), usage, logs, metrics });
//   metrics.bindSummary(() => source.summary());
//   const stop = followWatchHub(hub, source, () => state.appliedIndex);   // or source.publish(index, changes) after each apply
//   const server = new StatusServer({ source, metrics, host, port }); await server.start();
export type * from './source';
export { BAND_NAMES, TASK_STATE_NAMES, MACHINE_STATE_NAMES, TASK_SORT_KEYS, JOB_SORT_KEYS } from './source';
export { CellStateSource, changeNotice, machineStateName, taskStateName, type CellStateSourceOptions, type LogReader } from './cell_source';
export { BorgMetrics, PassWindow, type BorgMetricsOptions } from './metrics';
export { UsageBook, type UsageSample, type UsageShare } from './usage_book';
export { PauseMonitor } from './pause_monitor';
export { StatusServer, type StatusServerOptions } from './server';
export { LiveFeed } from './live';
export { followWatchHub } from './watch_follower';
export { html, raw, escapeHtml, href, Html } from './escape';
