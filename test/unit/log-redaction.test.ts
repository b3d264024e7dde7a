/**
 * shared/log.ts: what of a request URL or a socket id may reach a log line.
 */
import { redactUrl, socketRef } from '../../shared/log';

const ID = 'kIlQQDgol3HMFAn5Yvtk4nAW';

test('a query string is replaced whole', () => {
  expect(redactUrl('/create?token=abc&target=ws://x/')).toBe('/create?[redacted]');
});

test('a socket id in a send or poll path keeps its first 8 characters only', () => {
  expect(redactUrl(`/s/${ID}?d=secret`)).toBe('/s/kIlQQDgo…?[redacted]');
  expect(redactUrl(`/j/${ID}`)).toBe('/j/kIlQQDgo…');
});

test('other paths pass unchanged', () => {
  expect(redactUrl('/status')).toBe('/status');
  expect(redactUrl('/s/')).toBe('/s/');
});

test('socketRef keeps 8 of 24 characters', () => {
  expect(socketRef(ID)).toBe('kIlQQDgo…');
});
