/**
 * A full GC in a server process before its RSS is read, through the inspector on loopback.
 * Without it, an RSS reading is off by whatever young-generation garbage happens to be there
 * (±3 KB per socket at 5,000 sockets on this VM); with it, readings repeat within ±0.3 KB.
 */
import WebSocket from 'ws';
import { httpRequest } from './clients/client';
import { freePort } from '../test/harness/processes';

export interface Inspectable {
  /** node flags for the process */
  args: string[];
  port: number;
}

/** A free loopback port for `--inspect`. */
export async function inspectable(): Promise<Inspectable> {
  const port = await freePort();
  return { args: [`--inspect=127.0.0.1:${port}`], port };
}

export async function collectGarbage(port: number, timeoutMs = 30_000): Promise<void> {
  await inspectorCall(port, 'HeapProfiler.collectGarbage', timeoutMs);
}

/** One inspector method on the process's first target; its result. */
async function inspectorCall(port: number, method: string, timeoutMs: number): Promise<any> {
  const targets = JSON.parse((await httpRequest(`http://127.0.0.1:${port}/json/list`, { timeoutMs })).text) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  try {
    return await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), timeoutMs);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method })));
      ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.id === 1) {
          clearTimeout(timer);
          resolve(m.result);
        }
      });
    });
  } finally {
    ws.close();
  }
}

/** The V8 heap in use (Runtime.getHeapUsage), through the inspector on loopback. */
export async function heapUsedBytes(port: number, timeoutMs = 30_000): Promise<number> {
  const answer = await inspectorCall(port, 'Runtime.getHeapUsage', timeoutMs);
  return Number(answer.usedSize);
}
