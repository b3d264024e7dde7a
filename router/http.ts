/**
 * The router's HTTP face: GET /create?cb&from&target&token&protocols.
 */
import express, { type Router } from 'express';
import { PolysocketError } from '../shared/errors';
import { param } from '../shared/params';
import { requestOrigin } from '../shared/origin';
import { callbackOf, sendOk } from '../shared/respond';
import type { TrustedProxies } from '../shared/client-address';
import type { SocketCreator } from './create';

export function routerRoutes(creator: SocketCreator, proxies: TrustedProxies): Router {
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
  return r;
}
