#!/usr/bin/env node
// Process entry: run the CLI and exit with its code.
import { runCli } from './cli/index.js';

process.exitCode = await runCli(process.argv.slice(2));
