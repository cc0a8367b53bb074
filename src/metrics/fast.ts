// Counters and histograms for the per-query path: a child is a plain slot incremented in place, and
// prom-client reads them only when scraped. prom-client's own children hash their labels on every
// call, which costs more than answering a cached query.

import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  names.forEach((n, i) => (labels[n] = values[i] as string));
  return labels;
}

type Value = { labels: Labels; value: number; metricName?: string };

/** Register a metric whose values are read from our own slots when the registry is scraped. */
function expose(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Value[],
  reset: () => void,
): void {
  const get = async (): Promise<object> => ({ name, help, type, aggregator: 'sum', values: values() });
  registry.registerMetric({ name, help, type, aggregator: 'sum', get, reset } as never);
}

export class FastCounter {
  readonly #slots: { labels: Labels; value: number }[] = [];
  readonly labelNames: readonly string[];

  /** `beforeRead`: called at each scrape, to add the children that must exist by then. */
  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], beforeRead?: () => void) {
    this.labelNames = labelNames;
    expose(
      registry,
      name,
      help,
      'counter',
      () => {
        beforeRead?.();
        return this.#slots.map((s) => ({ labels: s.labels, value: s.value }));
      },
      () => {
        for (const s of this.#slots) s.value = 0;
      },
    );
  }

  /** A slot for these label values; keep it and add to `value`. */
  child(...values: string[]): { value: number } {
    const slot = { labels: labelsOf(this.labelNames, values), value: 0 };
    this.#slots.push(slot);
    return slot;
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    if (i < b.length) this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
}

export class FastHistogram {
  readonly #children: { labels: Labels; h: HistogramChild }[] = [];
  readonly #bounds: readonly number[];
  readonly labelNames: readonly string[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    this.#bounds = bounds;
    this.labelNames = labelNames;
    expose(
      registry,
      name,
      help,
      'histogram',
      () => {
        const values: Value[] = [];
        for (const { labels, h } of this.#children) {
          let acc = 0;
          bounds.forEach((le, i) => {
            acc += h.counts[i] as number;
            values.push({ labels: { ...labels, le: String(le) }, value: acc, metricName: `${name}_bucket` });
          });
          values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
          values.push({ labels, value: h.sum, metricName: `${name}_sum` });
          values.push({ labels, value: h.count, metricName: `${name}_count` });
        }
        return values;
      },
      () => {},
    );
  }

  child(...values: string[]): HistogramChild {
    const labels = labelsOf(this.labelNames, values);
    const h = new HistogramChild(this.#bounds);
    this.#children.push({ labels, h });
    return h;
  }
}
