/**
 * The router's HTTP face: parse a request, make one call, write what comes back. These are the
 * requests a reconnect storm is made of, so this is plain node:http (no router, no middleware),
 * as the relay's /s and /j are; everything else a router serves goes through express.
 *   GET /create?cb&from&target&token&protocols   (PROTOCOL.md §2)
 *   GET /alive?cb&run&wait                        (PROTOCOL.md §2.1)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import type { TrustedProxies } from '../shared/client-address';
import { PolysocketError } from '../shared/errors';
import { REQUEST_ID } from '../shared/ids';
import type { Logger } from '../shared/log';
import { requestOrigin } from '../shared/origin';
import { checkUrlLength, intParam, param } from '../shared/params';
import { answerFailure, callbackOf, sendOk } from '../shared/respond';
import type { SocketCreator } from './create';
import type { RunLiveness } from './run-liveness';

/** The longest an /alive question may wait for its run to die (PROTOCOL.md §2.1). */
const MAX_ALIVE_WAIT_MS = 10_000;

export interface RouterHttpDeps {
  creator: SocketCreator;
  liveness: RunLiveness;
  proxies: TrustedProxies;
  log: Logger;
  maxUrlBytes: number;
}

/** Handles /create and /alive; returns false for any other path (the caller's express app takes it). */
export function routerHandler(d: RouterHttpDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/create' && path !== '/alive') return false;
    const query = q < 0 ? {} : parseQuery(url.slice(q + 1), '&', '=', { maxKeys: 0 });
    const failed = (err: unknown) => answerFailure(res, query, err, d.log, url);
    try {
      checkUrlLength(url, d.maxUrlBytes);
      if (req.method !== 'GET') throw new PolysocketError('method_not_allowed', `${path} takes GET only`);
      const cb = callbackOf(query);
      const answer = path === '/create' ? create(d, req, query) : alive(d, query);
      answer.then((body) => sendOk(res, cb, body), failed);
    } catch (err) {
      failed(err);
    }
    return true;
  };
}

function create(d: RouterHttpDeps, req: IncomingMessage, query: ParsedUrlQuery) {
  const client = d.proxies.facts(req);
  return d.creator.create({
    target: param(query, 'target'),
    protocols: param(query, 'protocols'),
    from: param(query, 'from'),
    token: param(query, 'token'),
    origin: requestOrigin(req),
    ip: client.ip,
    host: req.headers.host,
    client,
    userAgent: req.headers['user-agent'],
    cookie: req.headers.cookie,
  });
}

async function alive(d: RouterHttpDeps, query: ParsedUrlQuery) {
  const run = param(query, 'run');
  if (run === undefined || !REQUEST_ID.test(run)) throw new PolysocketError('bad_parameter', 'run must be the `run` a create answered');
  const wait = intParam(query, 'wait', 0, MAX_ALIVE_WAIT_MS) ?? 0;
  return { ok: true, alive: await d.liveness.alive(run, wait) };
}
