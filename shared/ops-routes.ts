/**
 * Operations endpoints on every role, served on the admin listener (ADMIN_BIND:ADMIN_PORT), and
 * on the public port only to `Authorization: Bearer <ADMIN_TOKEN>` when that is set:
 *   GET /healthz  alive (the process answers)
 *   GET /readyz   ready: store reachable, relay registered and not draining, a router able to place
 *   GET /metrics  Prometheus text
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { PolysocketError } from './errors';
import type { Metrics } from './metrics';
import { sendError, sendOk } from './respond';
import type { CoordinationStore } from './store/store';
import { withTimeout } from './timeout';

const PING_TIMEOUT_MS = 1000;

export interface Readiness {
  store: CoordinationStore;
  /** relays: registered and taking sockets */
  relay?: { ready: boolean; draining: boolean };
  /** routers: why no create could be placed now (undefined: it could) */
  placement?: () => Promise<string | undefined>;
}

/** Lets a request through only with `Authorization: Bearer <token>`; anything else is not_found (the routes are not advertised). */
export function adminGuard(token: string): express.RequestHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, _res, next) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    next(ok ? undefined : new PolysocketError('not_found'));
  };
}

export function opsRoutes(r: Readiness, metrics: Metrics): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => sendOk(res, undefined, { ok: true }));
  router.get('/readyz', (_req, res, next) => {
    readinessProblems(r)
      .then((reasons) =>
        reasons.length
          ? sendError(res, undefined, new PolysocketError('not_ready', `not ready: ${reasons.join('; ')}`, { reasons }))
          : sendOk(res, undefined, { ok: true }),
      )
      .catch(next);
  });
  router.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => {
        res.setHeader('Content-Type', metrics.registry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(text);
      })
      .catch(next);
  });
  return router;
}

async function readinessProblems(r: Readiness): Promise<string[]> {
  const reasons: string[] = [];
  try {
    await withTimeout(r.store.ping(), PING_TIMEOUT_MS, () => new PolysocketError('store_unavailable', 'ping timed out'));
  } catch {
    reasons.push('store unreachable');
  }
  if (r.relay?.draining) reasons.push('relay draining');
  else if (r.relay && !r.relay.ready) reasons.push('relay not registered');
  if (r.placement && !reasons.includes('store unreachable')) {
    const why = await r.placement().catch(() => 'store unreachable');
    if (why) reasons.push(why);
  }
  return reasons;
}
