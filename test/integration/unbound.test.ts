// End to end with a real resolver from Debian as the upstream: Unbound serving a local zone on a
// loopback port, edgedns forwarding to it, dig asking edgedns.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { freePort } from '../../bench/procs.ts';
import { unboundServer } from '../../bench/unbound.ts';
import { tempDir } from '../helpers/tmp.ts';

let unbound: ChildProcess;
let srv: RunningServer;
let port: number;
before(async () => {
  port = await freePort();
  const dir = tempDir('edgedns-unbound-');
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `${unboundServer({ port, dir })}  local-zone: "unbound.test." static
  local-data: "unbound.test. 600 IN SOA ns.unbound.test. h.unbound.test. 1 3600 600 86400 120"
  local-data: "www.unbound.test. 600 IN A 192.0.2.123"
  local-data: 'txt.unbound.test. 600 IN TXT "from unbound"'
`,
  );
  unbound = spawn('unbound', ['-d', '-c', conf], { stdio: 'ignore' });
  // Wait until it answers.
  for (let i = 0; i < 50; i++) {
    const r = await dig({ host: '127.0.0.1', port }, ['+time=1', 'www.unbound.test']).catch(() => undefined);
    if (r?.status === 'NOERROR') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  srv = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--upstream', `127.0.0.1:${port}`] });
});
after(async () => {
  await srv?.stop();
  if (unbound && unbound.exitCode === null) {
    const gone = once(unbound, 'exit');
    unbound.kill('SIGTERM');
    await gone;
  }
});

describe('with Unbound as the upstream', () => {
  it('forwards, then answers from the cache', async () => {
    const r = await dig(srv, ['www.unbound.test']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answer[0]?.data, '192.0.2.123');
    assert.ok(r.flags.includes('ra'));
    const t = await dig(srv, ['+tcp', 'txt.unbound.test', 'TXT']);
    assert.equal(t.answer[0]?.data, '"from unbound"');
    await new Promise((res) => setTimeout(res, 1100));
    const again = await dig(srv, ['www.unbound.test']);
    assert.ok((again.answer[0]?.ttl ?? 600) < 600, 'served from the cache, TTL counted down');
  });
  it('passes NXDOMAIN with the SOA through and caches it', async () => {
    const r = await dig(srv, ['missing.unbound.test']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.equal(r.authority[0]?.type, 'SOA');
  });
});
