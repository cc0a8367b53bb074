// One DNS-over-TCP connection under the limits of tcp-limits.ts: framing, pipelining, answers as
// they are ready, half-close, and reading that stops while answers wait unwritten.

import type * as net from 'node:net';
import { errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { FrameReader, MAX_FRAME, frame } from '../wire/index.js';
import type { Pipeline } from './pipeline.js';
import type { Deadline, TcpLimits, Timers, WriteBudget } from './tcp-limits.js';
import { Deadlines } from './tcp-limits.js';
import type { ListenerObserver } from './listeners.js';

/** Node reads at most 64 KiB at a time; reading pauses before more comes in. */
const MAX_BUFFERED = MAX_FRAME + 65536;

/** Queries taken from one connection before it yields to the event loop. */
const MAX_PER_TURN = 32;

export interface ConnectionContext {
  pipeline: Pipeline;
  /** `tcp`, or `dot` for a connection that is TLS underneath. */
  transport: 'tcp' | 'dot';
  limits: TcpLimits;
  budget: WriteBudget;
  timers: Timers;
  log: Logger;
  obs: ListenerObserver;
  /** One of the node's own probes (a reserved slot): never paused for the global budget. */
  reserved: boolean;
}

/**
 * Serve one connection: 2-byte length framing (RFC 1035 §4.2.2), any number of queries, each
 * answered as soon as it is ready (RFC 7766 §6.2.1.1), and half-close: after the client's FIN,
 * answer what was asked, then close. Queries are taken from the stream only while the
 * connection's and the process's unwritten answers are under their caps, so a client that
 * pipelines and never reads holds at most about one cap of memory, then is closed.
 */
export function serveConnection(sock: net.Socket, ctx: ConnectionContext): void {
  const { pipeline, limits, budget, obs } = ctx;
  const reader = new FrameReader();
  const client = sock.remoteAddress ?? '';
  let inFlight = 0;
  let unwritten = 0;
  let clientDone = false;
  let gone = false;
  let unwait: (() => void) | null = null;
  const deadlines = new Deadlines(limits, ctx.timers, (why: Deadline) => {
    obs.timedOut(why);
    sock.destroy();
  });
  const { transport } = ctx;
  const fail = (e: unknown): void => ctx.log.error('query failed', { error: errorMessage(e), transport });

  const end = (): void => {
    if (gone) return;
    gone = true;
    deadlines.stop();
    unwait?.();
    budget.release(unwritten);
    unwritten = 0;
  };
  /**
   * Write one answer, framed (its 2-byte length in front: the pipeline builds answers so); `written`
   * (a transfer's next message waits for it) says whether it went.
   */
  const send = (f: Buffer | null, written?: (ok: boolean) => void): void => {
    if (!f) return;
    if (gone || !sock.writable) {
      // The client reset or closed before its answer was ready.
      obs.sendError(transport, 'reset');
      written?.(false);
      return;
    }
    unwritten += f.length;
    budget.add(f.length);
    sock.write(f, (err) => {
      if (gone) return written?.(false);
      unwritten -= f.length;
      budget.release(f.length);
      if (err) obs.sendError(transport, 'reset');
      else deadlines.activity();
      written?.(!err);
      pump();
    });
  };
  const settle = (): void => {
    inFlight--;
    pump();
  };
  /**
   * A zone transfer's messages (transfer-out.ts), written one at a time: the next is built only
   * when the kernel has taken the one before, so a transfer holds one message of memory however
   * slowly the client reads. A client that takes none for `drainTimeout` is closed. The transfer
   * counts as a query in flight (no idle deadline meanwhile; a half-close waits for its end).
   */
  const transfer = (messages: AsyncIterable<Buffer>): void => {
    inFlight++;
    const one = (m: Buffer): Promise<boolean> =>
      new Promise((resolve) => {
        const stalled = ctx.timers.set(() => {
          obs.timedOut('drain');
          sock.destroy();
        }, limits.drainTimeoutMs);
        // A transfer's messages are built whole (and signed) before framing: one copy each.
        send(frame(m), (ok) => {
          stalled.cancel();
          resolve(ok);
        });
      });
    const run = async (): Promise<void> => {
      // Leaving the loop early ends the generator (its slot released, the transfer logged).
      for await (const m of messages) if (!(await one(m))) break;
    };
    run().catch(fail).then(settle).catch(fail);
  };
  const blocked = (): boolean =>
    unwritten > limits.maxUnwrittenBytes || inFlight >= limits.maxInFlight || (!ctx.reserved && budget.over());

  let later = false;
  const resumeLater = (): void => {
    later = false;
    pump();
  };
  function pump(): void {
    if (gone || later) return;
    let msg: Buffer | null;
    let taken = 0;
    // One writev for the answers of this turn, not one syscall each.
    sock.cork();
    while (!blocked() && taken < MAX_PER_TURN && (msg = reader.next())) {
      taken++;
      deadlines.query();
      try {
        const out = pipeline.handle(msg, transport, client, transfer, true);
        if (out instanceof Promise) {
          // RFC 7766 §6.2.1.1: answers go out as they are ready, not in query order.
          inFlight++;
          out.then(send, fail).catch(fail).then(settle).catch(fail);
        } else send(out);
      } catch (e) {
        fail(e);
      }
    }
    sock.uncork();
    if (taken === MAX_PER_TURN && reader.pending > 0 && !reader.partial && !blocked()) {
      // Fairness: a long pipeline yields to the other sockets (UDP included) between turns.
      later = true;
      setImmediate(resumeLater);
    }
    deadlines.reading(reader.partial);
    deadlines.busy(inFlight > 0);
    deadlines.backlogged(unwritten > limits.maxUnwrittenBytes);
    if (blocked() || later) {
      // The client is not reading its answers, has too many waiting, or the process holds too
      // many unwritten answers: stop reading until that changes (a write, an answer, the budget).
      sock.pause();
      if (!later && !unwait && !ctx.reserved && budget.over()) {
        unwait = budget.wait(() => {
          unwait = null;
          pump();
        });
      }
    } else if (!clientDone) sock.resume();
    // Half-close: everything asked is answered (a partial message at FIN is garbage).
    if (clientDone && inFlight === 0 && (reader.pending === 0 || reader.partial)) sock.end();
  }

  sock.on('error', () => {
    end();
    sock.destroy();
  });
  sock.once('close', end);
  sock.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    // Reading pauses whenever messages are left untaken, so only garbage gets this far.
    if (reader.pending > MAX_BUFFERED) return void sock.destroy();
    pump();
  });
  sock.on('end', () => {
    clientDone = true;
    pump();
  });
}
