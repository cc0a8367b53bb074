// Run the real `dig` against a server and read what a user would read: status, flags, sections.

import { execFile } from 'node:child_process';

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface DigResult {
  raw: string;
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** The NSID dig printed, if any. */
  nsid: string | undefined;
  ednsVersion: number | undefined;
  udp: number | undefined;
  ede: string | undefined;
  msgSize: number | undefined;
}

export function dig(server: { host: string; port: number }, args: string[]): Promise<DigResult> {
  const all = [`@${server.host}`, '-p', String(server.port), '+tries=1', '+time=10', ...args];
  return new Promise((resolve, reject) => {
    execFile('dig', all, { timeout: 30_000 }, (err, stdout) => {
      if (err && !stdout) return reject(new Error(`dig ${all.join(' ')}: ${err.message}`));
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(raw: string): DigResult {
  const status = /status: (\w+)/.exec(raw)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const section = (title: string): DigRecord[] => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(raw);
    if (!m) return [];
    return (m[1] as string)
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => {
        const [name, ttl, cls, type, ...rest] = l.split(/\s+/);
        return {
          name: name as string,
          ttl: Number(ttl),
          class: cls as string,
          type: type as string,
          data: rest.join(' '),
        };
      });
  };
  const nsidLine = /; NSID: .*\("([^"]*)"\)/.exec(raw) ?? /; NSID: ([0-9a-f ]+)/.exec(raw);
  return {
    raw,
    status,
    flags,
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    nsid: nsidLine?.[1],
    ednsVersion: /; EDNS: version: (\d+)/.exec(raw) ? Number(/; EDNS: version: (\d+)/.exec(raw)?.[1]) : undefined,
    udp: /udp: (\d+)/.exec(raw) ? Number(/udp: (\d+)/.exec(raw)?.[1]) : undefined,
    ede: /; EDE: ([^\n]*)/.exec(raw)?.[1],
    msgSize: /MSG SIZE {2}rcvd: (\d+)/.exec(raw) ? Number(/MSG SIZE {2}rcvd: (\d+)/.exec(raw)?.[1]) : undefined,
  };
}
