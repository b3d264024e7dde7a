/**
 * Unmodified WebSocket client libraries in Debian's chromium, through the very example pages of
 * examples/ (served by examples/server.js, the token backend, with a signed-in user): each page
 * forces the tunnel, so every library talks to its real server through polysocket (router, relay,
 * upstream), never natively.
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
import type { Browser } from 'playwright-core';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../helpers/browser';
import { freePort } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';
import { allInOne } from '../helpers/services';
import { startStompBroker, type StompBroker } from '../helpers/stomp-broker';

// examples/server.js is the application backend of the example pages (plain JavaScript)
const { createExampleApp } = require('../../examples/server') as {
  createExampleApp: (o: { secret: string; router: string; targets: string[] }) => http.RequestListener;
};
// graphql-ws publishes this entry point through package exports only, which this tsconfig's
// module resolution does not read; jest resolves it at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as { useServer: (options: { schema: GraphQLSchema }, wss: WebSocketServer) => unknown };

const SECRET = 'libraries-test-secret-0123456789abcdef0123456789abcdef';
let browser: Browser;
let svc: Awaited<ReturnType<typeof allInOne>>;
let examples: http.Server;
let examplesBase: string;

beforeAll(async () => {
  browser = await launchChromium();
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
  // the application backend of examples/, minting per-user tokens for the servers below
  examples = http.createServer(createExampleApp({ secret: SECRET, router: svc.base, targets: ['ws://127.0.0.1:*'] }));
  examplesBase = `http://localhost:${await listening(examples)}`;
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
  await new Promise((r) => examples?.close(r));
});

/** Signs in on the example backend, opens examples/<name>.html (tunnel forced) and waits for its result. */
async function runExample(name: string, target: string): Promise<any> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  try {
    const next = `/${name}.html?force=1&target=${encodeURIComponent(target)}`;
    await page.goto(`${examplesBase}/login?user=tester&next=${encodeURIComponent(next)}`);
    await page.waitForFunction(() => (window as any).result !== undefined, undefined, { timeout: 20_000 });
    return await page.evaluate(() => (window as any).result);
  } finally {
    await page.close();
  }
}

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Messages the relay carried to upstreams: proof that a library's frames went through the polyfill. */
function relayedMessages(): number {
  return svc.relay!.snapshot().stats.messagesToUpstream;
}

test('the example backend hands tokens to signed-in users only', async () => {
  const anonymous = await fetch(`${examplesBase}/token`);
  expect(anonymous.status).toBe(401);
});

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
    const r = await runExample('mqtt', `ws://127.0.0.1:${wsPort}`);
    expect(r).toEqual({ message: { topic: 'polysocket/example', payload: 'hello mqtt' }, tunnelled: true });
    expect(relayedMessages() - before).toBeGreaterThanOrEqual(3); // CONNECT, SUBSCRIBE, PUBLISH
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
    const r = await runExample('socket.io', `http://127.0.0.1:${port}`);
    expect(r).toEqual({ gotId: true, text: { hello: 'socket.io' }, binary: [1, 2, 250], transport: 'websocket', tunnelled: true });
    // the connect packet and two events, the binary one with its attachment frame
    expect(relayedMessages() - before).toBeGreaterThanOrEqual(4);
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
    const r = await runExample('graphql-ws', `ws://127.0.0.1:${port}/graphql`);
    expect(r).toEqual({
      answer: { data: { hello: 'world' } },
      counted: [3, 2, 1, 0],
      protocol: 'graphql-transport-ws',
      tunnelled: true,
    });
    expect(relayedMessages() - before).toBeGreaterThanOrEqual(3); // connection_init and two subscribes
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
    const r = await runExample('stomp', broker.url);
    expect(r).toEqual({ version: '1.2', body: 'hello stomp ✓', protocol: 'v12.stomp', tunnelled: true });
    expect(broker.received).toEqual(['CONNECT', 'SUBSCRIBE', 'SEND', 'DISCONNECT']);
    expect(relayedMessages() - before).toBeGreaterThanOrEqual(4);
  });
});
