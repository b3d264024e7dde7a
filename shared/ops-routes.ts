/**
 * Operations endpoints on every role:
 *   GET /healthz  alive (the process answers)
 *   GET /readyz   ready: store reachable, relay registered and not draining
 *   GET /metrics  Prometheus text
 */
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
  return reasons;
}
