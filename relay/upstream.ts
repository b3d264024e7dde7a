/**
 * Opens the upstream WebSocket for a new socket and settles once: open, or a PolysocketError
 * saying why not. The target's address policy is enforced by `lookup`/`guard` (see target-policy).
 */
import WebSocket, { type ClientOptions } from 'ws';
import { PolysocketError } from '../shared/errors';
import type { UpstreamSocketOptions } from './target-policy';

export interface UpstreamOptions {
  target: string;
  protocols: string[];
  origin: string;
  timeoutMs: number;
  maxPayload: number;
  /** Extra socket options (e.g. a vetted DNS lookup); merged into the ws client options. */
  socketOptions?: UpstreamSocketOptions;
}

export function connectUpstream(o: UpstreamOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(o.target, o.protocols, {
        handshakeTimeout: o.timeoutMs,
        maxPayload: o.maxPayload,
        // zlib contexts cost ~100 KB per socket; a relay holds thousands.
        perMessageDeflate: false,
        followRedirects: false,
        origin: o.origin || undefined,
        ...o.socketOptions,
      });
    } catch (err) {
      reject(new PolysocketError('bad_target', `target rejected: ${(err as Error).message}`));
      return;
    }
    const fail = (err: PolysocketError) => {
      cleanup();
      // terminate() while connecting reports an abort as 'error' on a later tick: absorb it.
      ws.on('error', () => undefined);
      ws.terminate();
      reject(err);
    };
    const onError = (err: Error) =>
      fail(err instanceof PolysocketError ? err : new PolysocketError('upstream_unreachable', `upstream: ${err.message}`));
    const onUnexpected = (_req: unknown, res: { statusCode?: number }) =>
      fail(new PolysocketError('upstream_unreachable', `upstream answered HTTP ${res.statusCode} instead of upgrading`));
    const onOpen = () => {
      cleanup();
      resolve(ws);
    };
    const cleanup = () => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpected);
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
  });
}
