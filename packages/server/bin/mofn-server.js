#!/usr/bin/env node
// Entry of the coordinator server: TypeScript sources run through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { serverMain } = await import('../src/main.ts');
process.exitCode = await serverMain(process.argv.slice(2));
