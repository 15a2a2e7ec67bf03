// Node 20: `asymmetricKeyDetails` and `export({ format: 'jwk' })` on a KeyObject fresh out of generateKeyPairSync
// hold the key's mutex while allocating; a GC finalizing the key-generation job takes the same mutex and the process
// deadlocks (seen in CI, gdb: GetEcKeyDetail → GC → ~KeyGenJob). A test cannot prove a race absent, so the second
// block checks the cause instead: the caller's object is never asked for either.
import { generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  JwtBundle,
  JwtSvid,
  keyTypeOf,
  SpiffeBundle,
  signJwtSvid,
  X509Svid,
} from '../src/index.js';
import { type Built, makeCert, toKeyObject } from './x509-helpers.js';

const TD = 'example.org';
const ID = 'spiffe://example.org/w';
const AUD = ['spiffe://example.org/api'];
const now = new Date();

interface Spied {
  readonly key: KeyObject;
  /** Formats `export` was called with, in order. */
  readonly exports: string[];
}

/**
 * A real KeyObject whose own `asymmetricKeyDetails` getter and JWK export throw (own properties shadow the
 * prototype's; the internal handle stays intact, so node:crypto still accepts the object).
 */
function spied(key: KeyObject): Spied {
  const exports: string[] = [];
  const original = key.export.bind(key);
  Object.defineProperty(key, 'asymmetricKeyDetails', {
    configurable: true,
    get() {
      throw new Error('asymmetricKeyDetails read on the caller KeyObject');
    },
  });
  Object.defineProperty(key, 'export', {
    configurable: true,
    value: (options?: { format?: string; type?: string }) => {
      exports.push(`${options?.type ?? ''}/${options?.format ?? ''}`);
      if (options?.format === 'jwk') throw new Error('JWK export of the caller KeyObject');
      return original(options as never);
    },
  });
  return { key, exports };
}

describe('caller KeyObjects are never inspected directly', () => {
  it('the spy itself trips on the forbidden accessors', () => {
    const { key } = spied(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    expect(() => key.asymmetricKeyDetails).toThrow(/asymmetricKeyDetails read/);
    expect(() => key.export({ format: 'jwk' })).toThrow(/JWK export/);
    expect(key.export({ type: 'spki', format: 'der' })).toBeInstanceOf(Buffer);
  });

  it('issueX509Svid takes the public KeyObject as SPKI DER only', () => {
    const ca = createCertificateAuthority({ trustDomain: TD });
    for (const namedCurve of ['P-256', 'P-384']) {
      const pair = generateKeyPairSync('ec', { namedCurve });
      const pub = spied(pair.publicKey);
      const svid = ca.issueX509Svid({ spiffeId: ID, publicKey: pub.key });
      expect(pub.exports).toEqual(['spki/der']);
      expect(svid.toX509Svid(pair.privateKey).id.toString()).toBe(ID);
      expect(svid.certificates[0]!.publicKey.equals(pair.publicKey)).toBe(true);
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = spied(rsa.publicKey);
    expect(
      ca.issueX509Svid({ spiffeId: ID, publicKey: pub.key }).certificates[0]!.publicKey.equals(rsa.publicKey),
    ).toBe(true);
    expect(pub.exports).toEqual(['spki/der']);
  });

  it('issueX509Svid still refuses unsupported caller keys, with the copy describing them', () => {
    const ca = createCertificateAuthority({ trustDomain: TD });
    const pub = spied(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey);
    let error: (Error & { code?: string; input?: unknown }) | undefined;
    try {
      ca.issueX509Svid({ spiffeId: ID, publicKey: pub.key });
    } catch (e) {
      error = e as Error & { code?: string; input?: unknown };
    }
    expect(error?.code).toBe('ERR_WID_X509_UNSUPPORTED_KEY');
    expect(error?.input).toBe('ec secp521r1');
    expect(pub.exports).toEqual(['spki/der']);
  });

  it('signJwtSvid checks and signs from a PKCS#8 copy, made once per caller key', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = spied(pair.privateKey);
    const bundle = JwtBundle.fromJwtAuthorities(TD, new Map([['k1', pair.publicKey]]));
    for (let i = 0; i < 3; i++) {
      const svid = signJwtSvid({ privateKey: priv.key, kid: 'k1', spiffeId: ID, audience: AUD, ttlSeconds: 60, now });
      expect(JwtSvid.parseAndValidate(svid.token, bundle, AUD, { now }).id.toString()).toBe(ID);
      const [h, p, s] = svid.token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      expect(verify('sha256', Buffer.from(`${h}.${p}`), { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(
        true,
      );
    }
    expect(priv.exports).toEqual(['pkcs8/der']);
  });

  it('signJwtSvid still reports key/alg mismatches and unsupported keys for caller keys', () => {
    const p384 = spied(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const opts = { kid: 'k', spiffeId: ID, audience: AUD, ttlSeconds: 60, now };
    expect(() => signJwtSvid({ ...opts, privateKey: p384.key, alg: 'ES256' })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_JWT_KEY_ALG_MISMATCH', message: 'ES256 needs curve P-256, got P-384' }),
    );
    const rsa1024 = spied(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    expect(() => signJwtSvid({ ...opts, privateKey: rsa1024.key })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_JWT_KEY_ALG_MISMATCH', message: expect.stringMatching(/got 1024$/) }),
    );
    const ed = spied(generateKeyPairSync('ed25519').privateKey);
    expect(() => signJwtSvid({ ...opts, privateKey: ed.key })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_JWT_UNSUPPORTED_KEY', input: 'ed25519' }),
    );
  });

  it('JwtBundle.fromJwtAuthorities and marshal keep a DER copy of public and private caller keys', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = spied(ec.publicKey);
    const priv = spied(rsa.privateKey);
    const bundle = JwtBundle.fromJwtAuthorities(TD, { e: pub.key, r: priv.key });
    const json = JSON.parse(bundle.marshal()) as { keys: { kid: string; kty: string }[] };
    expect(json.keys.map((k) => [k.kid, k.kty])).toEqual([
      ['e', 'EC'],
      ['r', 'RSA'],
    ]);
    expect(bundle.findJwtAuthority('e')).not.toBe(pub.key);
    expect(bundle.findJwtAuthority('e')?.equals(ec.publicKey)).toBe(true);
    expect(bundle.findJwtAuthority('r')?.equals(rsa.publicKey)).toBe(true);
    expect(pub.exports).toEqual(['spki/der']);
    expect(priv.exports).toEqual(['pkcs8/der']);
    const spiffe = spied(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    const sb = SpiffeBundle.create({ trustDomain: TD, jwtAuthorities: new Map([['s', spiffe.key]]) });
    expect(sb.findJwtAuthority('s')?.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(spiffe.exports).toEqual(['spki/der']);
  });

  it('JwtBundle.fromJwtAuthorities refuses an unsupported caller key without inspecting it', () => {
    const ed = spied(generateKeyPairSync('ed25519').publicKey);
    expect(() => JwtBundle.fromJwtAuthorities(TD, { k: ed.key })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_BUNDLE_BAD_KEY' }),
    );
  });

  it('keyTypeOf inspects a DER copy, never the object it is given', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pub = spied(ec.publicKey);
    const priv = spied(ec.privateKey);
    expect([keyTypeOf(pub.key), keyTypeOf(priv.key), keyTypeOf(pub.key)]).toEqual(['ec-p384', 'ec-p384', 'ec-p384']);
    expect([pub.exports, priv.exports]).toEqual([['spki/der'], ['pkcs8/der']]);
    expect(keyTypeOf(spied(generateKeyPairSync('ed25519').publicKey).key)).toBeUndefined();
  });

  describe('upstream CA key given as a KeyObject', () => {
    let root: Built;
    let rootKey: KeyObject;
    beforeAll(async () => {
      root = await makeCert({ ca: true, name: 'CN=Spy Root', notAfter: new Date(Date.now() + 1000 * 3_600_000) });
      rootKey = await toKeyObject(root.keys.privateKey);
    });

    it('is copied from PKCS#8 DER, and the CA issues and publishes JWT keys', () => {
      const up = spied(rootKey);
      const ca = createCertificateAuthority({
        trustDomain: TD,
        upstream: { certificates: [root.cert], privateKey: up.key },
      });
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const svid = ca.issueX509Svid({ spiffeId: ID, publicKey: spied(pair.publicKey).key });
      const x = X509Svid.fromParts(svid.certificates, pair.privateKey);
      expect(x.certificates.at(-1)?.verify(root.cert.publicKey)).toBe(true);
      expect(up.exports).toEqual(['pkcs8/der']);
      const jwt = ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
      expect(JwtSvid.parseAndValidate(jwt.token, ca.jwtBundle(), AUD).id.toString()).toBe(ID);
    });
  });
});

describe('fresh generateKeyPairSync keys through every caller-key path', () => {
  it('2,000 rounds of issue, sign, bundle and keyTypeOf on fresh keys complete', () => {
    const ca = createCertificateAuthority({ trustDomain: TD });
    const gc = (globalThis as { gc?: () => void }).gc;
    let issued = 0;
    let signed = 0;
    for (let i = 0; i < 2000; i++) {
      const pair = generateKeyPairSync('ec', { namedCurve: i % 2 === 0 ? 'P-256' : 'P-384' });
      const kt = i % 2 === 0 ? 'ec-p256' : 'ec-p384';
      switch (i % 4) {
        case 0:
        case 1:
          if (ca.issueX509Svid({ spiffeId: ID, publicKey: pair.publicKey }).certificatesDer.length === 1) issued++;
          break;
        case 2:
          if (signJwtSvid({ privateKey: pair.privateKey, kid: 'k', spiffeId: ID, audience: AUD, ttlSeconds: 60, now }))
            signed++;
          break;
        default:
          expect(JwtBundle.fromJwtAuthorities(TD, { k: pair.publicKey }).findJwtAuthority('k')).toBeDefined();
      }
      expect(keyTypeOf(i % 3 === 0 ? pair.privateKey : pair.publicKey)).toBe(kt);
      if (i % 250 === 0) gc?.();
    }
    expect([issued, signed]).toEqual([1000, 500]);
  });
});
