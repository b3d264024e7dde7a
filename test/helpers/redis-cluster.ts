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
    for (const port of ports) await until(() => reachable(port), 30_000, `cluster node ${port}`);
    await new Promise<void>((resolve, reject) =>
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 60_000 },
        (err, _out, stderr) => (err ? reject(new Error(`cluster create failed: ${stderr}`)) : resolve()),
      ),
    );
    // Every node must have the whole slot map, not only the first: a client may ask any seed
    // for it, and gossip reaches the others later on a busy machine.
    for (const port of ports) await until(() => clusterReady(port), 60_000, `cluster_state:ok on node ${port}`);
  } catch (err) {
    stop();
    throw err;
  }
  return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
}

/** The node sees all three nodes and every slot assigned, and says the cluster is ok. */
function clusterReady(port: number): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('redis-cli', ['-p', String(port), 'cluster', 'info'], { timeout: 10_000 }, (err, out) =>
      resolve(
        !err && out.includes('cluster_state:ok') && out.includes('cluster_slots_assigned:16384') && out.includes('cluster_known_nodes:3'),
      ),
    ),
  );
}
