/**
 * SockJS xhr-polling, raw: POST .../xhr polls ('o' open, 'a[...]' messages, 'h' heartbeat),
 * POST .../xhr_send with a JSON array sends.
 */
import { randomBytes } from 'node:crypto';
import { Batcher, httpRequest, type BenchClient } from './client';

export async function connectSockjs(base: string): Promise<BenchClient> {
  const session = `${base}/echo/000/${randomBytes(8).toString('hex')}`;
  const first = await httpRequest(`${session}/xhr`, { method: 'POST' });
  if (!first.text.startsWith('o')) throw new Error(`sockjs open failed: ${first.text}`);
  let open = true;
  const batcher = new Batcher(async (batch) => {
    const a = await httpRequest(`${session}/xhr_send`, { method: 'POST', body: JSON.stringify(batch) });
    if (a.status !== 204) throw new Error(`xhr_send answered ${a.status}`);
  });
  const client: BenchClient = {
    send: (messages) => batcher.push(messages),
    onMessage: () => undefined,
    close: async () => {
      open = false;
      batcher.closed = true;
    },
  };
  (async () => {
    while (open) {
      const a = await httpRequest(`${session}/xhr`, { method: 'POST' }).catch(() => undefined);
      if (!a || !open) continue;
      const frame = a.text.trim();
      if (frame.startsWith('a')) for (const m of JSON.parse(frame.slice(1)) as string[]) client.onMessage(m);
      else if (frame.startsWith('c')) return;
    }
  })();
  return client;
}
