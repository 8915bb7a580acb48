// The `borg` CLI's library: the cell client (leader redirects, idempotent retries, one deadline), the one flag
// parser, output helpers (tables, --json), job and task references, and deterministic request ids.
export { CellClient, RPCS, afterFailure, backoffMs, connectCell, defaultUser, DEFAULT_CELL_FILE, DEFAULT_TIMEOUT_MS, DEFAULT_USER, type ClientOptions, type ConnectOptions, type Connection, type Next, type Rpc } from './client';
export { userCredentials, type UserCredentials } from './credentials';
export { parseFlags, expectPositionals, flagHelp, type FlagKind, type FlagSpec, type FlagSpecs, type Parsed, type ParsedFlags } from './flags';
export { table, jsonLines, json, cpu, bytes, resources, usedOf, age, isoTime, taskStateName, machineStateName, eventTypeName, type Column } from './output';
export { parseJobRef, parseTaskRef, parseTaskRefId, isTaskRef } from './refs';
export { submitRequestId, updateRequestId, killRequestId, machineRequestId, quotaRequestId } from './request_ids';
export { defineCommand, withCell, cellConfig, allPages, out, note, helpText, CELL_FLAGS, HELP_FLAG, CELL_HELP, type CellFlags, type CommandDef } from './command';
export { jobState, jobCounts, jobJson, rolloutText } from './jobs';
export { listMachines, listMachinesPolled, getMachine } from './reads';
export { specDiff } from './spec_diff';
export { fitGuidance } from './guidance';
