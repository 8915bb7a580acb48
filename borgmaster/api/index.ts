// The Borgmaster API (DESIGN.md §4, §5): the BorgMaster gRPC service over an injected replicated log, with
// validation, quotas, idempotency, authorization by client certificate, and Watch streams.
export { Master, isAdmin, parsePage, resultError, type MasterOptions, type ReplicatedLog, type LogStatus, type TaskLogSource } from './master';
export { WatchHub, Watcher, WATCH_SNAPSHOT_PART_ITEMS, type WatchHubOptions } from './watch_hub';
export { borgMasterHandlers, startMasterServer, addBorgMasterService, BORG_MASTER_SERVICE, type MasterServer } from './service';
