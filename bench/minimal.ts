// The platform's ceiling: a Node.js UDP responder that only patches the ID of a prebuilt answer,
// and, given a port and a certificate, the same answer over DNS over HTTPS on Node's HTTP/2 (the
// stream API, no parsing): the ceiling of the doh workload.
// Run: node --import tsx bench/minimal.ts PORT [DOH_PORT CERT KEY]  (answers www.example.test A)

import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { literalLookup } from '../src/core/index.ts';

const [port = 15400, dohPort, certFile, keyFile] = process.argv.slice(2);
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
// The same socket options as edgedns's listeners: replies go to IP literals, no lookup per send.
const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const out = Buffer.allocUnsafe(answer.length);
  answer.copy(out);
  out[0] = msg[0] as number;
  out[1] = msg[1] as number;
  sock.send(out, rinfo.port, rinfo.address);
});
sock.bind(Number(port), '127.0.0.1', () => process.stderr.write(`minimal responder on 127.0.0.1:${port}\n`));

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
  sock.close(() => process.exit(0));
});
