// Structured logging on stderr: JSON lines or text lines (`log.format`), with fixed fields (the site
// id) on every line, and a level that a reload can change.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  level?: LogLevel;
  /** `json`: one JSON object a line (the default); `text`: time, level, message, then key=value. */
  format?: LogFormat;
  base?: LogFields;
  write?: (line: string) => void;
  now?: () => number;
}

/** A logger whose level can change while it runs (reload). */
export interface RootLogger extends Logger {
  setLevel(level: LogLevel): void;
}

export function createLogger(opts: LoggerOptions = {}): RootLogger {
  const level = { min: LEVELS[opts.level ?? 'info'] };
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? Date.now;
  const format = opts.format === 'text' ? textLine : jsonLine;
  const make = (base: LogFields): Logger => {
    const emit = (lv: LogLevel, msg: string, fields?: LogFields): void => {
      if (LEVELS[lv] < level.min) return;
      write(format(new Date(now()).toISOString(), lv, msg, { ...base, ...fields }));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return { ...make(opts.base ?? {}), setLevel: (l) => void (level.min = LEVELS[l]) };
}

function jsonLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  return `${JSON.stringify({ time, level, msg, ...fields }, replacer)}\n`;
}

/** `2026-11-30T12:00:00.000Z WARN  upstream unhealthy upstream=192.0.2.1:53`: the same fields as JSON. */
function textLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  let out = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v, replacer);
    out += ` ${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : typeof v === 'string' ? JSON.stringify(v) : text}`;
  }
  return `${out}\n`;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** A logger that drops everything, for tests and for commands that print their own output. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
