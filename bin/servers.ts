/**
 * Builds and starts the roles: the all-in-one (router + relay + demo, embedded store), or a
 * router or a relay on its own over Redis. Each returns a handle tests can close; listening
 * on port 0 is fine. Every role also listens on a private admin port (/healthz, /readyz,
 * /metrics), never on the public one unless ADMIN_TOKEN is given.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { relayHandler } from '../relay/http';
import { Relay } from '../relay/relay';
import { TargetPolicy } from '../relay/target-policy';
import { SocketCreator } from '../router/create';
import { routerHandler } from '../router/http';
import { rankRelays } from '../router/pick-relay';
import { announceRouter } from '../router/presence';
import { RunLiveness } from '../router/run-liveness';
import { sampleStatus, StatusHistory } from '../router/status';
import { statusRoutes } from '../router/status-page';
import { DEMO_KEY_ID, KeyedVerifier, TokenVerifier, type Verifier } from '../router/token';
import { TrustedProxies } from '../shared/client-address';
import { clientScriptRoutes } from '../shared/client-script';
import { type Config, withListenPort } from '../shared/config';
import { createApp, finishApp } from '../shared/http-app';
import { closeServer, createServer, listen } from '../shared/http-server';
import type { Logger } from '../shared/log';
import { Metrics } from '../shared/metrics';
import { adminGuard, opsRoutes, type Readiness } from '../shared/ops-routes';
import { MemoryStore } from '../shared/store/memory-store';
import { RedisStore } from '../shared/store/redis-store';
import type { CoordinationStore } from '../shared/store/store';
import { attachEchoTarget, DEMO_PATH, demoRoutes } from './demo';

export interface Running {
  server: http.Server;
  port: number;
  /** the admin listener's port (/healthz, /readyz, /metrics) */
  adminPort: number;
  config: Config;
  store: CoordinationStore;
  relay?: Relay;
  metrics: Metrics;
  /** graceful: relays drain (clients get close 1001) */
  drain(): Promise<void>;
  /** immediate */
  close(): Promise<void>;
}

async function connectStore(c: Config, log: Logger, metrics: Metrics): Promise<CoordinationStore> {
  return RedisStore.connect({
    url: c.redisUrl ?? '', // loadConfig requires it for these roles
    cluster: c.redisCluster,
    prefix: c.storePrefix,
    log,
    onError: () => metrics.storeErrors.inc(),
  });
}

/** The private listener for the ops routes; `app` gets them too when ADMIN_TOKEN guards them. */
async function startAdmin(
  c: Config,
  log: Logger,
  readiness: Readiness,
  metrics: Metrics,
  app: ReturnType<typeof createApp>,
  status?: StatusHistory,
) {
  if (c.adminToken) app.use(adminGuardedOps(c.adminToken, readiness, metrics, status));
  const admin = createApp(c.maxUrlBytes);
  admin.use(opsRoutes(readiness, metrics));
  if (status) admin.use(statusRoutes(status));
  finishApp(admin, log);
  // the admin listener stays plain HTTP on its private address
  const server = createServer({ ...c, tlsCertFile: undefined, tlsKeyFile: undefined });
  server.on('request', admin);
  const port = await listen(server, c.adminPort, c.adminBind);
  log.info('admin_started', { port, bind: c.adminBind });
  return { server, port };
}

function adminGuardedOps(token: string, readiness: Readiness, metrics: Metrics, status?: StatusHistory) {
  const r = createApp(Number.MAX_SAFE_INTEGER);
  r.use(['/healthz', '/readyz', '/metrics', '/status', '/status.json'], adminGuard(token));
  r.use(opsRoutes(readiness, metrics));
  if (status) r.use(statusRoutes(status));
  return r;
}

/** A router's heartbeat and its view of the cluster (the status page), both from the store. */
function routerPresence(c: Config, store: CoordinationStore, creator: SocketCreator, log: Logger) {
  const status = new StatusHistory(c.heartbeatMs);
  const stopSampling = sampleStatus(store, status, Math.max(500, c.heartbeatMs));
  const presence = announceRouter(store, creator, { heartbeatMs: c.heartbeatMs, ttlMs: c.relayTtlMs, log });
  return {
    status,
    stop: () => {
      stopSampling();
      presence.stop();
    },
  };
}

/** A router's readiness includes whether a create could be placed right now. */
function placement(store: CoordinationStore): () => Promise<string | undefined> {
  return async () => (rankRelays(await store.liveRelays()).length ? undefined : 'no live relay can take sockets');
}

function operatorVerifier(c: Config): TokenVerifier | undefined {
  return c.tokenSecret || c.tokenPublicKey ? new TokenVerifier(c) : undefined;
}

/** Says at start how the public port speaks, loudly when the legacy TLS profile is on. */
function announceTls(c: Config, log: Logger): void {
  if (!c.tlsCertFile) return;
  if (c.tlsProfile === 'legacy') {
    log.warn('tls_legacy_profile', {
      message: 'TLS 1.0/1.1 and AES-CBC-SHA suites are on, for IE 7-10 and their kin (TLS_PROFILE=legacy)',
    });
  } else log.info('tls_modern_profile', { message: 'TLS 1.2 and up' });
}

function warnIfOpen(c: Config, log: Logger): void {
  if (c.auth === 'none') {
    log.warn('auth_none', {
      message: 'AUTH=none: anyone may open sockets to any public target (internal ones only if ALLOW_TARGETS names them)',
    });
  }
}

/** drain: the relay's clients get close 1001 first; close: at once. Then the listeners and the store go. */
function stoppers(relay: Relay, release: () => Promise<void>): Pick<Running, 'drain' | 'close'> {
  return {
    drain: async () => {
      await relay.drain();
      await release();
    },
    close: async () => {
      await relay.stop();
      await release();
    },
  };
}

/** Router + relay + demo in one process on one port, with the embedded store. */
export async function startAllInOne(config: Config, log: Logger): Promise<Running> {
  const store = new MemoryStore();
  const metrics = new Metrics('all');
  const server = createServer(config);
  const port = await listen(server, config.port, config.bind, config.listenBacklog);
  const c = withListenPort(config, port);
  const demoOn = c.demo ?? !(c.tokenSecret || c.tokenPublicKey);
  // The demo's echo lives on this very server (loopback): the relay may reach exactly that, and its
  // tokens are signed with a key of this process's own that nothing else ever sees.
  const demoTarget = `ws://localhost:${port}${DEMO_PATH}`;
  const demoKey = randomBytes(32).toString('base64url');
  const policy = new TargetPolicy({ allow: c.allowTargets, allowPorts: c.allowPorts, exact: demoOn ? [demoTarget] : [] });
  const relay = new Relay(c, { store, log, policy, metrics });
  metrics.watchRelay(() => relay.snapshot());
  let verifier: Verifier | undefined;
  if (c.auth === 'token') {
    const demoVerifier = new TokenVerifier({ ...c, tokenSecret: demoKey, tokenPublicKey: undefined, tokenAlgorithms: ['HS256'] });
    verifier = demoOn ? new KeyedVerifier({ [DEMO_KEY_ID]: demoVerifier }, operatorVerifier(c)) : operatorVerifier(c);
  }
  const creator = new SocketCreator(c, { store, log, verifier, metrics });
  const presence = routerPresence(c, store, creator, log);

  const app = createApp(c.maxUrlBytes);
  const readiness: Readiness = { store, relay, placement: placement(store) };
  const admin = await startAdmin(c, log, readiness, metrics, app, presence.status);
  if (demoOn) {
    app.use(demoRoutes({ key: demoKey, target: demoTarget, port, network: c.network, audience: c.tokenAudience, issuer: c.tokenIssuer }));
  }
  app.use(clientScriptRoutes());
  finishApp(app, log);
  const relayFirst = relayHandler(relay, c);
  const routerFirst = routerHandler({
    creator,
    liveness: new RunLiveness(store),
    proxies: new TrustedProxies(c.trustProxy),
    log,
    maxUrlBytes: c.maxUrlBytes,
  });
  server.on('request', (req, res) => relayFirst(req, res) || routerFirst(req, res) || app(req, res));
  if (demoOn) attachEchoTarget(server, DEMO_PATH);
  await relay.start();
  warnIfOpen(c, log);
  announceTls(c, log);
  log.info('all_in_one_started', { url: `http://localhost:${port}`, port, adminPort: admin.port, auth: c.auth, demo: demoOn });
  const release = async () => {
    presence.stop();
    await closeServer(server);
    await closeServer(admin.server);
    await store.close();
  };
  return {
    server,
    port,
    adminPort: admin.port,
    config: c,
    store,
    relay,
    metrics,
    ...stoppers(relay, release),
  };
}

export async function startRouter(config: Config, log: Logger, store?: CoordinationStore): Promise<Running> {
  const metrics = new Metrics('router');
  const s = store ?? (await connectStore(config, log, metrics));
  const creator = new SocketCreator(config, {
    store: s,
    log,
    verifier: config.auth === 'token' ? new TokenVerifier(config) : undefined,
    metrics,
  });
  const presence = routerPresence(config, s, creator, log);
  const app = createApp(config.maxUrlBytes);
  const admin = await startAdmin(config, log, { store: s, placement: placement(s) }, metrics, app, presence.status);
  app.use(clientScriptRoutes());
  finishApp(app, log);
  const routerFirst = routerHandler({
    creator,
    liveness: new RunLiveness(s),
    proxies: new TrustedProxies(config.trustProxy),
    log,
    maxUrlBytes: config.maxUrlBytes,
  });
  const server = createServer(config);
  server.on('request', (req, res) => routerFirst(req, res) || app(req, res));
  const port = await listen(server, config.port, config.bind, config.listenBacklog);
  warnIfOpen(config, log);
  announceTls(config, log);
  log.info('router_started', { port, adminPort: admin.port });
  const close = async () => {
    presence.stop();
    await closeServer(server);
    await closeServer(admin.server);
    if (!store) await s.close();
  };
  return { server, port, adminPort: admin.port, config: withListenPort(config, port), store: s, metrics, drain: close, close };
}

export async function startRelay(config: Config, log: Logger, store?: CoordinationStore): Promise<Running> {
  const metrics = new Metrics('relay');
  const s = store ?? (await connectStore(config, log, metrics));
  const server = createServer(config);
  const port = await listen(server, config.port, config.bind, config.listenBacklog);
  const c = withListenPort(config, port);
  const policy = new TargetPolicy({ allow: c.allowTargets, allowPorts: c.allowPorts });
  const relay = new Relay(c, { store: s, log, policy, metrics });
  metrics.watchRelay(() => relay.snapshot());
  const app = createApp(c.maxUrlBytes);
  const admin = await startAdmin(c, log, { store: s, relay }, metrics, app);
  app.use(clientScriptRoutes());
  finishApp(app, log);
  const relayFirst = relayHandler(relay, c);
  server.on('request', (req, res) => relayFirst(req, res) || app(req, res));
  announceTls(c, log);
  await relay.start();
  const release = async () => {
    await closeServer(server);
    await closeServer(admin.server);
    if (!store) await s.close();
  };
  return {
    server,
    port,
    adminPort: admin.port,
    config: c,
    store: s,
    relay,
    metrics,
    ...stoppers(relay, release),
  };
}
