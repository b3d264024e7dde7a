/**
 * Opens the upstream WebSocket for a new socket and settles once: open (and paused: the caller
 * resumes it once it listens), or a PolysocketError saying why not. The target's address policy is enforced by `lookup`/`guard` (see target-policy).
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
 * instead of one syscall per frame (ws writes each frame on its own). ws keeps the socket in
 * `_socket`; without it (never, in practice) the sends simply go out one by one.
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

type Drainable = { on(e: 'drain', f: () => void): void; off(e: 'drain', f: () => void): void };

/**
 * Calls `done` once the upstream has at most `below` bytes waiting to be written (at once if it
 * has already), or once it closed. Returns a cancel function.
 */
export function whenWritable(ws: WebSocket, below: number, done: () => void): () => void {
  const ready = () => ws.bufferedAmount <= below || ws.readyState !== ws.OPEN;
  const socket = (ws as unknown as { _socket?: Drainable })._socket;
  if (ready() || !socket) {
    done();
    return () => undefined;
  }
  const check = () => {
    if (!ready()) return;
    cancel();
    done();
  };
  const cancel = () => {
    socket.off('drain', check);
    ws.off('close', check);
  };
  socket.on('drain', check);
  ws.on('close', check);
  return cancel;
}
