/**
 * A real `ws` upstream for tests. It echoes, and obeys a few text commands:
 *   close:<code>:<reason>  closes with that code and reason
 *   push:<n>               sends n numbered text messages (p1..pn)
 *   drip:<n>:<ms>          sends p1..pn one every ms milliseconds (a steady push)
 *   big:<n>                sends one text message of n bytes
 *   stall                  stops reading (its TCP buffers fill, the relay's backlog grows)
 *   flood                  sends 16 KB messages as fast as the relay reads them, until closed (at most 60 s)
 * It records every message it received, so tests can prove nothing arrived twice.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Upstream {
  url: string;
  port: number;
  received: (string | Buffer)[];
  sockets: Set<WebSocket>;
  /** the Origin header of each upgrade */
  origins: (string | undefined)[];
  /** close codes and reasons the upstream saw from the relay, in order */
  closes: { code: number; reason: string }[];
  /** resolves when `count` connections have closed in total */
  closedCount(count: number): Promise<void>;
  /** resolves when `count` messages have been received in total */
  receivedCount(count: number): Promise<void>;
  close(): Promise<void>;
}

/** `greeting`: messages sent the moment a connection is accepted (with the 101, as socket.io does). */
export async function startUpstream(opts: { protocols?: string[]; echo?: boolean; greeting?: string[] } = {}): Promise<Upstream> {
  const server = http.createServer();
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: false,
    handleProtocols: (offered) => {
      for (const p of opts.protocols ?? []) if (offered.has(p)) return p;
      return false;
    },
  });
  const received: (string | Buffer)[] = [];
  const sockets = new Set<WebSocket>();
  const origins: (string | undefined)[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const closes: { code: number; reason: string }[] = [];
  let closeWaiters: { count: number; resolve: () => void }[] = [];
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    origins.push(req.headers.origin);
    ws.on('close', (code, reason) => {
      sockets.delete(ws);
      closes.push({ code, reason: reason.toString() });
      closeWaiters = closeWaiters.filter((w) => (closes.length >= w.count ? (w.resolve(), false) : true));
    });
    ws.on('error', () => undefined);
    for (const g of opts.greeting ?? []) ws.send(g);
    ws.on('message', (data: Buffer, isBinary) => {
      received.push(isBinary ? Buffer.from(data) : data.toString());
      waiters = waiters.filter((w) => (received.length >= w.count ? (w.resolve(), false) : true));
      const text = isBinary ? '' : data.toString();
      const close = /^close:(\d+):(.*)$/.exec(text);
      const push = /^push:(\d+)$/.exec(text);
      const big = /^big:(\d+)$/.exec(text);
      const drip = /^drip:(\d+):(\d+)$/.exec(text);
      if (close) ws.close(Number(close[1]), close[2]);
      else if (big) ws.send('x'.repeat(Number(big[1])));
      else if (text === 'stall') (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      else if (push) for (let i = 1; i <= Number(push[1]); i++) ws.send(`p${i}`);
      else if (text === 'flood') flood(ws);
      else if (drip) dripTo(ws, Number(drip[1]), Number(drip[2]));
      else if (opts.echo !== false) ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    received,
    sockets,
    origins,
    closes,
    closedCount: (count) => (closes.length >= count ? Promise.resolve() : new Promise((resolve) => closeWaiters.push({ count, resolve }))),
    receivedCount: (count) => (received.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function dripTo(ws: WebSocket, count: number, everyMs: number): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (ws.readyState !== ws.OPEN || sent >= count) return clearInterval(timer);
    ws.send(`p${++sent}`);
  }, everyMs);
}

function flood(ws: WebSocket): void {
  const stopAt = Date.now() + 60_000;
  const chunk = 'f'.repeat(16_384);
  const tick = () => {
    if (ws.readyState !== ws.OPEN || Date.now() > stopAt) return;
    while (ws.bufferedAmount < 1 << 20) ws.send(chunk);
    setTimeout(tick, 5);
  };
  tick();
}
