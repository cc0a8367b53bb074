// The `edgedns` command line (commander). No business logic: every command calls app.ts.

import { Command, CommanderError } from 'commander';
import { isEdgeError, printZone } from '../app.js';
import { VERSION } from '../version.js';

/** Exit codes: 0 ok, 1 rejected input (zone print/check), 2 usage or config error. */
export const EXIT = { OK: 0, REJECTED: 1, USAGE: 2 } as const;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('edgedns')
    .description('Anycast DNS edge node: authoritative zones, cache, site identity, health-coupled announcement')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const zone = program.command('zone').description('parse and check zone files');
  zone
    .command('print')
    .description('parse a zone file (no zone policy) and print every record, one per line')
    .argument('<file>', 'zone file')
    .argument('<origin>', 'starting $ORIGIN, e.g. example.test.')
    .option('--generic', 'print RDATA in RFC 3597 form (\\# LEN HEX)')
    .action((file: string, origin: string, opts: { generic?: boolean }) => {
      const lines = printZone(file, origin, opts.generic === true);
      process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
    });
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (isEdgeError(err)) {
      process.stderr.write(`edgedns: ${err.message}\n`);
      return err.code === 'ERR_ZONE_PARSE' || err.code === 'ERR_ZONE_POLICY' ? EXIT.REJECTED : EXIT.USAGE;
    }
    process.stderr.write(`edgedns: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.USAGE;
  }
}
