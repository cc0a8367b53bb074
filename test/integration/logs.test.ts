// The node's log: `log.format: text` gives text lines only (start-up included), and a reload
// changes the log level at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ZONES, runCli, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('edgedns-logs-');
const TEXT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \S/;

describe('log.format: text', () => {
  it('every line the node writes is a text line, from start to stop', async () => {
    const cfg = join(dir, 'text.yaml');
    writeFileSync(
      cfg,
      [
        'listen: ["127.0.0.1:0"]',
        `zones: { dir: ${JSON.stringify(ZONES)} }`,
        'upstreams: []',
        'admin: { listen: null, socket: null }',
        'log: { format: text }',
      ].join('\n'),
    );
    const proc = spawn(process.execPath, [MAIN, 'serve', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const t0 = performance.now();
    while (!/ INFO {2}started /.test(err) && proc.exitCode === null && performance.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 100));
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    const lines = err.trim().split('\n');
    assert.ok(
      lines.some((l) => / INFO {2}started site=\S+ config=/.test(l)),
      err,
    );
    for (const l of lines) assert.match(l, TEXT_LINE);
  });

  it('a failed start is a text line too', async () => {
    const cfg = join(dir, 'text-bad.yaml');
    writeFileSync(
      cfg,
      ['listen: ["127.0.0.1:0"]', 'zones: { dir: /nonexistent-edgedns-zones }', 'log: { format: text }'].join('\n'),
    );
    const r = await runCli(['serve', '--config', cfg, '--admin', 'off', '--admin-socket', 'off']);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    for (const l of lines) assert.match(l, TEXT_LINE);
    assert.match(r.stderr, /ERROR start failed code=ERR_ZONE_READ problems=\[.*nonexistent-edgedns-zones/);
  });
});

describe('log.level', () => {
  it('changes at a reload: quieter at once, and back', async () => {
    const cfg = join(dir, 'level.yaml');
    const write = (level: string): void =>
      writeFileSync(
        cfg,
        [
          'listen: ["127.0.0.1:0"]',
          `zones: { dir: ${JSON.stringify(ZONES)} }`,
          'upstreams: []',
          `log: { level: ${level} }`,
        ].join('\n'),
      );
    write('info');
    const srv = await startServer({ config: cfg, args: [] });
    try {
      const reloadsLogged = (): number =>
        srv
          .logs()
          .split('\n')
          .filter((l) => l.includes('"msg":"reload ok"')).length;
      const reload = async (): Promise<void> =>
        assert.equal((await runCli(['reload', '--admin-socket', srv.adminSocket as string])).code, 0);
      write('warn');
      await reload();
      assert.match(srv.logs(), /"msg":"log level changed".*"from":"info","to":"warn"/);
      assert.equal(reloadsLogged(), 0, 'reload ok is info: not logged at warn');
      await reload();
      assert.equal(reloadsLogged(), 0);
      write('info');
      await reload();
      assert.equal(reloadsLogged(), 1, 'info again');
    } finally {
      await srv.stop();
    }
  });
});
