// Random names under zones/example.test.zone asked of the real server: what dig shows, and the
// exact bytes, equal to the per-name answer compiled in this process from the same zone files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildResponse, parseQuery } from '../../src/wire/index.ts';
import type { ResponseOpt } from '../../src/wire/index.ts';
import { loadZones, zoneSpecsFromDir } from '../../src/zone/index.ts';
import { dig } from '../helpers/dig.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { frame, query, tcpConnect, udpExchange } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

let srv: RunningServer;
before(async () => {
  // Hundreds of random names from one client compared byte for byte: the rate limiter (which
  // would rightly slip or drop most of them) is off; test/integration/defences.test.ts covers it.
  const cfg = join(tempDir('edgedns-synth-'), 'edgedns.yaml');
  writeFileSync(cfg, 'rateLimit: null\n');
  srv = await startServer({ config: cfg });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const random = (): string => Math.random().toString(36).slice(2, 10);
/** The server's OPT (edns.udpPayload default) for a query with EDNS and no options. */
const OPT: ResponseOpt = { udpSize: 1232, dnssecOk: false, options: new Uint8Array(0) };

describe('names that are not nodes, from the real server', () => {
  it('dig: NXDOMAIN, wildcard and referral for fresh random names', async () => {
    const nx = await dig(srv, [`${random()}.Example.TEST`, 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
    // The SOA owner is a pointer into the question: it reads in the client's case, as before.
    assert.deepEqual(
      nx.authority.map((a) => `${a.name} ${a.ttl} ${a.type}`),
      ['Example.TEST. 300 SOA'],
    );
    const name = `${random()}.${random()}.wild.example.test`;
    const w = await dig(srv, [name, 'TXT']);
    assert.equal(w.status, 'NOERROR');
    assert.deepEqual(
      w.answer.map((a) => `${a.name} ${a.type} ${a.data}`),
      [`${name}. TXT "wildcard"`],
    );
    const ref = await dig(srv, ['+norec', `${random()}.sub.example.test`, 'A']);
    assert.ok(!ref.flags.includes('aa'));
    assert.deepEqual(
      ref.additional.map((a) => `${a.name} ${a.data}`),
      ['ns1.sub.example.test. 192.0.2.53'],
    );
    // Below the glue's own name: the label collision path, same answer.
    const deep = await dig(srv, ['+norec', `${random()}.ns1.sub.example.test`, 'A']);
    assert.deepEqual(deep.authority.map((a) => `${a.type} ${a.data}`).sort(), [
      'NS ns.example.org.',
      'NS ns1.sub.example.test.',
    ]);
    const ent = await dig(srv, [`${random()}.lab.dc1.example.test`, 'AAAA']);
    assert.equal(ent.status, 'NXDOMAIN');
  });

  it('the bytes over UDP (with and without EDNS, truncated) and TCP equal the per-name answer', async () => {
    const reference = loadZones(zoneSpecsFromDir(ZONES));
    const names = [
      `${random()}.example.test`,
      `${random()}.WILD.example.test`,
      `${random()}.x.sub.example.test`,
      `x.${random()}.dc1.example.test`,
      `${random()}.ns1.sub.example.test`,
      `x.hostmaster.example.test`,
      `${random()}.old.example.test`,
      `${random()}.big.example.test`,
    ];
    const conn = await tcpConnect(srv.port);
    try {
      let id = 1;
      let sentTcp = 0;
      for (const name of names) {
        for (const type of ['A', 'TXT', 'MX', 'ANY', 'DS', 'NS']) {
          for (const edns of [false, true]) {
            const msg = query(name, type, { id: id++, edns, udpSize: 512 });
            const q = parseQuery(msg);
            const a = reference.answerPerName(q.key, q.qtype);
            assert.ok(a, `${name} ${type}`);
            const opt = edns ? OPT : null;
            const got = await udpExchange(srv.port, msg);
            assert.deepEqual(got, buildResponse(msg, q, { ...a, opt, limit: 512 }), `UDP ${name} ${type} edns ${edns}`);
            conn.sock.write(frame(msg));
            const tcp = (await conn.next(++sentTcp))[sentTcp - 1];
            assert.deepEqual(
              tcp,
              buildResponse(msg, q, { ...a, opt, limit: 65535 }),
              `TCP ${name} ${type} edns ${edns}`,
            );
          }
        }
      }
    } finally {
      conn.sock.destroy();
    }
  });
});
