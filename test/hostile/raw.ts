// A UDP datagram with source port 0, which no socket API sends: a raw socket (root) through
// python3, which builds the UDP header itself. Loopback only; bounded count and rate.

import { spawn } from 'node:child_process';
import { once } from 'node:events';

const SCRIPT = `
import socket, struct, sys, time
src, dst, port, count, gap, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), bytes.fromhex(sys.argv[6])
assert dst.startswith("127.") and src.startswith("127.")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.bind((src, 0))
# Source port 0; checksum 0 means "none" for UDP over IPv4 (RFC 768).
hdr = struct.pack("!HHHH", 0, port, 8 + len(payload), 0)
for i in range(count):
    s.sendto(hdr + payload, (dst, 0))
    time.sleep(gap)
`;

/** Send `count` datagrams from `from`:0 to 127.0.0.1:`port`, `gapMs` apart; resolves when done. */
export async function sendFromPortZero(opts: { from: string; port: number; payload: Buffer; count: number; gapMs: number }): Promise<void> {
  const p = spawn('python3', ['-c', SCRIPT, opts.from, '127.0.0.1', String(opts.port), String(opts.count), String(opts.gapMs / 1000), opts.payload.toString('hex')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.count * opts.gapMs + 10_000);
  const [code] = (await once(p, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`raw sender exited ${code}: ${err}`);
}
