/**
 * A redis-server of the caller's own on a free port, for tests and the soak that kill and
 * restart Redis; and `reachable`, whether something listens on a loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { children, freePort } from './processes';
import { until } from './until';

export async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

export interface OwnRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const r: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      children.push(child);
      await until(() => reachable(port), 10_000, `redis-server on ${port}`);
    },
    async kill() {
      // a child killed by a signal has a signalCode and no exitCode
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((res) => child!.once('exit', res));
      child.kill('SIGKILL');
      await exited;
    },
  };
  await r.start();
  return r;
}
