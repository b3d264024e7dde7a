/**
 * A router's heartbeat in the store: its id and cumulative create outcomes, so that any router's
 * status page shows every router. Nothing here runs per request.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../shared/log';
import type { CoordinationStore } from '../shared/store/store';
import type { SocketCreator } from './create';

export function announceRouter(store: CoordinationStore, creator: SocketCreator, o: { heartbeatMs: number; ttlMs: number; log: Logger }) {
  const id = `router-${randomBytes(4).toString('hex')}`;
  let failing = false;
  const beat = async () => {
    try {
      await store.announceRouter(
        {
          id,
          heartbeatAt: Date.now(),
          creates: creator.counts.creates,
          refused: { ...creator.counts.refused },
          pendingCreates: creator.pendingCreates,
        },
        o.ttlMs,
      );
      failing = false;
    } catch {
      if (!failing) o.log.warn('router_announce_failed', { router: id });
      failing = true;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), o.heartbeatMs);
  timer.unref();
  return { id, stop: () => clearInterval(timer) };
}
