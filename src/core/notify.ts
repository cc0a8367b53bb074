// Tells the service manager what the node is doing (sd_notify, systemd's Type=notify): READY=1 once
// it answers, RELOADING=1 … READY=1 around a reload, STOPPING=1 when it stops. The notify socket is
// a Unix datagram socket, which Node cannot send to, so each message is one `systemd-notify` run
// (the unit needs NotifyAccess=all). systemd-notify waits until the manager has read the message
// (its BARRIER=1), so the manager still sees the sender alive and in the unit's cgroup.

import { spawn } from 'node:child_process';

/** What the node tells the service manager. Each call returns at once; messages leave in order. */
export interface Notifier {
  /** READY=1: every listener bound, the zones loaded (also the end of a reload). */
  ready(status: string): void;
  /** RELOADING=1, with the monotonic time systemd ≥ 253 asks for. */
  reloading(status: string): void;
  /** STOPPING=1. */
  stopping(status: string): void;
  /** Resolves when every message so far has been handed over (or failed and been logged). */
  flushed(): Promise<void>;
}

/** The service manager when there is none: costs nothing. */
export const NO_NOTIFIER: Notifier = {
  ready: () => {},
  reloading: () => {},
  stopping: () => {},
  flushed: () => Promise.resolve(),
};

/** Sends one message (systemd-notify's arguments); rejects with why it was not sent. */
export type NotifySender = (socket: string, args: readonly string[]) => Promise<void>;

/** How long one systemd-notify may take before it is killed (a manager that never reads). */
const SEND_TIMEOUT_MS = 10_000;

/** The real sender: `systemd-notify ARGS` with NOTIFY_SOCKET set for it alone. */
export const systemdNotify: NotifySender = (socket, args) =>
  new Promise((resolve, reject) => {
    const child = spawn('systemd-notify', args, {
      env: { ...process.env, NOTIFY_SOCKET: socket },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(0, 1024)));
    const timer = setTimeout(() => child.kill('SIGKILL'), SEND_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `systemd-notify ${args.join(' ')}: ${signal ?? `exit ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        );
    });
  });

/**
 * Take NOTIFY_SOCKET out of the environment: the commands the node runs (route adapters, health
 * commands, workers) must not speak for it (sd_notify's unset_environment).
 */
export function takeNotifySocket(env: Record<string, string | undefined> = process.env): string | undefined {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  return socket === '' ? undefined : socket;
}

export interface NotifierOptions {
  /** The manager's socket; none: the notifier does nothing. */
  socket: string | undefined;
  /** Told when a message could not be sent (the node runs on; the manager may time it out). */
  onError: (message: string, error: unknown) => void;
  send?: NotifySender;
  /** CLOCK_MONOTONIC in microseconds (process.hrtime is CLOCK_MONOTONIC on Linux). */
  monotonicUsec?: () => bigint;
}

/** A notifier for the manager at `socket`, or NO_NOTIFIER when there is none. */
export function createNotifier(o: NotifierOptions): Notifier {
  const socket = o.socket;
  if (socket === undefined) return NO_NOTIFIER;
  const send = o.send ?? systemdNotify;
  const usec = o.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  // One message at a time, in order: READY=1 must not overtake the RELOADING=1 before it.
  let chain = Promise.resolve();
  const queue = (args: string[]): void => {
    chain = chain.then(() => send(socket, args).catch((e: unknown) => o.onError(args.join(' '), e)));
  };
  // STATUS= is one line of text; a newline would start another variable.
  const status = (s: string): string => `STATUS=${s.replace(/[\r\n]+/g, ' ')}`;
  return {
    ready: (s) => queue(['READY=1', status(s)]),
    reloading: (s) => queue(['RELOADING=1', `MONOTONIC_USEC=${usec()}`, status(s)]),
    stopping: (s) => queue(['STOPPING=1', status(s)]),
    flushed: () => chain,
  };
}
