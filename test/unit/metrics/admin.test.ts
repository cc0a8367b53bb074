// The admin endpoint's access rules: mutating requests from non-loopback clients need the token.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/core/index.ts';
import { isLoopback, startAdmin } from '../../../src/metrics/index.ts';

const TOKEN = 's3cret-token-0123456789';

async function admin(opts: { remote: boolean; tokenFile: string | null }) {
  let flushed = 0;
  const registry = new Registry();
  const a = await startAdmin({
    host: '127.0.0.1', port: 0, tokenFile: opts.tokenFile, registry: () => registry, status: () => ({ site: 'x' }), ready: () => ({ ready: true, reason: 'test' }),
    actions: { '/cache/flush': () => ({ ok: true, message: `flushed ${++flushed}` }) }, log: silentLogger,
    // Acting as a client from another address: nothing counts as local.
    ...(opts.remote && { isLocal: () => false }),
  });
  return { a, url: `http://127.0.0.1:${a.port}`, flushed: () => flushed };
}

describe('admin endpoint access', () => {
  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
    for (const a of ['192.0.2.7', '::ffff:192.0.2.7', '2001:db8::1']) assert.ok(!isLoopback(a), a);
  });
  it('accepts a mutating request from loopback without a token', async () => {
    const s = await admin({ remote: false, tokenFile: null });
    const r = await fetch(`${s.url}/cache/flush`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(s.flushed(), 1);
    await s.a.close();
  });
  it('refuses a mutating request from elsewhere without the token, and accepts it with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgedns-admin-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const s = await admin({ remote: true, tokenFile });
    assert.equal((await fetch(`${s.url}/cache/flush`, { method: 'POST' })).status, 403);
    assert.equal((await fetch(`${s.url}/cache/flush`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 403);
    assert.equal(s.flushed(), 0);
    const ok = await fetch(`${s.url}/cache/flush`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(s.flushed(), 1);
    // Reading stays open: monitoring scrapes from elsewhere.
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200);
    await s.a.close();
  });
  it('without a token file, elsewhere is always refused', async () => {
    const s = await admin({ remote: true, tokenFile: null });
    const r = await fetch(`${s.url}/cache/flush`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 403);
    await s.a.close();
  });
  it('rejects a short token file at startup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgedns-admin-'));
    writeFileSync(join(dir, 't'), 'short');
    await assert.rejects(admin({ remote: true, tokenFile: join(dir, 't') }), /shorter than 16/);
  });
  it('answers 404 for unknown paths and 400 for a bad body', async () => {
    const s = await admin({ remote: false, tokenFile: null });
    assert.equal((await fetch(`${s.url}/nope`)).status, 404);
    assert.equal((await fetch(`${s.url}/cache/flush`, { method: 'POST', body: '[1,2]' })).status, 400);
    await s.a.close();
  });
});
