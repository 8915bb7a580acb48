// The Borgmaster's replicated cell state (DESIGN.md §5): a deterministic state machine over protobuf commands
// (proto/borg/v1/state.proto), its checkpoints, admission checks and proto views.
export { CellState, emptyChanges, commandBodyBytes, errorResult, diffSpecs, type ApplyOutcome, type Changes, type UpdatePreview } from './cell_state';
export { snapshot, restore, CheckpointCorrupt, CHECKPOINT_FORMAT } from './checkpoint';
export { EventLog } from './event_log';
export { RequestCache, requestKey, fingerprint } from './request_cache';
export { quantiseReservation } from './reservation';
export { checkPlacement, allocatePorts, type FitVerdict } from './placement';
export * from './placement';
export { jobDemand, quotaShortfall, bandKey, isUnlimited, isProdBand, type Usage } from './quota';
export { jobView, taskView, machineView, quotaView } from './views';
export { limitOf, reservationOf, priorityOf, effectiveTaskSpec, type JobRec, type TaskRec, type MachineRec, type QuotaRec, type SpecVersion } from './records';
export * from './validate';
export { bootstrapCommands, encodeCommand, BOOTSTRAP_CALLER } from './bootstrap';
export { taskSpec, jobSpec, machine, command, bodies, largeCell, type JobSpecInput } from './builders';
