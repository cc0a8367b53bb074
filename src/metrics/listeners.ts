// The listeners' metrics: TCP connections, their deadlines, and answers not sent.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Deadline, ListenerObserver, RefuseReason, SendFailure, Transport } from '../server/index.js';
import { TRANSPORTS, zeroes } from './common.js';
import type { MetricSources } from './metrics.js';

/** TCP. */
export function tcpMetrics(registry: Registry, _sources: MetricSources): ListenerObserver {
  const r = [registry];
  const open = new Gauge({ name: 'edgedns_tcp_connections_open', help: 'TCP connections open now.', registers: r });
  const accepted = new Counter({
    name: 'edgedns_tcp_connections_total',
    help: 'TCP connections accepted.',
    registers: r,
  });
  const refused = new Counter({
    name: 'edgedns_tcp_connections_refused_total',
    help: 'TCP connections refused at accept, by the cap that refused them (total or per_client).',
    labelNames: ['reason'],
    registers: r,
  });
  const timeouts = new Counter({
    name: 'edgedns_tcp_timeouts_total',
    help: 'TCP connections closed at a deadline: first_query, message, idle or drain.',
    labelNames: ['deadline'],
    registers: r,
  });
  const sendErrors = new Counter({
    name: 'edgedns_send_errors_total',
    help: 'Answers not sent, by transport and reason (bad_port, rejected, failed, reset).',
    labelNames: ['transport', 'reason'],
    registers: r,
  });
  zeroes(refused, ['total'], ['per_client']);
  zeroes(timeouts, ['first_query'], ['message'], ['idle'], ['drain']);
  zeroes(sendErrors, ...TRANSPORTS.flatMap((t) => ['bad_port', 'rejected', 'failed', 'reset'].map((why) => [t, why])));
  const unwritten = new Gauge({
    name: 'edgedns_tcp_unwritten_bytes',
    help: 'TCP answer bytes not yet handed to the kernel, all connections.',
    registers: r,
  });
  const refusedBy = new Map((['total', 'per_client'] as const).map((x) => [x, refused.labels(x)]));
  const sendErrorBy = new Map(
    TRANSPORTS.flatMap((t) =>
      (['bad_port', 'rejected', 'failed', 'reset'] as const).map(
        (x) => [`${t} ${x}`, sendErrors.labels(t, x)] as const,
      ),
    ),
  );
  const timeoutBy = new Map(
    (['first_query', 'message', 'idle', 'drain', 'handshake'] as const).map((x) => [x, timeouts.labels(x)]),
  );
  const listeners: ListenerObserver = {
    connectionOpened: () => {
      open.inc();
      accepted.inc();
    },
    connectionClosed: () => open.dec(),
    connectionRefused: (reason: RefuseReason) => refusedBy.get(reason)?.inc(),
    timedOut: (d: Deadline) => timeoutBy.get(d)?.inc(),
    sendError: (transport: Transport, reason: SendFailure) => sendErrorBy.get(`${transport} ${reason}`)?.inc(),
    unwrittenBytes: (n) => unwritten.set(n),
  };
  return listeners;
}
