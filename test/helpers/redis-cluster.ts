/**
 * A three-node Redis Cluster of the test's own (redis-server --cluster-enabled), on free ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';

export interface OwnCluster {
  /** seed nodes, as REDIS_URL takes them with REDIS_CLUSTER=true */
  url: string;
  stop(): void;
}

export async function ownCluster(): Promise<OwnCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, `nodes-${port}.conf`),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = () => children.forEach((c) => c.kill('SIGKILL'));
  try {
    for (const port of ports) await until(() => reachable(port), 5000, `cluster node ${port}`);
    await new Promise<void>((resolve, reject) =>
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 20_000 },
        (err, _out, stderr) => (err ? reject(new Error(`cluster create failed: ${stderr}`)) : resolve()),
      ),
    );
    await until(
      () =>
        new Promise<boolean>((resolve) =>
          execFile('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], (err, out) =>
            resolve(!err && out.includes('cluster_state:ok')),
          ),
        ),
      10_000,
      'cluster_state:ok',
    );
  } catch (err) {
    stop();
    throw err;
  }
  return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
}
