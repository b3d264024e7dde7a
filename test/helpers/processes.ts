/**
 * Runs a role as its own process (the built CLI, as operators run it), so tests can SIGKILL or
 * SIGTERM it. Resolves once the role logged that it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/bin/polysocket.js');

export interface RoleProcess {
  child: ChildProcess;
  port: number;
  /** every JSON log line so far */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnRole(role: 'relay' | 'router' | 'start', env: Record<string, string>, timeoutMs = 10_000): Promise<RoleProcess> {
  return spawnCommand([process.execPath, CLI, role], { PORT: '0', LOG_LEVEL: 'info', ...env }, timeoutMs);
}

/** Runs `argv` (a polysocket command line) from the project root; resolves once it logged its start. */
export function spawnCommand(argv: string[], env: Record<string, string>, timeoutMs = 10_000): Promise<RoleProcess> {
  const role = argv[argv.length - 1];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${role} did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    let buffered = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        logs.push(entry);
        const started = entry.event === `${role === 'start' ? 'all_in_one' : role}_started`;
        if (started) {
          clearTimeout(timer);
          const port = Number(entry.port ?? String(entry.host ?? entry.url).split(':').pop());
          resolve({
            child, port, logs, exited,
            kill: (signal = 'SIGKILL') => {
              child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${code} before starting: ${stderr}`));
    });
  });
}
