/**
 * Unmodified WebSocket client libraries, loaded from their own browser bundles after
 * polysocket.js, in Debian's chromium with the native WebSocket removed: every one of them
 * talks to its real server through the polyfill (router, relay, upstream), never natively.
 *   mqtt.js 5        ↔ Mosquitto's websockets listener
 *   socket.io 4      ↔ the socket.io server (websocket transport only: no HTTP fallback of its own)
 *   graphql-ws 6     ↔ graphql-ws on `ws` (subprotocol graphql-transport-ws), query and subscription
 *   @stomp/stompjs 7 ↔ a STOMP 1.2 broker (subprotocols v10–v12.stomp)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import type { Browser, Page } from 'playwright-core';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { mintToken } from '../../router/token';
import { launchChromium, startPageServer, type PageServer } from '../helpers/browser';
import { freePort } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';
import { allInOne } from '../helpers/services';
import { startStompBroker, type StompBroker } from '../helpers/stomp-broker';

// graphql-ws publishes this entry point through package exports only, which this tsconfig's
// module resolution does not read; jest resolves it at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as { useServer: (options: { schema: GraphQLSchema }, wss: WebSocketServer) => unknown };

const SECRET = 'libraries-test-secret-0123456789abcdef0123456789abcdef';
let browser: Browser;
let pages: PageServer;
let svc: Awaited<ReturnType<typeof allInOne>>;
let token: string;

beforeAll(async () => {
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
  token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: [pages.origin] });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([svc?.close(), pages?.close()]);
});

/** A page with no native WebSocket, polysocket.js, then the library's bundle. */
async function pageWith(library: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(
    pages.page(
      `/${library}-${Math.random().toString(36).slice(2)}.html`,
      `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>delete window.WebSocket;</script>
<script src="${svc.base}/polysocket.js" data-router="${svc.base}" data-token="${token}"></script>
<script src="${pages.origin}/lib/${library}.js"></script>
</body></html>`,
    ),
  );
  return page;
}

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Messages the relay carried to upstreams: proof that a library's frames went through the polyfill. */
function relayedMessages(): number {
  return svc.relay!.snapshot().stats.messagesToUpstream;
}

describe('mqtt.js against Mosquitto', () => {
  let mosquitto: ChildProcess;
  let wsPort: number;

  beforeAll(async () => {
    const [plain, ws] = [await freePort(), await freePort()];
    wsPort = ws;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-mosq-'));
    const conf = path.join(dir, 'mosquitto.conf');
    // Mosquitto 2.0.11 needs a plain listener too, and socket_domain to bind websockets to IPv4 loopback.
    writeFileSync(
      conf,
      `listener ${plain} 127.0.0.1\nlistener ${ws} 127.0.0.1\nprotocol websockets\n` +
        'socket_domain ipv4\nallow_anonymous true\npersistence false\n',
    );
    mosquitto = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    await until(() => reachable(ws), 10_000, 'mosquitto listening');
  });
  afterAll(() => {
    mosquitto?.kill();
  });

  test('connect, subscribe, publish and receive through the polyfill', async () => {
    const before = relayedMessages();
    const page = await pageWith('mqtt');
    try {
      const r = await page.evaluate(async (url) => {
        const mqtt = (window as any).mqtt;
        const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000 });
        await new Promise((res, rej) => {
          client.on('connect', res);
          client.on('error', rej);
        });
        await new Promise((res, rej) => client.subscribe('polysocket/test', (err: unknown) => (err ? rej(err) : res(null))));
        const got = new Promise((res) =>
          client.on('message', (topic: string, payload: Uint8Array) => res({ topic, payload: new TextDecoder().decode(payload) })),
        );
        client.publish('polysocket/test', 'hello mqtt', { qos: 1 });
        const message = await got;
        const isPolySocket = client.stream && (window as any).WebSocket === (window as any).PolySocket;
        await new Promise((res) => client.end(false, {}, res));
        return { message, isPolySocket };
      }, `ws://127.0.0.1:${wsPort}`);
      expect(r).toEqual({ message: { topic: 'polysocket/test', payload: 'hello mqtt' }, isPolySocket: true });
      expect(relayedMessages() - before).toBeGreaterThanOrEqual(3); // CONNECT, SUBSCRIBE, PUBLISH
    } finally {
      await page.close();
    }
  });
});

describe('socket.io-client against the socket.io server', () => {
  let server: http.Server;
  let io: SocketIoServer;
  let port: number;

  beforeAll(async () => {
    server = http.createServer();
    io = new SocketIoServer(server, { transports: ['websocket'], cors: { origin: '*' } });
    io.on('connection', (socket) => {
      socket.emit('welcome', { id: socket.id });
      // acknowledgements carry the data back: text, and binary as binary
      socket.on('echo', (data: unknown, ack: (d: unknown) => void) => ack(data));
    });
    port = await listening(server);
  });
  afterAll(async () => {
    io.close();
    await new Promise((r) => server.close(r));
  });

  test('connects over the polyfilled websocket transport; events and acks with text and binary', async () => {
    const before = relayedMessages();
    const page = await pageWith('socket.io');
    try {
      const r = await page.evaluate(async (url) => {
        const socket = (window as any).io(url, { transports: ['websocket'], reconnection: false, timeout: 10_000 });
        const welcome = await new Promise<any>((res, rej) => {
          socket.on('welcome', res);
          socket.on('connect_error', rej);
        });
        const text = await socket.timeout(10_000).emitWithAck('echo', { hello: 'socket.io' });
        const binary = await socket.timeout(10_000).emitWithAck('echo', new Uint8Array([1, 2, 250]));
        const transport = socket.io.engine.transport;
        socket.disconnect();
        return {
          gotId: typeof welcome.id === 'string',
          text,
          binary: Array.from(new Uint8Array(binary)),
          transport: transport.name,
          polyfilled: (window as any).WebSocket === (window as any).PolySocket,
        };
      }, `http://127.0.0.1:${port}`);
      expect(r).toEqual({ gotId: true, text: { hello: 'socket.io' }, binary: [1, 2, 250], transport: 'websocket', polyfilled: true });
      // the connect packet and two events, the binary one with its attachment frame
      expect(relayedMessages() - before).toBeGreaterThanOrEqual(4);
    } finally {
      await page.close();
    }
  });
});

describe('graphql-ws against a graphql-ws server', () => {
  let server: http.Server;
  let wss: WebSocketServer;
  let port: number;

  beforeAll(async () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          countdown: {
            type: GraphQLInt,
            args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
            subscribe: async function* (_root: unknown, args: { from: number }) {
              for (let i = args.from; i >= 0; i--) yield { countdown: i };
            },
          },
        },
      }),
    });
    server = http.createServer();
    wss = new WebSocketServer({ server, path: '/graphql' });
    useServer({ schema }, wss);
    port = await listening(server);
  });
  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise((r) => server.close(r));
  });

  test('a query and a subscription over subprotocol graphql-transport-ws', async () => {
    const before = relayedMessages();
    const page = await pageWith('graphql-ws');
    try {
      const r = await page.evaluate(async (url) => {
        const client = (window as any).graphqlWs.createClient({ url, retryAttempts: 0 });
        let protocol = '';
        client.on('opened', (socket: WebSocket) => (protocol = socket.protocol));
        const query = client.iterate({ query: '{ hello }' });
        const answer = (await query.next()).value;
        const counted: number[] = [];
        for await (const next of client.iterate({ query: 'subscription { countdown(from: 3) }' })) counted.push(next.data.countdown);
        await client.dispose();
        return { answer, counted, protocol, polyfilled: (window as any).WebSocket === (window as any).PolySocket };
      }, `ws://127.0.0.1:${port}/graphql`);
      expect(r).toEqual({
        answer: { data: { hello: 'world' } },
        counted: [3, 2, 1, 0],
        protocol: 'graphql-transport-ws',
        polyfilled: true,
      });
      expect(relayedMessages() - before).toBeGreaterThanOrEqual(3); // connection_init and two subscribes
    } finally {
      await page.close();
    }
  });
});

describe('@stomp/stompjs against a STOMP broker', () => {
  let broker: StompBroker;
  beforeAll(async () => {
    broker = await startStompBroker();
  });
  afterAll(() => broker.close());

  test('connect, subscribe, send, receive, and disconnect with a receipt', async () => {
    const before = relayedMessages();
    const page = await pageWith('stomp');
    try {
      const r = await page.evaluate(async (url) => {
        const client = new (window as any).StompJs.Client({
          brokerURL: url,
          reconnectDelay: 0,
          heartbeatIncoming: 0,
          heartbeatOutgoing: 0,
        });
        const connected = new Promise<any>((res, rej) => {
          client.onConnect = res;
          client.onStompError = (f: any) => rej(new Error(f.headers.message));
          client.onWebSocketError = () => rej(new Error('websocket error'));
        });
        client.activate();
        const frame = await connected;
        const got = new Promise<string>((res) => client.subscribe('/topic/greetings', (m: any) => res(m.body)));
        client.publish({ destination: '/topic/greetings', body: 'hello stomp ✓' });
        const body = await got;
        const protocol = client.webSocket.protocol;
        await client.deactivate();
        return { version: frame.headers.version, body, protocol, polyfilled: (window as any).WebSocket === (window as any).PolySocket };
      }, broker.url);
      expect(r).toEqual({ version: '1.2', body: 'hello stomp ✓', protocol: 'v12.stomp', polyfilled: true });
      expect(broker.received).toEqual(['CONNECT', 'SUBSCRIBE', 'SEND', 'DISCONNECT']);
      expect(relayedMessages() - before).toBeGreaterThanOrEqual(4);
    } finally {
      await page.close();
    }
  });
});
