/**
 * Runs a role as its own process (the built CLI, as operators run it), so tests can SIGKILL or
 * SIGTERM it. Resolves once the role logged that it started. The spawning itself is the
 * benchmark's (bench/processes.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { CLI_PATH, start, startedPort } from '../../bench/processes';

export const CLI = CLI_PATH;

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

/** Runs `node ...argv` (a polysocket command line, argv[0] being node) from the project root. */
export async function spawnCommand(argv: string[], env: Record<string, string>, timeoutMs = 10_000): Promise<RoleProcess> {
  const logs: Record<string, unknown>[] = [];
  const p = await start(argv.slice(1), env, startedPort(argv[argv.length - 1]), (line) => logs.push(line), timeoutMs);
  return {
    child: p.child,
    port: p.port,
    logs,
    exited: p.exited,
    kill: (signal = 'SIGKILL') => {
      p.child.kill(signal);
      return p.exited;
    },
  };
}
