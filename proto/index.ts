// The wire types, generated from proto/borg/v1/*.proto by `npm run proto` (ts-proto). Hand-written code imports
// messages and services from here, never from proto/gen directly.
export * from './gen/borg/v1/types';
export * from './gen/borg/v1/master';
export * from './gen/borg/v1/borglet';
export * from './gen/borg/v1/paxos';
export * from './gen/borg/v1/paxos_kv';
export * from './gen/borg/v1/state';
export * from './gen/borg/v1/replica';
export * from './rpc';
