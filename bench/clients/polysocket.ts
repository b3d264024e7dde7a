/**
 * Our wire protocol (docs/PROTOCOL.md) as polysocket.js speaks it: JSONP long-poll with `ack`,
 * sends as batched POSTs with `n`.
 */
import { Batcher, httpRequest, type BenchClient } from './client';

function unwrap(text: string): any {
  return JSON.parse(text.startsWith('/**/') ? text.slice(text.indexOf('(') + 1, -2) : text);
}

export async function connectPolysocket(
  routerBase: string,
  target: string,
  ttl = 25000,
): Promise<BenchClient & { socket: string; url: string }> {
  const created = unwrap((await httpRequest(`${routerBase}/create?cb=c&from=bench&target=${encodeURIComponent(target)}`)).text);
  if (!created.ok) throw new Error(`create failed: ${created.error}`);
  const base = `${created.url}`;
  let n = 1;
  let ack = 0;
  let open = true;
  const batcher = new Batcher(async (batch) => {
    let body = `n=${n}`;
    for (const m of batch) body += `&t=t&d=${encodeURIComponent(m)}`;
    n += batch.length;
    const a = await httpRequest(`${base}/s/${created.socket}`, { method: 'POST', body });
    if (a.status !== 201) throw new Error(`send answered ${a.status}: ${a.text}`);
  });
  const client = {
    socket: created.socket as string,
    url: base,
    send: (messages: string[]) => batcher.push(messages),
    onMessage: (_d: string) => undefined,
    close: async () => {
      open = false;
      batcher.closed = true;
      await httpRequest(`${base}/s/${created.socket}?t=c&code=1000&n=${n}`).catch(() => undefined);
    },
  };
  (async () => {
    while (open) {
      const a = await httpRequest(`${base}/j/${created.socket}?cb=p&ttl=${ttl}&ack=${ack}`).catch(() => undefined);
      if (!a || !open) continue;
      const body = unwrap(a.text);
      if (!body.ok) return;
      for (const m of body.messages) {
        if (!m.seq || m.seq <= ack) continue;
        ack = m.seq;
        if (m.type === 'text') client.onMessage(m.data);
        else if (m.type === 'close') return;
      }
    }
  })();
  return client;
}
