// The platform's ceiling: a Node.js UDP responder that only patches the ID of a prebuilt answer,
// and, given a port and a certificate, the same answer over DNS over HTTPS on Node's HTTP/2 (the
// stream API, no parsing): the ceiling of the doh workload. With --forward, also the floor of a
// forwarder on Node: each query sent on to the upstream as it came, from a socket of its own
// (bound to a fresh port and connected, as edgedns's upstream queries are: RFC 5452), the reply
// relayed as it came; no parsing, no cache, no check but the socket's. With --answers, a JSON file
// of answers (hex), each question is answered with the answer to it (found by the bytes of its
// question section, else the default one): the same bytes edgedns sends, so that bigger answers
// (MX with addresses, a CNAME chain) cost the ceiling what they cost edgedns.
// Run: node --import tsx bench/minimal.ts PORT [DOH_PORT CERT KEY] [--forward PORT UPSTREAM_PORT]
// [--answers FILE]   (answers www.example.test A)

import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { literalLookup } from '../src/core/index.ts';

const argv = process.argv.slice(2);
const fwdAt = argv.indexOf('--forward');
const [fwdPort, upstreamPort] = fwdAt >= 0 ? argv.splice(fwdAt, 3).slice(1).map(Number) : [];
const answersAt = argv.indexOf('--answers');
const answersFile = answersAt >= 0 ? argv.splice(answersAt, 2)[1] : undefined;
const [port = 15400, dohPort, certFile, keyFile] = argv;
// www.example.test. A 192.0.2.80, answer compressed against the question.
const answer = Buffer.from(
  '0000' +
    '8400' +
    '0001000100000000' +
    '03777777076578616d706c65047465737400' +
    '00010001' +
    'c00c000100010000012c0004c0000250',
  'hex',
);
/** The question section of a message (uncompressed, as in a query) as a string key, or null. */
function questionKey(m: Buffer): string | null {
  let i = 12;
  while (i < m.length && m[i] !== 0) i += (m[i] as number) + 1;
  return i + 5 <= m.length ? m.toString('latin1', 12, i + 5) : null;
}
const answers = new Map<string, Buffer>();
for (const hex of answersFile ? (JSON.parse(readFileSync(answersFile, 'utf8')) as string[]) : []) {
  const a = Buffer.from(hex, 'hex');
  const key = questionKey(a);
  if (key !== null) answers.set(key, a);
}
// The same socket options as edgedns's listeners: replies go to IP literals, no lookup per send.
const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const key = answers.size > 0 ? questionKey(msg) : null;
  const prebuilt = (key !== null && answers.get(key)) || answer;
  const out = Buffer.allocUnsafe(prebuilt.length);
  prebuilt.copy(out);
  out[0] = msg[0] as number;
  out[1] = msg[1] as number;
  sock.send(out, rinfo.port, rinfo.address);
});
sock.bind(Number(port), '127.0.0.1', () => process.stderr.write(`minimal responder on 127.0.0.1:${port}\n`));

const forwarder = fwdPort && upstreamPort ? dgram.createSocket({ type: 'udp4', lookup: literalLookup }) : null;
forwarder?.on('message', (msg, rinfo) => {
  const up = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
  const timer = setTimeout(() => up.close(), 2000);
  up.on('error', () => {});
  up.on('message', (reply) => {
    clearTimeout(timer);
    up.close();
    forwarder.send(reply, rinfo.port, rinfo.address);
  });
  up.bind({ port: 0, address: '127.0.0.1', exclusive: true });
  up.connect(upstreamPort as number, '127.0.0.1', () => up.send(msg));
});
forwarder?.bind(fwdPort, '127.0.0.1');

// RFC 8484 asks for ID 0: the prebuilt answer is sent as it is, whatever the request.
const doh =
  dohPort && certFile && keyFile
    ? http2
        .createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) })
        .on('stream', (stream: http2.ServerHttp2Stream) => {
          stream.respond({
            ':status': 200,
            'content-type': 'application/dns-message',
            'content-length': answer.length,
          });
          stream.end(answer);
        })
        .listen(Number(dohPort), '127.0.0.1')
    : null;
process.on('SIGTERM', () => {
  doh?.close();
  forwarder?.close();
  sock.close(() => process.exit(0));
});
