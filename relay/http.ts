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
    const p = sendParams(source);
    const fresh = session.send(p);
    sendOk(res, cb, fresh ? { ok: true, n: p.n ?? null } : { ok: true, n: p.n ?? null, duplicate: true }, 201);
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
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function sendParams(q: Record<string, unknown>): SendParams {
  const t = param(q, 't') ?? 't';
  if (t !== 't' && t !== 'b' && t !== 'c') throw new PolysocketError('bad_parameter', 't must be t (text), b (base64 binary) or c (close)');
  const d = param(q, 'd');
  if (d === undefined && t !== 'c') throw new PolysocketError('bad_parameter', 'd (the data) is required');
  const c = param(q, 'c');
  if (c !== undefined && c !== '0' && c !== '1') throw new PolysocketError('bad_parameter', 'c must be 1 (more chunks follow) or 0');
  const reason = param(q, 'reason');
  return {
    d: d ?? '',
    t,
    n: intParam(q, 'n', 1, MAX_SEQ),
    c: c === '1',
    code: t === 'c' ? intParam(q, 'code', 0, 65535, 'bad_parameter') : undefined,
    reason,
  };
}
