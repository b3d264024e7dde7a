/**
 * Server processes for the benchmark, one kind per process so each one's RSS and CPU are its own:
 *   upstream  a plain `ws` echo server (the target of ws-direct and polysocket)
 *   sockjs    the sockjs npm server, echo, xhr-polling as a user would pick it
 *   engineio  the engine.io npm server, echo, polling transport
 *   socketio  the socket.io npm server, `echo` events, polling transport (for socket.io-client in a browser)
 *   soak      a `ws` upstream for the soak: echoes, pushes `u:<k>` every PUSH_MS per connection,
 *             `stall` stops reading, `stop` stops pushing and answers `stopped:<last k>`
 *   bare-relay  the floor for a relay: our wire format (enough for the bench's polysocket client)
 *             with nothing but forwarding. No ack retention, limits, flow control, origin checks
 *             or timers besides the poll's: what the extra hop costs before anything of ours.
 * Every kind echoes, answers `push:<n>` by sending n numbered messages and `tick:<count>:<ms>` by
 * sending `count` timestamped 64-byte messages, one every ms.
 * Prints one JSON line {port} when listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import WebSocket, { WebSocketServer } from 'ws';
import { corked } from '../relay/upstream';

type Send = (data: string) => void;

function onText(text: string, send: Send, open: () => boolean = () => true): void {
  const push = /^push:(\d+)$/.exec(text);
  const tick = /^tick:(\d+):(\d+)$/.exec(text);
  if (push) {
    const n = Number(push[1]);
    for (let i = 1; i <= n; i++) send(`p${i}`);
  } else if (tick) ticks(Number(tick[1]), Number(tick[2]), send, open);
  else send(text);
}

/**
 * `tick:<count>:<ms>`: one 64-byte message every ms, `T<send time, ms since the epoch>` padded
 * with spaces: the page subtracts that from its own clock (the same machine's) for the push latency.
 */
function ticks(count: number, everyMs: number, send: Send, open: () => boolean): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (!open() || sent++ >= count) return clearInterval(timer);
    send(`T${(performance.timeOrigin + performance.now()).toFixed(3)}`.padEnd(64, ' '));
  }, everyMs);
}

function listen(server: http.Server): void {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, pid: process.pid })}\n`);
  });
}

function upstream(): void {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) ws.send(data, { binary: true });
      else
        onText(
          data.toString(),
          (d) => ws.send(d),
          () => ws.readyState === ws.OPEN,
        );
    });
  });
  listen(server);
}

function sockjs(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const SockJS = require('sockjs');
  const server = http.createServer();
  const echo = SockJS.createServer({ prefix: '/echo', log: () => undefined, heartbeat_delay: 25000, disconnect_delay: 5000 });
  echo.on('connection', (conn: { on: (e: string, f: (d: string) => void) => void; write: Send; readyState: number }) => {
    conn.on('data', (d) =>
      onText(
        d,
        (x) => conn.write(x),
        () => conn.readyState === 1,
      ),
    );
  });
  echo.installHandlers(server);
  listen(server);
}

function engineio(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Server } = require('engine.io');
  const server = http.createServer();
  const eio = new Server({ transports: ['polling'], pingInterval: 25000, pingTimeout: 20000, maxHttpBufferSize: 1e7 });
  eio.attach(server);
  eio.on('connection', (socket: { on: (e: string, f: (d: string) => void) => void; send: Send }) => {
    socket.on('message', (d) => onText(String(d), (x) => socket.send(x)));
  });
  listen(server);
}

/** socket.io with its polling transport, echoing `echo` events: the peer a page would use instead of polysocket. */
function socketio(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Server } = require('socket.io');
  const server = http.createServer();
  // SOCKETIO_TRANSPORTS=polling,websocket: its defaults, as a page behind a proxy meets them
  const transports = (process.env.SOCKETIO_TRANSPORTS ?? 'polling').split(',');
  const io = new Server(server, { transports, cors: { origin: true, credentials: true }, maxHttpBufferSize: 1e7 });
  io.on(
    'connection',
    (socket: { on: (e: string, f: (d: string) => void) => void; emit: (e: string, d: string) => void; connected: boolean }) => {
      socket.on('echo', (d) =>
        onText(
          String(d),
          (x) => socket.emit('echo', x),
          () => socket.connected,
        ),
      );
    },
  );
  listen(server);
}

function soak(): void {
  const every = Number(process.env.PUSH_MS ?? 1000);
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    let k = 0;
    const timer = setInterval(() => ws.send(`u:${++k}`), every);
    ws.on('error', () => undefined);
    ws.on('close', () => clearInterval(timer));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text === 'stall') (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      else if (text === 'stop') {
        clearInterval(timer);
        ws.send(`stopped:${k}`);
      } else ws.send(data, { binary: isBinary });
    });
  });
  listen(server);
}

function bareRelay(): void {
  interface Bare {
    up: WebSocket;
    queue: string[];
    seq: number;
    poll?: http.ServerResponse;
    timer?: NodeJS.Timeout;
  }
  const sockets = new Map<string, Bare>();
  let ids = 0;
  const answer = (res: http.ServerResponse, status: number, json: string) => {
    res.writeHead(status, ['Content-Type', 'application/json']);
    res.end(json);
  };
  const deliver = (b: Bare, extra?: string) => {
    const res = b.poll!;
    b.poll = undefined;
    clearTimeout(b.timer);
    const messages = b.queue.length ? b.queue.join(',') : (extra ?? '');
    b.queue.length = 0;
    answer(res, 200, `{"ok":true,"messages":[${messages}]}`);
  };
  const server = http.createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?');
    const q = parseQuery(query);
    if (path === '/create') {
      const up = new WebSocket(String(q.target), { perMessageDeflate: false });
      const id = String(++ids);
      const b: Bare = { up, queue: [], seq: 0 };
      up.on('message', (data, isBinary) => {
        const m = isBinary
          ? `{"type":"binary","seq":${++b.seq},"data":"${(data as Buffer).toString('base64')}"}`
          : `{"type":"text","seq":${++b.seq},"data":${JSON.stringify(data.toString())}}`;
        if (b.queue.push(m) === 1 && b.poll) queueMicrotask(() => b.poll && b.queue.length && deliver(b));
      });
      up.on('error', () => undefined);
      up.once('open', () => {
        sockets.set(id, b);
        answer(res, 200, JSON.stringify({ ok: true, socket: id, url: `http://${req.headers.host}` }));
      });
      return;
    }
    const b = sockets.get(path.slice(3));
    if (!b) return answer(res, 404, '{"ok":false,"error":"unknown_socket"}');
    if (path.startsWith('/j/')) {
      if (b.poll) deliver(b);
      b.poll = res;
      if (b.queue.length) deliver(b);
      else b.timer = setTimeout(() => b.poll && deliver(b, '{"type":"heartbeat"}'), Number(q.ttl ?? 25000));
      return;
    }
    if (q.t === 'c') {
      b.up.close();
      sockets.delete(path.slice(3));
      return answer(res, 201, '{"ok":true}');
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const d = parseQuery(body, '&', '=', { maxKeys: 0 }).d ?? [];
      const ds = Array.isArray(d) ? d : [d];
      corked(b.up, () => ds.forEach((m) => b.up.send(m)));
      answer(res, 201, '{"ok":true}');
    });
  });
  listen(server);
}

const kind = process.argv[2];
if (kind === 'upstream') upstream();
else if (kind === 'sockjs') sockjs();
else if (kind === 'engineio') engineio();
else if (kind === 'socketio') socketio();
else if (kind === 'soak') soak();
else if (kind === 'bare-relay') bareRelay();
else {
  process.stderr.write(`unknown server kind ${kind}\n`);
  process.exit(2);
}

// Exit cleanly when stopped politely, so a `node --cpu-prof` run of any kind writes its profile.
process.on('SIGTERM', () => process.exit(0));
