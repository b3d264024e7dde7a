/**
 * Server processes for the benchmark, one kind per process so each one's RSS and CPU are its own:
 *   upstream  a plain `ws` echo server (the target of ws-direct and polysocket)
 *   sockjs    the sockjs npm server, echo, xhr-polling as a user would pick it
 *   engineio  the engine.io npm server, echo, polling transport
 *   soak      a `ws` upstream for the soak: echoes, pushes `u:<k>` every PUSH_MS per connection,
 *             `stall` stops reading, `stop` stops pushing and answers `stopped:<last k>`
 * Every kind echoes, and answers `push:<n>` by sending n numbered messages.
 * Prints one JSON line {port} when listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

type Send = (data: string) => void;

function onText(text: string, send: Send): void {
  const push = /^push:(\d+)$/.exec(text);
  if (push) {
    const n = Number(push[1]);
    for (let i = 1; i <= n; i++) send(`p${i}`);
  } else send(text);
}

function listen(server: http.Server): void {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, pid: process.pid }) + '\n');
  });
}

function upstream(): void {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) ws.send(data, { binary: true });
      else onText(data.toString(), (d) => ws.send(d));
    });
  });
  listen(server);
}

function sockjs(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const SockJS = require('sockjs');
  const server = http.createServer();
  const echo = SockJS.createServer({ prefix: '/echo', log: () => undefined, heartbeat_delay: 25000, disconnect_delay: 5000 });
  echo.on('connection', (conn: { on: (e: string, f: (d: string) => void) => void; write: Send }) => {
    conn.on('data', (d) => onText(d, (x) => conn.write(x)));
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

const kind = process.argv[2];
if (kind === 'upstream') upstream();
else if (kind === 'sockjs') sockjs();
else if (kind === 'engineio') engineio();
else if (kind === 'soak') soak();
else {
  process.stderr.write(`unknown server kind ${kind}\n`);
  process.exit(2);
}
