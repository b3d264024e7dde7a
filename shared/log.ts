/**
 * Structured logs (pino): one JSON object per line on stdout, `event` naming what happened.
 * Never pass tokens or message data here; request URLs go through `redactUrl` first.
 */
import pino from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (event, fields) => p.debug({ event, ...fields }),
    info: (event, fields) => p.info({ event, ...fields }),
    warn: (event, fields) => p.warn({ event, ...fields }),
    error: (event, fields) => p.error({ event, ...fields }),
    child: (fields) => wrap(p.child(fields)),
  };
}

/** `write` receives each line (tests); by default lines go to stdout synchronously, so none is lost at exit. */
export function createLogger(level: Level, base: Record<string, unknown> = {}, write?: (line: string) => void): Logger {
  const stream = write ? { write } : pino.destination({ dest: 1, sync: true });
  return wrap(
    pino(
      {
        level,
        base,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      stream,
    ),
  );
}

/**
 * A socket id as logs show it: its first 8 characters. The id is a bearer credential (whoever
 * holds it sends and polls); 48 of its 144 bits tie a router's line to the relay's, and the 96
 * left keep a log reader from using it.
 */
export function socketRef(id: string): string {
  return `${id.slice(0, 8)}…`;
}

/** Strips the query string (tokens and message data travel there) and cuts socket ids in /s/ and /j/ paths. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const cut = path.replace(/^\/([sj])\/([^/]{8})[^/]*/, '/$1/$2…');
  return q < 0 ? cut : `${cut}?[redacted]`;
}

/**
 * A client-supplied string fit for a log line: at most 100 characters, anything but printable
 * ASCII escaped as \\uXXXX (no control bytes, no look-alike text in an operator's terminal).
 */
export function loggable(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cut = value.length > 100 ? `${value.slice(0, 100)}…` : value;
  return cut.replace(/[^\x20-\x7e…]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { err: err.message, code: (err as { code?: unknown }).code };
  return { err: String(err) };
}
