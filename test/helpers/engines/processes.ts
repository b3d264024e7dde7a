/**
 * Processes an engine starts (a browser, a driver, a display), stopped by their pids: each is
 * registered when it starts, so that even a test process leaving without its afterAll (an
 * exception, process.exit) takes them down instead of leaving orphans that hold ports and pipes.
 */
import { readFileSync } from 'node:fs';

const running = new Set<number>();
let hooked = false;

/** SIGKILLs `pid` when this process exits, unless stopProcess has stopped it first. */
export function killOnExit(pid: number): void {
  running.add(pid);
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const p of running) signal(p, 'SIGKILL');
  });
}

/** true while `pid` runs (a zombie, dead but not yet reaped by its parent, has stopped) */
export function alive(pid: number): boolean {
  try {
    // the state is the field after the parenthesised command name
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of `pid`'s children (Linux: /proc/<pid>/task/<tid>/children of its main thread). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** the command a pid runs (its argv[0]'s last part), '' once it is gone */
export function commandOf(pid: number): string {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0.slice(argv0.lastIndexOf('/') + 1);
  } catch {
    return '';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: it has already gone, which is what was wanted
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** SIGTERM, then SIGKILL if `pid` still runs after `graceMs`; resolves once it has stopped. */
export async function stopProcess(pid: number, graceMs = 3000): Promise<void> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) {
    signal(pid, 'SIGKILL');
    const killDeadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 20));
  }
  running.delete(pid);
}

/** Waits for `work` at most `ms` (a graceful close that hangs is then cut short by pid); its failure is thrown. */
export async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
