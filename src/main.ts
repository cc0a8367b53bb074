#!/usr/bin/env node
// Process entry: run the CLI and exit with its code.
import { runCli } from './cli/index.js';

const code = await runCli(process.argv.slice(2));
if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
