/**
 * Tokens travel in URLs and message data in queries: neither may reach a log line, nor may a
 * whole socket id (a bearer credential).
 */
import { mintToken } from '../../router/token';
import { createLogger } from '../../shared/log';
import { allInOne } from '../helpers/services';
import { until } from '../harness/until';
import { startUpstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

test('no log line carries a token, message data, a query string or a whole socket id', async () => {
  const lines: string[] = [];
  const log = createLogger('debug', {}, (l) => lines.push(l));
  const up = await startUpstream();
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: 'logs-secret-0123456789abcdef0123456789abcdef' }, log);
  try {
    const token = mintToken('logs-secret-0123456789abcdef0123456789abcdef', { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true });
    const s = await create(svc.base, { target: up.url, token });
    await sendGet(s, { d: 'secret-payload-123', n: 1 });
    await collect(s, 1);
    await request(`${svc.base}/create?cb=cb&target=ws://127.0.0.1:1/&token=${token}`);
    await request(`${svc.base}/create?target=${encodeURIComponent(up.url)}&token=${token}x`);
    await sendGet(s, { t: 'c', code: 1000, n: 2 });
    await up.closedCount(1);
    await until(() => lines.some((l) => l.includes('"socket_closed"')));
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    expect(all).not.toContain(token.split('.')[2]);
    expect(all).not.toContain('secret-payload-123');
    expect(all).not.toMatch(/[?&](token|d)=/);
    // the socket id is a bearer credential: logs tie lines together by its first 8 characters only
    expect(all).not.toContain(s.socket);
    expect(all).toContain(`"socket":"${s.socket.slice(0, 8)}…"`);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(
      expect.arrayContaining(['socket_opened', 'create_ok', 'create_refused', 'socket_refused', 'socket_closed']),
    );
  } finally {
    await svc.close();
    await up.close();
  }
});
