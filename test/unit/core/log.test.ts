import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/core/index.ts';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

function capture(format: 'json' | 'text', level: 'debug' | 'info' | 'warn' = 'info') {
  const lines: string[] = [];
  const log = createLogger({ format, level, base: { site: 'fra1' }, write: (l) => lines.push(l), now: () => T0 });
  return { log, lines };
}

describe('createLogger', () => {
  it('writes one JSON object a line: time, level, message, the fixed fields, then the line’s', () => {
    const { log, lines } = capture('json');
    log.child({ worker: 1 }).warn('upstream unhealthy', { upstream: '192.0.2.1:53' });
    assert.deepEqual(JSON.parse(lines[0] as string), {
      time: '2026-11-30T12:00:00.000Z',
      level: 'warn',
      msg: 'upstream unhealthy',
      site: 'fra1',
      worker: 1,
      upstream: '192.0.2.1:53',
    });
  });

  it('writes text lines with the same fields: bare words bare, the rest quoted or as JSON', () => {
    const { log, lines } = capture('text');
    log.error('reload failed', {
      problems: ['a.zone:3: bad TTL'],
      file: '/etc/edgedns/my zone.zone',
      count: 2,
      ok: false,
      none: undefined,
    });
    assert.equal(
      lines[0],
      '2026-11-30T12:00:00.000Z ERROR reload failed site=fra1 problems=["a.zone:3: bad TTL"] file="/etc/edgedns/my zone.zone" count=2 ok=false\n',
    );
    log.info('started', { listen: [{ host: '127.0.0.1', port: 53 }] });
    assert.equal(
      lines[1],
      '2026-11-30T12:00:00.000Z INFO  started site=fra1 listen=[{"host":"127.0.0.1","port":53}]\n',
    );
  });

  it('changes its level while it runs, children included', () => {
    const { log, lines } = capture('json', 'warn');
    const child = log.child({ worker: 2 });
    child.info('not yet');
    log.setLevel('debug');
    child.debug('now');
    log.setLevel('error');
    log.warn('quiet again');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['now'],
    );
  });
});
