// Link shards: how a replica talks to its share of the Borglets.
export { LinkShard, type LinkShardOptions, type MasterView, type MachineSample, type LinkStats } from './link_shard';
export { shardOwner, machinePhase } from './assignment';
export { desiredTasks, desiredVersion, desiredVersionCached } from './desired';
export { diffReport, type ReportDiff } from './report_diff';
export { MachineHealth, TokenBucket, Dedup } from './health';
export { checkForwarded, LINK_COMMANDS } from './forward';
