// The real server forwarding to a fake upstream on loopback, from a config file of the given keys.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from './server.ts';
import { ZONES, startServer } from './server.ts';
import { FakeUpstream } from './upstream.ts';
import { tempDir } from './tmp.ts';

export interface Forwarder {
  up: FakeUpstream;
  srv: RunningServer;
  /** Stop the server (by its pid) and the upstream; the server's exit code. */
  close(): Promise<number | null>;
}

/** `extra` are YAML lines added to listen, zones, upstreams and the resolver's timeouts. */
export async function startForwarder(extra: readonly string[]): Promise<Forwarder> {
  const up = await FakeUpstream.start();
  const dir = tempDir('edgedns-fwd-');
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      `upstreams: ["127.0.0.1:${up.port}"]`,
      'resolver: { timeout: 300ms, deadline: 800ms }',
      'site: { id: test-site }',
      ...extra,
    ].join('\n'),
  );
  const srv = await startServer({ config: cfg, args: [] });
  return {
    up,
    srv,
    close: async () => {
      const code = await srv.stop();
      await up.close();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
