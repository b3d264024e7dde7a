/**
 * The relay's HTTP face: adapts one request to one session call. This is the per-message path,
 * so it is plain node:http (no router, no middleware); everything else a relay serves goes
 * through express.
 *   GET  /j/<socket>?cb&ttl&ack            long-poll
 *   GET  /s/<socket>?cb&d&t&n&c&code&reason send (JSONP)
 *   POST /s/<socket>   body d&t&n&c&...     send (form-encoded or text/plain)
 *   OPTIONS on both                         CORS preflight
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import type { Config } from '../shared/config';
import { PolysocketError } from '../shared/errors';
import { intParam, param } from '../shared/http-app';
import { SOCKET_ID } from '../shared/ids';
import { requestOrigin } from '../shared/origin';
import { answerError, callbackOf, sendJsonText, sendOk, type HeaderList } from '../shared/respond';
import type { SendParams } from './inbox';
import type { Relay } from './relay';
import type { Session } from './session';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const ROUTE = /^\/([js])\/([^/]*)$/;

/** Handles /j/<id> and /s/<id>; returns false for any other path (the caller's express app takes it). */
export function relayHandler(relay: Relay, c: Config): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = ROUTE.exec(q < 0 ? url : url.slice(0, q));
    if (!route) return false;
    const query = q < 0 ? {} : parseQuery(url.slice(q + 1), '&', '=', { maxKeys: 0 });
    const allow = corsHeaders(req);
    try {
      if (url.length > c.maxUrlBytes) throw new PolysocketError('url_too_long', `request URLs are limited to ${c.maxUrlBytes} bytes`);
      if (req.method === 'OPTIONS') return preflight(res, allow);
      const poll = route[1] === 'j';
      if (poll && req.method === 'GET') handlePoll(relay, c, route[2], req, res, query, allow);
      else if (!poll && req.method === 'GET') handleSend(relay, route[2], req, res, query, allow);
      else if (!poll && req.method === 'POST') readForm(req, c.maxBodyBytes, query, (err, source) => answerSend(err, source));
      else throw new PolysocketError('method_not_allowed');
    } catch (err) {
      answerError(res, query, err, allow);
    }
    return true;

    function answerSend(err: PolysocketError | undefined, source: ParsedUrlQuery): void {
      try {
        if (err) throw err;
        handleSend(relay, route![2], req, res, source, allow);
      } catch (e) {
        answerError(res, query, e, allow);
      }
    }
  };
}

function handlePoll(relay: Relay, c: Config, id: string, req: IncomingMessage, res: ServerResponse, query: ParsedUrlQuery, allow: HeaderList): void {
  const cb = callbackOf(query);
  const session = sessionFor(relay, id, req);
  const ttl = intParam(query, 'ttl', 0, MAX_SEQ, 'bad_ttl') ?? c.pollMaxTtlMs;
  const ack = intParam(query, 'ack', 0, MAX_SEQ, 'bad_ack');
  const waiter = {
    answer(messages: string) {
      if (!res.writableEnded) sendJsonText(res, cb, 200, `{"ok":true,"messages":${messages}}`, allow);
    },
  };
  session.poll(ack, ttl, waiter);
  if (!res.writableEnded) res.on('close', () => session.cancelPoll(waiter));
}

function handleSend(relay: Relay, id: string, req: IncomingMessage, res: ServerResponse, source: ParsedUrlQuery, allow: HeaderList): void {
  const cb = callbackOf(source);
  const session = sessionFor(relay, id, req);
  const batch = sendBatch(source);
  let fresh = 0;
  try {
    fresh = batch.length === 1 ? Number(session.send(batch[0])) : session.sendBatch(batch);
  } catch (err) {
    // Sends before the failing one were taken; `expected` tells the client where it stands.
    if (err instanceof PolysocketError && batch[0].n !== undefined) throw withExpected(err, session.inbox.nextN);
    throw err;
  }
  const n = batch[batch.length - 1].n ?? null;
  const body = fresh === 0 && n !== null ? { ok: true, n, duplicate: true } : { ok: true, n };
  const cancel = session.whenUpstreamWritable(() => {
    if (!res.writableEnded) sendOk(res, cb, body, 201, allow);
  });
  if (!res.writableEnded) res.on('close', cancel);
}

const ANY_ORIGIN: HeaderList = ['Access-Control-Allow-Origin', '*', 'Vary', 'Origin'];

/** Every answer may be read cross-origin; the socket's own origin binding is what guards it. */
function corsHeaders(req: IncomingMessage): HeaderList {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin !== 'null' ? ['Access-Control-Allow-Origin', origin, 'Vary', 'Origin'] : ANY_ORIGIN;
}

function preflight(res: ServerResponse, allow: HeaderList): true {
  res.writeHead(204, allow.concat('Access-Control-Allow-Methods', 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers', 'Content-Type', 'Access-Control-Max-Age', '600'));
  res.end();
  return true;
}

/** A POST body (any content type: XDomainRequest sends text/plain) as form fields, over the query. */
function readForm(req: IncomingMessage, limit: number, query: ParsedUrlQuery, done: (err: PolysocketError | undefined, source: ParsedUrlQuery) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(new PolysocketError('body_too_large'), query);
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) over = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (over) return done(new PolysocketError('body_too_large'), query);
    // maxKeys 0: a batch has thousands of fields; the body bound already limits them.
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    const form = parseQuery(body.toString('utf8'), '&', '=', { maxKeys: 0 });
    // The body's fields win over the query's (the query usually carries only cb, if anything).
    for (const k in query) if (!(k in form)) form[k] = query[k];
    done(undefined, form);
  });
  req.on('error', () => done(new PolysocketError('bad_parameter', 'request body could not be read'), query));
}

/** Unknown and closed sockets answer alike; a socket of another page origin is refused as such. */
function sessionFor(relay: Relay, id: string, req: IncomingMessage): Session {
  const session = SOCKET_ID.test(id) ? relay.get(id) : undefined;
  if (!session) throw new PolysocketError('unknown_socket');
  const origin = requestOrigin(req);
  if (session.info.origin && origin && origin !== session.info.origin) {
    throw new PolysocketError('origin_not_allowed', 'this socket belongs to another origin');
  }
  return session;
}

/** Every value of a parameter (repeated ones included), in order. */
function all(q: Record<string, unknown>, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/**
 * One send, or a batch: `d` and `t` repeated k times (pairwise, in order) with one `n` for the
 * first, the rest taking n+1, n+2, ...; a close (t=c) may only come last, chunks (c) not at all.
 */
function sendBatch(q: Record<string, unknown>): SendParams[] {
  const ds = all(q, 'd');
  const ts = all(q, 't');
  if (ds.length <= 1 && ts.length <= 1) return [sendParams(q, ds[0], ts[0] ?? 't', intParam(q, 'n', 1, MAX_SEQ))];
  if (ds.length !== ts.length) throw new PolysocketError('bad_parameter', 'a batch gives d and t the same number of times');
  const n = intParam(q, 'n', 1, MAX_SEQ);
  if (n === undefined) throw new PolysocketError('bad_parameter', 'a batch needs n (the n of its first send)');
  if (param(q, 'c') === '1') throw new PolysocketError('bad_parameter', 'a batch cannot carry chunks');
  return ds.map((d, i) => {
    if (ts[i] === 'c' && i !== ds.length - 1) throw new PolysocketError('bad_parameter', 'a close may only end a batch');
    return sendParams(q, d, ts[i], n + i);
  });
}

function sendParams(q: Record<string, unknown>, d: string | undefined, t: string, n: number | undefined): SendParams {
  if (t !== 't' && t !== 'b' && t !== 'c') throw new PolysocketError('bad_parameter', 't must be t (text), b (base64 binary) or c (close)');
  if (d === undefined && t !== 'c') throw new PolysocketError('bad_parameter', 'd (the data) is required');
  const c = param(q, 'c');
  if (c !== undefined && c !== '0' && c !== '1') throw new PolysocketError('bad_parameter', 'c must be 1 (more chunks follow) or 0');
  return {
    d: d ?? '',
    t,
    n,
    c: c === '1',
    code: t === 'c' ? intParam(q, 'code', 0, 65535, 'bad_parameter') : undefined,
    reason: t === 'c' ? param(q, 'reason') : undefined,
  };
}

function withExpected(err: PolysocketError, expected: number): PolysocketError {
  return new PolysocketError(err.code, err.message, { ...err.details, expected });
}
