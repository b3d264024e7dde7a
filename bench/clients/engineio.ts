/**
 * Engine.IO v4 polling, raw: GET polls (packets joined by \x1e: '4' message, '2' ping),
 * POST sends ('4<data>' packets joined by \x1e).
 */
import { Batcher, httpRequest, type BenchClient } from './client';

export async function connectEngineio(base: string): Promise<BenchClient> {
  const hello = await httpRequest(`${base}/engine.io/?EIO=4&transport=polling`);
  if (!hello.text.startsWith('0')) throw new Error(`engine.io open failed: ${hello.text}`);
  const sid = JSON.parse(hello.text.slice(1)).sid as string;
  const url = `${base}/engine.io/?EIO=4&transport=polling&sid=${sid}`;
  let open = true;
  const batcher = new Batcher(async (batch) => {
    const a = await httpRequest(url, { method: 'POST', body: batch.join('\x1e') });
    if (a.text !== 'ok') throw new Error(`engine.io send answered ${a.status} ${a.text}`);
  });
  const client: BenchClient = {
    send: (messages) => batcher.push(messages.map((m) => `4${m}`)),
    onMessage: () => undefined,
    close: async () => {
      open = false;
      batcher.closed = true;
      await httpRequest(url, { method: 'POST', body: '1' }).catch(() => undefined);
    },
  };
  (async () => {
    while (open) {
      const a = await httpRequest(url).catch(() => undefined);
      if (!a || !open) continue;
      for (const packet of a.text.split('\x1e')) {
        if (packet[0] === '4') client.onMessage(packet.slice(1));
        else if (packet[0] === '2') batcher.push(['3']);
        else if (packet[0] === '1') return;
      }
    }
  })();
  return client;
}
