#!/usr/bin/env node
/**
 * polysocket start | router | relay | token | help
 * Every setting is an environment variable; `--name value` flags set the same variables.
 */
import os from 'node:os';
import { type Config, ConfigError, describeSettings, flagsToEnv, loadConfig, type Role, secretProblem } from '../shared/config';
import { PolysocketError } from '../shared/errors';
import { reloadCertificate } from '../shared/http-server';
import { createLogger, errorFields } from '../shared/log';
import { mintToken } from '../router/token';
import type { StatusView } from '../router/status';
import { startDemoServer } from './demo';
import { statusTable } from './status-table';
import { startAllInOne, startRelay, startRouter, type Running } from './servers';

const USAGE = `usage: polysocket <command> [--setting value ...]

commands:
  start    router + relay + demo in one process, embedded store (no Redis)
  router   the router role (GET /create), coordinated over REDIS_URL
  relay    the relay role (/s, /j), coordinated over REDIS_URL
  demo     the demo page and its echo, for a split deployment (compose): needs TOKEN_SECRET,
           ROUTER (the router's URL for browsers) and DEMO_TARGET (this echo's URL for relays)
  token    mint a token: --target URL (repeat) [--origin O (repeat)] [--max N]
           [--ttl SECONDS] [--once] [--allow-no-origin] [--cookie NAME (repeat)]   (needs TOKEN_SECRET)
           --cookie: a cookie the browser sends with /create that goes on to the upstream
  status   the cluster as a router's status page shows it: [--url ADMIN_URL] [--json]
           (default --url http://127.0.0.1:$ADMIN_PORT, 9090 when unset; ADMIN_TOKEN sent if set)
  help     this text, with every setting

Settings are environment variables; '--port 9000' sets PORT=9000, and so on.`;

function help(): string {
  const roles: [Role, string][] = [
    ['all', 'start'],
    ['router', 'router'],
    ['relay', 'relay'],
  ];
  return [USAGE, ...roles.flatMap(([role, name]) => ['', `settings of '${name}':`, ...describeSettings(role)])].join('\n');
}

function tokenCommand(args: string[], env: Record<string, string | undefined>): void {
  const targets: string[] = [];
  const origins: string[] = [];
  const cookies: string[] = [];
  let max: number | undefined;
  let ttl = 3600;
  let once = false;
  let allowNoOrigin = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new ConfigError([`${a} needs a value`]);
      return v;
    };
    if (a === '--target') targets.push(value());
    else if (a === '--origin') origins.push(value());
    else if (a === '--cookie') cookies.push(value());
    else if (a === '--max') max = Number(value());
    else if (a === '--ttl') ttl = Number(value());
    else if (a === '--once') once = true;
    else if (a === '--allow-no-origin') allowNoOrigin = true;
    else throw new ConfigError([`unknown token option ${a}`]);
  }
  const problems: string[] = [];
  const secret = env.TOKEN_SECRET ?? '';
  if (!secret) problems.push('TOKEN_SECRET must be set to mint a token (make one with: openssl rand -hex 32)');
  else {
    const weak = secretProblem(secret);
    if (weak) problems.push(weak);
  }
  if (targets.length === 0) problems.push('at least one --target is required');
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) problems.push('--max must be a whole number of at least 1');
  if (!Number.isInteger(ttl) || ttl < 1) problems.push('--ttl must be a whole number of seconds');
  if (problems.length) throw new ConfigError(problems);
  let token: string;
  try {
    token = mintToken(secret, {
      targets,
      origins,
      maxSockets: max,
      ttlSeconds: ttl,
      once,
      allowNoOrigin,
      cookies,
      audience: env.TOKEN_AUDIENCE,
      issuer: env.TOKEN_ISSUER,
    });
  } catch (err) {
    // a malformed --target, --origin or --cookie: the rules the routers apply say what is wrong
    throw new ConfigError([(err as Error).message]);
  }
  process.stdout.write(`${token}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(`${help()}\n`);
    return;
  }
  if (command === 'token') return tokenCommand(rest, process.env);
  if (command === 'demo') return demoCommand(process.env);
  if (command === 'status') return statusCommand(rest, process.env);
  const role: Role | undefined = command === 'start' ? 'all' : command === 'router' ? 'router' : command === 'relay' ? 'relay' : undefined;
  if (!role) throw new ConfigError([`unknown command '${command}'`, USAGE]);
  const { env, rest: unknown } = flagsToEnv(rest);
  if (unknown.length) throw new ConfigError([`unknown option(s): ${unknown.join(' ')} (see polysocket help)`]);
  const config = loadConfig({ ...process.env, ...env }, role);
  const log = createLogger(config.logLevel, { role: command });
  const running: Running =
    role === 'all' ? await startAllInOne(config, log) : role === 'router' ? await startRouter(config, log) : await startRelay(config, log);
  if (role === 'all') process.stderr.write(startupLine(config, running.port, running.adminPort));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutdown', { signal });
    running.drain().then(
      () => process.exit(0),
      (err) => {
        log.error('shutdown_failed', { err: (err as Error).message });
        process.exit(1);
      },
    );
  };
  if (config.tlsCertFile) {
    // SIGHUP: a renewed certificate, without dropping a socket
    process.on('SIGHUP', () => {
      try {
        reloadCertificate(running.server, config);
        log.info('tls_reloaded', { cert: config.tlsCertFile });
      } catch (err) {
        log.error('tls_reload_failed', { ...errorFields(err), keeping: 'the certificate already loaded' });
      }
    });
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started through npm (npx, npm start), a signal reaches npm and its `sh -c`, which die without
  // passing it on: the server would be left running, orphaned. Losing our parent is the same signal.
  if (process.env.npm_command || process.env.npm_lifecycle_event) watchParent(() => stop('parent exited'));
}

async function statusCommand(args: string[], env: Record<string, string | undefined>): Promise<void> {
  // the all-in-one's admin port beside its default public one (ADMIN_PORT: PORT + 1000)
  let url = `http://127.0.0.1:${env.ADMIN_PORT || 9080}`;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--json') json = true;
    else if (args[i] === '--url' && args[i + 1]) url = args[++i];
    else throw new ConfigError([`unknown status option ${args[i]} (status [--url ADMIN_URL] [--json])`]);
  }
  const headers: Record<string, string> = env.ADMIN_TOKEN ? { Authorization: `Bearer ${env.ADMIN_TOKEN}` } : {};
  let view: StatusView & { ok: boolean };
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/status.json`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    view = (await res.json()) as StatusView & { ok: boolean };
  } catch (err) {
    throw new ConfigError([`cannot read ${url}/status.json (${(err as Error).message}): give a router's admin URL with --url`]);
  }
  process.stdout.write(json ? `${JSON.stringify(view, null, 2)}\n` : statusTable(view));
}

async function demoCommand(env: Record<string, string | undefined>): Promise<void> {
  const problems: string[] = [];
  const secret = env.TOKEN_SECRET ?? '';
  const weak = secret ? secretProblem(secret) : "TOKEN_SECRET must be set (the routers' secret)";
  if (weak) problems.push(weak);
  if (!/^https?:\/\/[^/\s]+\/?$/.test(env.ROUTER ?? ''))
    problems.push("ROUTER must be the router's URL as browsers reach it, e.g. http://localhost:8080");
  if (!/^wss?:\/\/[^/\s]+\/\S*$/.test(env.DEMO_TARGET ?? ''))
    problems.push("DEMO_TARGET must be this echo's ws:// URL as relays reach it, e.g. ws://demo:8080/echo");
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push('PORT must be a port number');
  if (problems.length) throw new ConfigError(problems);
  const log = createLogger('info', { role: 'demo' });
  const router = (env.ROUTER as string).replace(/\/$/, '');
  const started = await startDemoServer({
    port,
    bind: env.BIND ?? '127.0.0.1',
    secret,
    router,
    target: env.DEMO_TARGET as string,
    adminPort: Number(env.ADMIN_PORT ?? 0),
    adminBind: env.ADMIN_BIND ?? '127.0.0.1',
  });
  log.info('admin_started', { port: started.adminPort });
  log.info('demo_started', { port: started.port, router, target: env.DEMO_TARGET });
  const stop = () => started.server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** What a newcomer reads after `npm start`: where the demo is, from this machine and (NETWORK) from others. */
function startupLine(c: Config, port: number, adminPort: number): string {
  const demo = c.demo ?? !(c.tokenSecret || c.tokenPublicKey);
  const lines = [demo ? `polysocket is running: open http://localhost:${port}/ for the demo` : `polysocket is running on port ${port}`];
  if (c.network) {
    const addresses = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => `http://${a?.address}:${port}/`);
    if (addresses.length) lines.push(`  from other machines: ${addresses.join(' ')}`);
  }
  lines.push(`  status page: http://${c.adminBind}:${adminPort}/status (admin port, not public; also /metrics, /healthz, /readyz)`);
  return `${lines.join('\n')}\n`;
}

function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 250);
  timer.unref();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const code = (err as { code?: string } | undefined)?.code;
  const where = (err as { port?: number } | undefined)?.port;
  if (code === 'EADDRINUSE') {
    process.stderr.write(`polysocket: port ${where ?? ''} is already in use: stop what holds it, or pick another (PORT=… or --port …)\n`);
  } else if (code === 'EADDRNOTAVAIL' || code === 'EACCES') {
    process.stderr.write(`polysocket: cannot listen on port ${where ?? ''} (${code}): check BIND and PORT\n`);
  } else if (err instanceof ConfigError) process.stderr.write(`polysocket: ${err.message}\n`);
  else if (err instanceof PolysocketError) process.stderr.write(`polysocket: ${err.code}: ${err.message}\n`);
  else process.stderr.write(`polysocket: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
