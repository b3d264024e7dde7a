/**
 * The router's HTTP face: GET /create?cb&from&target&token&protocols, and GET /alive?cb&run&wait.
 */
import express, { type Router } from 'express';
import { PolysocketError } from '../shared/errors';
import { intParam, param } from '../shared/params';
import { requestOrigin } from '../shared/origin';
import { callbackOf, sendOk } from '../shared/respond';
import type { TrustedProxies } from '../shared/client-address';
import { REQUEST_ID } from '../shared/ids';
import type { SocketCreator } from './create';
import type { RunLiveness } from './run-liveness';

/** The longest an /alive question may wait for its run to die (PROTOCOL.md §2.1). */
const MAX_ALIVE_WAIT_MS = 10_000;

export function routerRoutes(creator: SocketCreator, liveness: RunLiveness, proxies: TrustedProxies): Router {
  const r = express.Router();
  r.get('/create', (req, res, next) => {
    const cb = callbackOf(req.query);
    const client = proxies.facts(req);
    creator
      .create({
        target: param(req.query, 'target'),
        protocols: param(req.query, 'protocols'),
        from: param(req.query, 'from'),
        token: param(req.query, 'token'),
        origin: requestOrigin(req),
        ip: client.ip,
        host: req.headers.host,
        client,
        userAgent: req.headers['user-agent'],
        cookie: req.headers.cookie,
      })
      .then((created) => sendOk(res, cb, created), next);
  });
  r.all('/create', () => {
    throw new PolysocketError('method_not_allowed', '/create takes GET only');
  });
  r.get('/alive', (req, res, next) => {
    const cb = callbackOf(req.query);
    const run = param(req.query, 'run');
    if (run === undefined || !REQUEST_ID.test(run)) throw new PolysocketError('bad_parameter', 'run must be the `run` a create answered');
    const wait = intParam(req.query, 'wait', 0, MAX_ALIVE_WAIT_MS) ?? 0;
    liveness.alive(run, wait).then((alive) => sendOk(res, cb, { ok: true, alive }), next);
  });
  r.all('/alive', () => {
    throw new PolysocketError('method_not_allowed', '/alive takes GET only');
  });
  return r;
}
