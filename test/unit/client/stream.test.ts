// The drill stream's reading of an answer's OPT: which site (NSID) and which cookie to send next.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { responseOpt } from '../../../src/client/index.ts';

const answer = (options: { code: number; data: Buffer }[], extra: Partial<dnsPacket.Packet> = {}): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: 0,
    questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
    answers: [{ name: 'www.example.test', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer],
    ...extra,
  });

describe('responseOpt', () => {
  it('reads the NSID text and a full cookie (client and server) after an answer record', () => {
    const cookie = Buffer.from('0102030405060708a1a2a3a4a5a6a7a8', 'hex');
    const r = responseOpt(
      answer([
        { code: 3, data: Buffer.from('fra1') },
        { code: 10, data: cookie },
      ]),
    );
    assert.equal(r?.nsid, 'fra1');
    assert.deepEqual(r?.cookie && Buffer.from(r.cookie), cookie);
  });
  it('no NSID and a client cookie alone: empty site, no cookie to keep', () => {
    assert.deepEqual(responseOpt(answer([{ code: 10, data: Buffer.alloc(8, 1) }])), { nsid: '', cookie: null });
  });
  it('a message cut inside its records, or an option running past the OPT, is malformed', () => {
    const full = answer([{ code: 3, data: Buffer.from('fra1') }]);
    assert.equal(responseOpt(full.subarray(0, full.length - 3)), undefined);
    const bad = Buffer.from(full);
    bad.writeUInt16BE(200, bad.length - 6); // the NSID option's length
    assert.equal(responseOpt(bad), undefined);
    assert.equal(responseOpt(Buffer.alloc(5)), undefined);
  });
});
