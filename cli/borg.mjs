#!/usr/bin/env node
// The `borg` command's entry point: loads the TypeScript CLI through tsx, so `npx borg` works after npm install.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
