// Outgoing zone transfers (server/transfer-out.ts): every AXFR and IXFR request, by zone, kind and
// how it ended. Counted in the processes that answer; the workers' counts add up.

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { TransferObserver } from '../server/index.js';

export function transferMetrics(registry: Registry): TransferObserver {
  const requests = new Counter({
    name: 'edgedns_zone_transfers_out_total',
    help: 'AXFR and IXFR requests answered, by zone ("other": no zone served here), kind and result (ok, uptodate, udp, refused, badtsig, notauth, formerr, limited, failed).',
    labelNames: ['zone', 'kind', 'result'],
    registers: [registry],
  });
  return { transfer: (zone, kind, result) => requests.labels(zone, kind, result).inc() };
}
