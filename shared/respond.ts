/**
 * Writes answers the one way the protocol allows: JSONP (always 200) when a valid `cb`
 * was given, plain JSON with the catalogue's status otherwise.
 */
import type { ServerResponse } from 'node:http';
import { asPolysocketError, PolysocketError } from './errors';
import { escapeJsonText, isValidCallback, jsonpBody, scriptSafeJson } from './jsonp';

const NO_STORE = 'no-store, no-cache, must-revalidate, max-age=0';

/** `cb` from a query, validated; a present but invalid cb is an error of its own. */
export function callbackOf(query: Record<string, unknown>): string | undefined {
  const cb = query.cb;
  if (cb === undefined || cb === '') return undefined;
  if (typeof cb !== 'string' || !isValidCallback(cb)) throw new PolysocketError('bad_callback');
  return cb;
}

/** Sends already-serialised, script-safe JSON text. */
export function sendJsonText(res: ServerResponse, cb: string | undefined, status: number, json: string): void {
  res.setHeader('Cache-Control', NO_STORE);
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (cb) {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.end(jsonpBody(cb, json));
  } else {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(json);
  }
}

export function sendOk(res: ServerResponse, cb: string | undefined, body: unknown, status = 200): void {
  sendJsonText(res, cb, status, scriptSafeJson(body));
}

export function sendError(res: ServerResponse, cb: string | undefined, err: PolysocketError): void {
  sendJsonText(res, cb, err.status, escapeJsonText(JSON.stringify(err.toBody())));
}

/**
 * Answers a failed request: through its callback when it carried a usable one (an unusable cb is
 * not echoed), as JSON with the status otherwise; a response already under way is cut instead.
 */
export function answerError(res: ServerResponse, query: Record<string, unknown>, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const cb = query.cb;
  sendError(res, typeof cb === 'string' && isValidCallback(cb) ? cb : undefined, asPolysocketError(err));
}
