/**
 * TLS on the public port: the two profiles and the certificate, read at start and again on
 * SIGHUP (new handshakes get the new one; open connections keep theirs).
 *   modern  TLS 1.2 and 1.3, Node's default suites (AEAD, forward secrecy)
 *   legacy  also TLS 1.0 and 1.1 with the AES-CBC-SHA suites IE 7-10 on Vista/7 offer by default;
 *           OpenSSL 3 keeps those behind security level 0, so the profile lowers it. A handshake
 *           without SNI gets the one certificate. RC4 and 3DES (IE on XP) are not to be had from
 *           this OpenSSL at all: docs/DEPLOY.md says what to do instead.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { Config } from './config';
import { PolysocketError } from './errors';

export type TlsConfig = Pick<Config, 'tlsCertFile' | 'tlsKeyFile' | 'tlsProfile'>;

/** What IE 7-10 on Vista/7 (and Android 4, old Safari) offer, in their order of preference. */
const LEGACY_SUITES = ['ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'AES128-SHA', 'AES256-SHA'];

/** Options for tls.createServer / setSecureContext; throws a coded error naming the file that is wrong. */
export function tlsOptions(c: TlsConfig): tls.SecureContextOptions & Pick<tls.TlsOptions, 'honorCipherOrder'> {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new PolysocketError('bad_parameter', `${what}=${file} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const cert = read(c.tlsCertFile ?? '', 'TLS_CERT_FILE');
  const key = read(c.tlsKeyFile ?? '', 'TLS_KEY_FILE');
  const profile =
    c.tlsProfile === 'legacy'
      ? { minVersion: 'TLSv1' as const, ciphers: `${tls.DEFAULT_CIPHERS}:${LEGACY_SUITES.join(':')}:@SECLEVEL=0` }
      : { minVersion: 'TLSv1.2' as const, ciphers: tls.DEFAULT_CIPHERS };
  const options = { cert, key, honorCipherOrder: true, ...profile };
  try {
    tls.createSecureContext(options);
  } catch (err) {
    throw new PolysocketError('bad_parameter', `TLS_CERT_FILE/TLS_KEY_FILE: ${(err as Error).message}`);
  }
  return options;
}
