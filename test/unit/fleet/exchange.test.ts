// The state exchange as a hostile peer would try it: an answer signed with another key, replayed
// for another nonce, too large, never finished, not JSON or missing fields; and the server side's
// refusal of a request without a well-formed nonce. Real HTTP on loopback, port 0.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SiteState } from '../../../src/fleet/index.ts';
import { MAC_HEADER, fetchState, macOf, parseState, stateAnswer } from '../../../src/fleet/index.ts';

const KEY = Buffer.from('the fleet key, 32 bytes long....');
const STATE: SiteState = {
  site: 'ams1',
  version: '0.1.0',
  state: 'UP',
  verdict: 'ok',
  announced: true,
  budgeted: false,
  leaving: false,
  serials: { 'example.test.': 7 },
  configHash: 'abc',
  load: { utilization: 0.1, lagMs: 3 },
  sees: { fra1: true },
  acks: [],
};

/** How the fake peer answers the next request. */
let behaviour: (url: URL, res: http.ServerResponse) => void;
let server: http.Server;
let port: number;

before(async () => {
  server = http.createServer((req, res) => behaviour(new URL(req.url ?? '/', 'http://x'), res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const peer = (): { host: string; port: number } => ({ host: '127.0.0.1', port });
const honest =
  (key: Buffer, body = JSON.stringify(STATE)) =>
  (url: URL, res: http.ServerResponse) => {
    res.writeHead(200, { [MAC_HEADER]: macOf(key, url.searchParams.get('nonce') ?? '', body) });
    res.end(body);
  };

describe('fleet state exchange', () => {
  it('reads a state signed with the fleet key for its own nonce', async () => {
    behaviour = (url, res) => {
      const a = stateAnswer(KEY, url, STATE);
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    };
    assert.deepEqual(await fetchState(peer(), KEY, 2000), STATE);
  });

  it('refuses a state signed with another key', async () => {
    behaviour = honest(Buffer.from('another key, also 32 bytes long.'));
    await assert.rejects(fetchState(peer(), KEY, 2000), /bad MAC/);
  });

  it('refuses a recorded answer replayed for another nonce', async () => {
    const recorded = macOf(KEY, 'ab'.repeat(16), JSON.stringify(STATE));
    behaviour = (_url, res) => {
      res.writeHead(200, { [MAC_HEADER]: recorded });
      res.end(JSON.stringify(STATE));
    };
    await assert.rejects(fetchState(peer(), KEY, 2000), /bad MAC/);
  });

  it('gives up on an answer over 64 KiB, and on one that never ends', async () => {
    behaviour = (_url, res) => {
      res.writeHead(200);
      res.end('x'.repeat(100_000));
    };
    await assert.rejects(fetchState(peer(), KEY, 2000), /more than 65536 bytes/);
    behaviour = (_url, res) => {
      res.writeHead(200);
      res.write('{');
    };
    await assert.rejects(fetchState(peer(), KEY, 300), /no answer within 300 ms/);
  });

  it('refuses a signed body that is not a state: not JSON, a field missing or of the wrong kind', async () => {
    behaviour = honest(KEY, 'not json');
    await assert.rejects(fetchState(peer(), KEY, 2000), /JSON/);
    const { announced: _a, ...noAnnounced } = STATE;
    behaviour = honest(KEY, JSON.stringify(noAnnounced));
    await assert.rejects(fetchState(peer(), KEY, 2000), /state: announced is not true or false/);
    assert.throws(() => parseState(JSON.stringify({ ...STATE, sees: { x: 'yes' } })), /sees has a bad value/);
    assert.throws(() => parseState(JSON.stringify({ ...STATE, verdict: 'fine' })), /bad verdict/);
    assert.throws(() => parseState(JSON.stringify({ ...STATE, acks: [1] })), /acks is not a list of names/);
  });

  it('an HTTP error says so', async () => {
    behaviour = (_url, res) => {
      res.writeHead(403);
      res.end('{"ok":false,"message":"Host is not this admin endpoint"}');
    };
    await assert.rejects(fetchState(peer(), KEY, 2000), /HTTP 403: .*Host is not this admin endpoint/);
  });

  it('the server side answers 400 without a nonce of 32 hex digits', () => {
    for (const q of ['', '?nonce=', '?nonce=zz', `?nonce=${'a'.repeat(33)}`]) {
      const a = stateAnswer(KEY, new URL(`http://x/fleet/state${q}`), STATE);
      assert.equal(a.status, 400, q);
      assert.equal(a.headers[MAC_HEADER], undefined);
    }
  });
});
