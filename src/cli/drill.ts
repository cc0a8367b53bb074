// `edgedns drill stream`: the client side of a drill, on the command line.

import { EdgeError, ErrorCode } from '../core/index.js';

export interface DrillStreamOptions {
  target: string;
  rate: number;
  durationMs: number;
  qname: string;
  /** Write every sample as JSON here ("-" for stdout) instead of the per-second summary. */
  json?: string;
}

/**
 * `edgedns drill stream`: a steady query stream to an (anycast) address, printing each second
 * which sites answered and how many queries were lost; with --json, every sample for analysis.
 */
export async function drillStream(o: DrillStreamOptions): Promise<void> {
  const { parseHostPort } = await import('../config/index.js');
  const { runStream, STREAM_LIMITS } = await import('../client/index.js');
  const hp = parseHostPort(o.target, 53);
  if (!hp) throw new EdgeError(ErrorCode.USAGE, `--target: expected ADDRESS[:PORT], got "${o.target}"`);
  if (!(o.rate >= 1 && o.rate <= STREAM_LIMITS.maxRate))
    throw new EdgeError(ErrorCode.USAGE, `--rate: expected 1..${STREAM_LIMITS.maxRate}, got ${o.rate}`);
  if (!(o.durationMs > 0 && o.durationMs <= STREAM_LIMITS.maxDurationMs))
    throw new EdgeError(ErrorCode.USAGE, '--duration: at most 10m');
  const perSecond = new Map<number, Map<string, number>>();
  const stream = runStream({
    host: hp.host,
    port: hp.port,
    rate: o.rate,
    durationMs: o.durationMs,
    lostAfterMs: 500,
    qname: o.qname,
  });
  const stop = (): void => stream.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const samples = await stream.done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (o.json !== undefined) {
    const text = `${JSON.stringify(samples)}\n`;
    if (o.json === '-') process.stdout.write(text);
    else (await import('node:fs')).writeFileSync(o.json, text);
    return;
  }
  const t0 = samples[0]?.t ?? 0;
  for (const s of samples) {
    const sec = Math.floor((s.t - t0) / 1000);
    const m = perSecond.get(sec) ?? new Map<string, number>();
    const k = s.site === null ? 'LOST' : s.site || '(no nsid)';
    m.set(k, (m.get(k) ?? 0) + 1);
    perSecond.set(sec, m);
  }
  for (const [sec, m] of [...perSecond].sort((a, b) => a[0] - b[0])) {
    process.stdout.write(`${String(sec).padStart(4)}s  ${[...m].map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  }
  const lost = samples.filter((s) => s.rtt === null).length;
  process.stdout.write(`${samples.length} queries, ${lost} lost (no answer within 500 ms)\n`);
}
