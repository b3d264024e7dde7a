/**
 * Writes answers the one way the protocol allows: JSONP (always 200) when a valid `cb`
 * was given, plain JSON with the catalogue's status otherwise.
 */
import type { ServerResponse } from 'node:http';
import { asPolysocketError, PolysocketError } from './errors';
import { escapeJsonText, isValidCallback, jsonpBody, scriptSafeJson } from './jsonp';
import { errorFields, type Logger, redactUrl } from './log';

const NO_STORE = 'no-store, no-cache, must-revalidate, max-age=0';
// Flat [name, value, ...] lists handed to writeHead: no per-header setHeader bookkeeping on the hot path.
const COMMON = ['Cache-Control', NO_STORE, 'Pragma', 'no-cache', 'X-Content-Type-Options', 'nosniff'];
const JSONP_HEADERS = [...COMMON, 'Content-Type', 'application/javascript; charset=utf-8'];
const JSON_HEADERS = [...COMMON, 'Content-Type', 'application/json; charset=utf-8'];

/** Extra response headers as a flat [name, value, ...] list (e.g. CORS). */
export type HeaderList = readonly string[];

/** `cb` from a query, validated; a present but invalid cb is an error of its own. */
export function callbackOf(query: Record<string, unknown>): string | undefined {
  const cb = query.cb;
  if (cb === undefined || cb === '') return undefined;
  if (typeof cb !== 'string' || !isValidCallback(cb)) throw new PolysocketError('bad_callback');
  return cb;
}

/** Sends already-serialised, script-safe JSON text; `extra` headers go along (headers set earlier too). */
export function sendJsonText(res: ServerResponse, cb: string | undefined, status: number, json: string, extra?: HeaderList): void {
  const headers = cb ? JSONP_HEADERS : JSON_HEADERS;
  res.writeHead(cb ? 200 : status, extra ? headers.concat(extra) : headers);
  res.end(cb ? jsonpBody(cb, json) : json);
}

export function sendOk(res: ServerResponse, cb: string | undefined, body: unknown, status = 200, extra?: HeaderList): void {
  sendJsonText(res, cb, status, scriptSafeJson(body), extra);
}

export function sendError(res: ServerResponse, cb: string | undefined, err: PolysocketError, extra?: HeaderList): void {
  sendJsonText(res, cb, err.status, escapeJsonText(JSON.stringify(err.toBody())), extra);
}

/**
 * Answers a failed request: through its callback when it carried a usable one (an unusable cb is
 * not echoed), as JSON with the status otherwise; a response already under way is cut instead.
 */
export function answerError(res: ServerResponse, query: Record<string, unknown>, err: unknown, extra?: HeaderList): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const cb = query.cb;
  sendError(res, typeof cb === 'string' && isValidCallback(cb) ? cb : undefined, asPolysocketError(err), extra);
}

/** answerError for a request that failed; a bug (`internal`) is logged first, with its URL redacted. */
export function answerFailure(res: ServerResponse, query: Record<string, unknown>, err: unknown, log: Logger, url: string): void {
  const e = asPolysocketError(err);
  if (e.code === 'internal') log.error('request_failed', { url: redactUrl(url), ...errorFields((e as { cause?: unknown }).cause) });
  answerError(res, query, e);
}
