/**
 * Opens the upstream WebSocket for a new socket and settles once: open (and paused: the caller
 * resumes it once it listens), or a PolysocketError saying why not. The target's address policy
 * rides in `socketOptions` (see target-policy).
 */
import WebSocket from 'ws';
import { PolysocketError } from '../shared/errors';
import type { UpstreamSocketOptions } from './target-policy';

export interface UpstreamOptions {
  target: string;
  protocols: string[];
  origin: string;
  timeoutMs: number;
  maxPayload: number;
  /** extra handshake headers (forwarding, user agent, cookies): see OpenRequest.upstreamHeaders */
  headers?: Record<string, string>;
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
        headers: o.headers,
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
      // Paused until its Session listens: a server that speaks first (socket.io's open packet)
      // often sends in the same read as its 101, and ws would emit that before anyone listens.
      ws.pause();
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

/**
 * Runs `fn` with the upstream's TCP socket corked, so a batch of sends leaves in one write
 * instead of one syscall per frame (ws writes each frame on its own). ws has no public cork, so
 * this reaches for its `_socket`; without it the sends simply go out one by one, which is only
 * slower. Everything else (backlog, drain) goes through ws's public API.
 */
export function corked<T>(ws: WebSocket, fn: () => T): T {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  socket?.cork();
  try {
    return fn();
  } finally {
    socket?.uncork();
  }
}
