#!/usr/bin/env node
// The `borg` command's entry point: loads the TypeScript CLI through tsx, so `npx borg` works after npm install.
import { register } from 'tsx/esm/api';

// grpc-js sets the TLS server name to the peer's IP address on loopback; Node warns about it on every connection.
process.noDeprecation = true;

register();
await import('./main.ts');
