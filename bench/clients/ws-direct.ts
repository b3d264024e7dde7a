/** The physical limit: a plain `ws` client straight to the upstream echo server. */
import WebSocket from 'ws';
import type { BenchClient } from './client';

export async function connectWs(url: string): Promise<BenchClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client: BenchClient = {
    send: (messages) => {
      for (const m of messages) ws.send(m);
    },
    onMessage: () => undefined,
    close: async () => ws.terminate(),
  };
  ws.on('message', (data) => client.onMessage(data.toString()));
  return client;
}
