/**
 * A far link on loopback: a TCP forwarder that holds every chunk for `oneWayMs` in each direction
 * before passing it on (`tc netem` does not work on these machines). Put between a browser and its
 * proxy, every request, CONNECT and byte pays the round trip 2 × oneWayMs.
 */
import net from 'node:net';

export interface DelayShim {
  port: number;
  /** for --proxy-server, when the shim sits in front of a proxy */
  url: string;
  close(): Promise<void>;
}

export async function startDelayShim(targetPort: number, oneWayMs: number): Promise<DelayShim> {
  const open = new Set<net.Socket>();
  const delayed = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      // same delay for every chunk: timers fire in order, so the byte stream keeps its order
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), oneWayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWayMs));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    client.on('close', () => open.delete(client));
    upstream.on('close', () => open.delete(upstream));
    delayed(client, upstream);
    delayed(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
