/**
 * The relay's HTTP face: adapts one request to one session call.
 *   GET  /j/<socket>?cb&ttl&ack            long-poll
 *   GET  /s/<socket>?cb&d&t&n&c&code&reason send (JSONP)
 *   POST /s/<socket>   body d&t&n&c&...     send (form-encoded or text/plain)
 */
import express, { type Request, type Response, type Router } from 'express';
import type { Config } from '../shared/config';
import { PolysocketError } from '../shared/errors';
import { intParam, param } from '../shared/http-app';
import { SOCKET_ID } from '../shared/ids';
import { requestOrigin } from '../shared/origin';
import { callbackOf, sendJsonText, sendOk } from '../shared/respond';
import type { SendParams } from './inbox';
import type { Relay } from './relay';
import type { Session } from './session';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export function relayRoutes(relay: Relay, c: Config): Router {
  const r = express.Router();
  r.use(['/s/:id', '/j/:id'], cors);
  r.options(['/s/:id', '/j/:id'], (_req, res) => {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  r.get('/j/:id', (req, res) => {
    const cb = callbackOf(req.query);
    const session = sessionFor(relay, req);
    const ttl = intParam(req.query, 'ttl', 0, MAX_SEQ, 'bad_ttl') ?? c.pollMaxTtlMs;
    const ack = intParam(req.query, 'ack', 0, MAX_SEQ, 'bad_ack');
    const waiter = {
      answer(messages: string) {
        if (!res.writableEnded) sendJsonText(res, cb, 200, `{"ok":true,"messages":${messages}}`);
      },
    };
    session.poll(ack, ttl, waiter);
    if (!res.writableEnded) res.on('close', () => session.cancelPoll(waiter));
  });

  const body = express.text({ type: () => true, limit: c.maxBodyBytes });
  const send = (req: Request, res: Response) => {
    const cb = callbackOf(req.query);
    const session = sessionFor(relay, req);
    const source = req.method === 'POST' ? { ...req.query, ...formOf(req.body) } : req.query;
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
      if (!res.writableEnded) sendOk(res, cb, body, 201);
    });
    if (!res.writableEnded) res.on('close', cancel);
  };
  r.get('/s/:id', send);
  r.post('/s/:id', body, send);
  r.all(['/s/:id', '/j/:id'], () => {
    throw new PolysocketError('method_not_allowed');
  });
  return r;
}

function cors(req: Request, res: Response, next: () => void): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', typeof origin === 'string' && origin !== 'null' ? origin : '*');
  res.setHeader('Vary', 'Origin');
  next();
}

/** Unknown, closed and foreign-origin sockets all answer the same. */
function sessionFor(relay: Relay, req: Request): Session {
  const id = req.params.id;
  const session = SOCKET_ID.test(id) ? relay.get(id) : undefined;
  if (!session) throw new PolysocketError('unknown_socket');
  const origin = requestOrigin(req);
  if (session.info.origin && origin && origin !== session.info.origin) {
    throw new PolysocketError('origin_not_allowed', 'this socket belongs to another origin');
  }
  return session;
}

function formOf(body: unknown): Record<string, string | string[]> {
  if (typeof body !== 'string' || body === '') return {};
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
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
