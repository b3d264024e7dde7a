/**
 * A small STOMP 1.2 broker over WebSocket (subprotocol v12.stomp), enough for a client library
 * to connect, subscribe, send and disconnect with a receipt: topics fan out to subscribers.
 * The machine's RabbitMQ has web-stomp, but off and bound to every interface when on; this one
 * listens on loopback only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';

export interface StompBroker {
  url: string;
  /** every frame command the broker received, in order */
  received: string[];
  close(): Promise<void>;
}

interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

function parse(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const raw of text.split('\0')) {
    const frame = raw.replace(/^[\r\n]+/, ''); // heart-beats are bare EOLs
    if (!frame) continue;
    const split = frame.indexOf('\n\n');
    const head = (split < 0 ? frame : frame.slice(0, split)).split('\n');
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0 && !(line.slice(0, colon) in headers)) headers[line.slice(0, colon)] = line.slice(colon + 1);
    }
    frames.push({ command: head[0].trim(), headers, body: split < 0 ? '' : frame.slice(split + 2) });
  }
  return frames;
}

function frame(command: string, headers: Record<string, string>, body = ''): string {
  return `${command}\n${Object.entries(headers)
    .map(([k, v]) => `${k}:${v}`)
    .join('\n')}\n\n${body}\0`;
}

export async function startStompBroker(): Promise<StompBroker> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (offered) => (offered.has('v12.stomp') ? 'v12.stomp' : false) });
  const received: string[] = [];
  const subscribers = new Map<string, { ws: WebSocket; id: string }[]>();
  let messageId = 0;
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      for (const f of parse(data.toString())) {
        received.push(f.command);
        if (f.command === 'CONNECT' || f.command === 'STOMP') ws.send(frame('CONNECTED', { version: '1.2', 'heart-beat': '0,0' }));
        else if (f.command === 'SUBSCRIBE')
          subscribers.set(f.headers.destination, [...(subscribers.get(f.headers.destination) ?? []), { ws, id: f.headers.id }]);
        else if (f.command === 'SEND') {
          for (const s of subscribers.get(f.headers.destination) ?? []) {
            s.ws.send(
              frame(
                'MESSAGE',
                {
                  subscription: s.id,
                  'message-id': String(++messageId),
                  destination: f.headers.destination,
                  'content-length': String(Buffer.byteLength(f.body)),
                },
                f.body,
              ),
            );
          }
        } else if (f.command === 'DISCONNECT' && f.headers.receipt) ws.send(frame('RECEIPT', { 'receipt-id': f.headers.receipt }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
