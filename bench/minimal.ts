// The platform's ceiling: a Node.js UDP responder that only patches the ID of a prebuilt answer.
// Run: node --import tsx bench/minimal.ts PORT  (answers every query with www.example.test A)

import * as dgram from 'node:dgram';
import { literalLookup } from '../src/core/index.ts';

const port = Number(process.argv[2] ?? 15400);
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
sock.bind(port, '127.0.0.1', () => process.stderr.write(`minimal responder on 127.0.0.1:${port}\n`));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
