/**
 * Child processes for the tests, the benchmark and the soak: polysocket roles (the built CLI, as
 * operators run it) and the bench servers, each resolved once it says it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The project root, from build/test/harness (compiled for the bench) or test/harness (the tests run the TypeScript). */
export const ROOT = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..', '..', '..')].find((d) =>
  existsSync(path.join(d, 'package.json')),
)!;
/** the product, as a user runs it */
export const CLI = path.join(ROOT, 'dist', 'bin', 'polysocket.js');
/** the bench's own servers (npm run build:tools) */
const SERVERS = path.join(ROOT, 'build', 'bench', 'servers.js');

export interface Proc {
  child: ChildProcess;
  pid: number;
  port: number;
  /** the admin listener's port (/healthz, /readyz, /metrics), for polysocket roles */
  adminPort?: number;
  exited: Promise<number | null>;
}

export const children: ChildProcess[] = [];

/** Runs `node <argv>` from the project root; resolves once a JSON line of its stdout makes `ready` name its port. */
export function start(
  argv: string[],
  env: Record<string, string>,
  ready: (line: any) => number | undefined,
  onLine?: (line: any) => void,
  timeoutMs = 15_000,
): Promise<Proc> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    let started = false;
    let adminPort: number | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      // Once started, a child nobody listens to is only drained: parsing every log line here would
      // make a busy load generator a slow reader, and a slow reader blocks the child's log writes.
      if (started && !onLine && adminPort !== undefined) return;
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let parsed: any;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        onLine?.(parsed);
        if (parsed?.event === 'admin_started') adminPort = Number(parsed.port);
        const port = started ? undefined : ready(parsed);
        if (port) {
          started = true;
          clearTimeout(timer);
          resolve({ child, pid: child.pid!, port, adminPort, exited });
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`${argv.join(' ')} exited with ${code}`));
    });
  });
}

/** `nodeArgs`: flags for node itself (e.g. --inspect), before the script. */
export const server = (kind: string, env: Record<string, string> = {}, nodeArgs: string[] = []) =>
  start([...nodeArgs, SERVERS, kind], env, (l) => l.port);

/** A loopback port nothing listens on right now (for a child that must be told its port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The listen port a polysocket role logs when it has started (undefined for any other line). */
export function startedPort(role: string): (line: any) => number | undefined {
  const event = role === 'start' ? 'all_in_one_started' : `${role}_started`;
  return (l) => (l.event === event ? Number(l.port ?? String(l.url).split(':').pop()) : undefined);
}

export function polysocket(
  role: 'start' | 'router' | 'relay',
  env: Record<string, string>,
  onLine?: (line: any) => void,
  nodeArgs: string[] = [],
  cli = CLI,
): Promise<Proc> {
  return start(
    [...nodeArgs, cli, role],
    {
      PORT: '0',
      LOG_LEVEL: 'info',
      AUTH: 'none',
      ALLOW_TARGETS: '127.0.0.1',
      MAX_SOCKETS: '20000',
      // the load generators make thousands of connections from one address
      MAX_CONNECTIONS_PER_IP: '0',
      CREATES_PER_MINUTE_PER_IP: '10000000',
      ...env,
    },
    startedPort(role),
    onLine,
  );
}

export function stop(p: Proc | undefined): void {
  p?.child.kill('SIGKILL');
}

export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return 0;
  }
}

export interface RoleProcess {
  child: ChildProcess;
  port: number;
  adminPort?: number;
  /** every JSON log line so far */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnRole(role: 'relay' | 'router' | 'start', env: Record<string, string>, timeoutMs = 10_000): Promise<RoleProcess> {
  return spawnCommand([process.execPath, CLI, role], { PORT: '0', LOG_LEVEL: 'info', ...env }, timeoutMs);
}

/** Runs `node ...argv` (a polysocket command line, argv[0] being node) from the project root. */
export async function spawnCommand(argv: string[], env: Record<string, string>, timeoutMs = 10_000): Promise<RoleProcess> {
  const logs: Record<string, unknown>[] = [];
  const p = await start(argv.slice(1), env, startedPort(argv[argv.length - 1]), (line) => logs.push(line), timeoutMs);
  return {
    child: p.child,
    port: p.port,
    adminPort: p.adminPort,
    logs,
    exited: p.exited,
    kill: (signal = 'SIGKILL') => {
      p.child.kill(signal);
      return p.exited;
    },
  };
}
