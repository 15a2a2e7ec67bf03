// Shared fixtures for the JWT-SVID and bundle tests: keys for every algorithm and a token crafter that signs any
// header/payload with node:crypto directly (independent of the code under test).
import { constants, generateKeyPairSync, type KeyObject, sign, webcrypto, X509Certificate } from 'node:crypto';
import type { JwtAlgorithm } from '@wid/svid-issuer';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

let cache: Record<string, KeyPair> | undefined;

/** One key pair per key kind, generated once per test file. */
export function keys(): Record<'p256' | 'p384' | 'p521' | 'rsa' | 'rsa1024' | 'ed25519', KeyPair> {
  cache ??= {
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }),
    ed25519: generateKeyPairSync('ed25519'),
  };
  return cache as ReturnType<typeof keys>;
}

/** The key kind each algorithm needs. */
export const KEY_FOR_ALG: Record<JwtAlgorithm, 'p256' | 'p384' | 'p521' | 'rsa'> = {
  ES256: 'p256',
  ES384: 'p384',
  ES512: 'p521',
  RS256: 'rsa',
  RS384: 'rsa',
  RS512: 'rsa',
  PS256: 'rsa',
  PS384: 'rsa',
  PS512: 'rsa',
};

export const ALL_ALGS: JwtAlgorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs `header.payload` with `key` for `alg` (JOSE signature format), whatever the header says. */
export function rawSign(alg: JwtAlgorithm, key: KeyObject, signingInput: string): Buffer {
  const hash = `sha${alg.slice(2)}`;
  const data = Buffer.from(signingInput);
  if (alg.startsWith('ES')) return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return sign(hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return sign(hash, data, key);
}

export interface CraftOptions {
  /** Header object (or a raw string, base64url-encoded as is). */
  readonly header: unknown;
  /** Payload object (or a raw string). */
  readonly payload: unknown;
  /** Signing key; default the P-256 key. */
  readonly key?: KeyObject;
  /** Algorithm actually used to sign; default ES256. */
  readonly signAs?: JwtAlgorithm;
}

/** A compact JWS over arbitrary header and payload. */
export function craft(o: CraftOptions): string {
  const input = `${b64url(o.header)}.${b64url(o.payload)}`;
  const sig = rawSign(o.signAs ?? 'ES256', o.key ?? keys().p256.privateKey, input);
  return `${input}.${sig.toString('base64url')}`;
}

/** A self-signed CA certificate (built with @peculiar/x509, independent of the code under test). */
export async function makeCaCert(
  cn: string,
  alg: 'P-256' | 'P-384' | 'RSA' | 'Ed25519' = 'P-256',
): Promise<X509Certificate> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as never); // Node's webcrypto is the DOM Crypto the library types expect
  const params =
    alg === 'RSA'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : alg === 'Ed25519'
        ? { name: 'Ed25519' }
        : { name: 'ECDSA', namedCurve: alg, hash: 'SHA-256' };
  const pair = (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore: new Date('2029-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
    keys: pair,
    signingAlgorithm: params,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}
