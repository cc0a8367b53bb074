// Reading Prometheus text exposition format (0.0.4) strictly enough to catch a malformed scrape.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// Values as Go's ParseFloat reads them (Prometheus): NaN and Inf in any case.
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([+-]?(?:[0-9.eE+-]+|nan|inf))( -?\d+)?$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

/** Parse; throws on any line that is not a comment, a blank line or a valid sample. */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (!/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*/.test(line))
        throw new Error(`line ${i + 1}: bad comment: ${line}`);
      continue;
    }
    const m = LINE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`line ${i + 1}: bad labels: ${body}`);
      labels[l[1] as string] = l[2] as string;
    }
    out.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `match`. */
export function value(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
