import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { JwtBundle, JwtSvid, SvidIssuerError, signJwtSvid } from '@wid/svid-issuer';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { keys } from './jwt-helpers.js';

const TD = TrustDomain.parse('example.org');
const NOW = new Date('2030-01-01T00:00:00Z');

function caught(fn: () => unknown): SvidIssuerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SvidIssuerError);
    return e as SvidIssuerError;
  }
  throw new Error('expected a throw');
}

function jwk(kind: 'p256' | 'p384' | 'p521' | 'rsa' | 'ed25519', extra: Record<string, unknown> = {}) {
  return { ...keys()[kind].publicKey.export({ format: 'jwk' }), ...extra };
}

const jwks = (...k: unknown[]) => JSON.stringify({ keys: k });

describe('JwtBundle.fromJwtAuthorities / marshal / parse', () => {
  it('round-trips EC P-256/P-384/P-521 and RSA keys with kid and use "jwt-svid"', () => {
    const k = keys();
    const bundle = JwtBundle.fromJwtAuthorities(
      TD,
      new Map([
        ['a', k.p256.publicKey],
        ['b', k.p384.publicKey],
        ['c', k.p521.publicKey],
        ['d', k.rsa.publicKey],
      ]),
    );
    const doc = JSON.parse(bundle.marshal());
    expect(doc.keys.map((e: { kid: string; use: string; kty: string }) => [e.kid, e.use, e.kty])).toEqual([
      ['a', 'jwt-svid', 'EC'],
      ['b', 'jwt-svid', 'EC'],
      ['c', 'jwt-svid', 'EC'],
      ['d', 'jwt-svid', 'RSA'],
    ]);
    expect(doc.keys[0]).toEqual({ use: 'jwt-svid', kid: 'a', ...jwk('p256') });
    const back = JwtBundle.parse(TD, bundle.marshal());
    expect(back.equals(bundle)).toBe(true);
    expect(back.size).toBe(4);
    expect(back.findJwtAuthority('d')?.equals(k.rsa.publicKey)).toBe(true);
    expect(JwtBundle.parse(TD, new TextEncoder().encode(bundle.marshal())).equals(bundle)).toBe(true);
  });

  it('accepts a plain object of authorities and a trust domain name, and reduces a private key to its public half', () => {
    const bundle = JwtBundle.fromJwtAuthorities('example.org', { k: keys().p256.privateKey });
    const key = bundle.findJwtAuthority('k')!;
    expect(key.type).toBe('public');
    expect(key.equals(keys().p256.publicKey)).toBe(true);
  });

  it('is frozen, hands out copies, and serves only its own trust domain', () => {
    const bundle = JwtBundle.fromJwtAuthorities(TD, new Map([['k', keys().p256.publicKey]]));
    expect(Object.isFrozen(bundle)).toBe(true);
    bundle.jwtAuthorities().delete('k');
    expect(bundle.hasJwtAuthority('k')).toBe(true);
    expect(bundle.findJwtAuthority('x')).toBeUndefined();
    expect(bundle.getJwtBundleForTrustDomain(TD)).toBe(bundle);
    expect(bundle.getJwtBundleForTrustDomain(TrustDomain.parse('other.org'))).toBeUndefined();
    expect(bundle.toString()).toBe('JwtBundle(example.org, 1 authorities)');
  });

  it('compares trust domain, kids and keys in equals', () => {
    const k = keys();
    const a = JwtBundle.fromJwtAuthorities(TD, new Map([['k', k.p256.publicKey]]));
    expect(a.equals(JwtBundle.fromJwtAuthorities(TD, new Map([['k', k.p256.publicKey]])))).toBe(true);
    expect(a.equals(JwtBundle.fromJwtAuthorities('other.org', new Map([['k', k.p256.publicKey]])))).toBe(false);
    expect(a.equals(JwtBundle.fromJwtAuthorities(TD, new Map([['j', k.p256.publicKey]])))).toBe(false);
    expect(a.equals(JwtBundle.fromJwtAuthorities(TD, new Map([['k', k.p384.publicKey]])))).toBe(false);
    expect(a.equals(JwtBundle.fromJwtAuthorities(TD, new Map()))).toBe(false);
    expect(a.equals(undefined)).toBe(false);
  });

  it.each<[string, () => unknown, string]>([
    [
      'an empty kid',
      () => JwtBundle.fromJwtAuthorities(TD, new Map([['', keys().p256.publicKey]])),
      'ERR_WID_BUNDLE_MISSING_KID',
    ],
    [
      'a secret key',
      () => JwtBundle.fromJwtAuthorities(TD, { k: createSecretKey(Buffer.alloc(32)) }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
    ['a non-key', () => JwtBundle.fromJwtAuthorities(TD, { k: 'pem' as never }), 'ERR_WID_BUNDLE_BAD_KEY'],
    [
      'an Ed25519 key',
      () => JwtBundle.fromJwtAuthorities(TD, { k: keys().ed25519.publicKey }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
    [
      'a secp256k1 key',
      () => JwtBundle.fromJwtAuthorities(TD, { k: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
  ])('fromJwtAuthorities refuses %s', (_name, fn, code) => {
    expect(caught(fn).code).toBe(code);
  });
});

describe('JwtBundle.parse', () => {
  it('accepts "keys": [] as an empty bundle (everything revoked)', () => {
    const bundle = JwtBundle.parse(TD, '{"keys":[]}');
    expect(bundle.size).toBe(0);
    expect(bundle.marshal()).toBe('{"keys":[]}');
  });

  it('treats a key without "use" as a JWT authority (go-spiffe JWKS) and ignores other uses', () => {
    const bundle = JwtBundle.parse(
      TD,
      jwks(
        jwk('p256', { kid: 'plain' }),
        jwk('p384', { kid: 'x', use: 'x509-svid' }),
        jwk('p521', { kid: 'sig', use: 'sig' }),
        jwk('rsa', { kid: 'j', use: 'jwt-svid' }),
      ),
    );
    expect([...bundle.jwtAuthorities().keys()]).toEqual(['plain', 'j']);
  });

  it('ignores keys with an unknown kty or an unsupported curve, even without kid', () => {
    const bundle = JwtBundle.parse(
      TD,
      jwks(
        jwk('ed25519'),
        { kty: 'oct', k: 'AAAA', kid: 'h' },
        { kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA', kid: 's' },
        { kty: 'FUTURE', kid: 'f' },
        jwk('p256', { kid: 'ok' }),
      ),
    );
    expect([...bundle.jwtAuthorities().keys()]).toEqual(['ok']);
  });

  it('keeps one copy of a key listed twice under the same kid', () => {
    expect(JwtBundle.parse(TD, jwks(jwk('p256', { kid: 'k' }), jwk('p256', { kid: 'k' }))).size).toBe(1);
  });

  const p256 = () => jwk('p256') as Record<string, string>;
  it.each<[string, string | Uint8Array, string, number?]>([
    ['invalid JSON', '{"keys":', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['an empty document', '', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['a JSON array', '[]', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['JSON null', 'null', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'ERR_WID_BUNDLE_BAD_JSON'],
    ['a missing "keys"', '{}', 'ERR_WID_BUNDLE_MISSING_KEYS'],
    ['"keys": null', '{"keys":null}', 'ERR_WID_BUNDLE_MISSING_KEYS'],
    ['"keys" as an object', '{"keys":{}}', 'ERR_WID_BUNDLE_BAD_KEYS'],
    ['a key that is a string', '{"keys":["k"]}', 'ERR_WID_BUNDLE_BAD_KEYS', 0],
    ['a key that is null', jwks(jwk('p256', { kid: 'a' }), null), 'ERR_WID_BUNDLE_BAD_KEYS', 1],
    ['a key without kid', jwks(jwk('p256')), 'ERR_WID_BUNDLE_MISSING_KID', 0],
    [
      'a jwt-svid key with an empty kid',
      jwks(jwk('p256', { kid: '', use: 'jwt-svid' })),
      'ERR_WID_BUNDLE_MISSING_KID',
      0,
    ],
    ['a numeric kid', jwks(jwk('rsa', { kid: 7 })), 'ERR_WID_BUNDLE_MISSING_KID', 0],
    ['an EC key without y', jwks({ ...p256(), y: undefined, kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    ['a short EC coordinate', jwks({ ...p256(), x: 'AAAA', kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    ['a padded EC coordinate', jwks({ ...p256(), x: `${p256().x}=`, kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    [
      'a point that is not on the curve',
      jwks({ ...p256(), y: Buffer.alloc(32, 1).toString('base64url'), kid: 'k' }),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    ['P-384 coordinates labelled P-256', jwks({ ...jwk('p384'), crv: 'P-256', kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    ['an RSA key without n', jwks({ kty: 'RSA', e: 'AQAB', kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    ['an RSA key with a bad n', jwks({ kty: 'RSA', n: 'a b', e: 'AQAB', kid: 'k' }), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    [
      'a private EC key',
      jwks({ ...keys().p256.privateKey.export({ format: 'jwk' }), kid: 'k' }),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'a private RSA key',
      jwks({ ...keys().rsa.privateKey.export({ format: 'jwk' }), kid: 'k' }),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'two different keys under one kid',
      jwks(jwk('p256', { kid: 'k' }), jwk('p384', { kid: 'k' })),
      'ERR_WID_BUNDLE_DUPLICATE_KID',
      1,
    ],
  ])('rejects %s', (_name, input, code, index) => {
    const err = caught(() => JwtBundle.parse(TD, input));
    expect(err.code).toBe(code);
    expect(err.trustDomain).toBe('example.org');
    if (index !== undefined) expect(err.index).toBe(index);
  });

  it('rejects input that is neither text nor bytes', () => {
    expect(caught(() => JwtBundle.parse(TD, 42 as unknown as string)).code).toBe('ERR_WID_BUNDLE_BAD_JSON');
  });
});

describe('JwtBundle with jose', () => {
  it('parses a JWKS exported by jose and validates tokens jose signs with it', async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair('ES384', { extractable: true });
    const exported = { ...(await jose.exportJWK(publicKey)), kid: 'jose-1', alg: 'ES384' };
    const bundle = JwtBundle.parse(TD, JSON.stringify({ keys: [exported] }));
    const token = await new jose.SignJWT({ sub: 'spiffe://example.org/w', aud: 'a' })
      .setProtectedHeader({ alg: 'ES384', kid: 'jose-1' })
      .setExpirationTime(NOW.getTime() / 1000 + 60)
      .sign(privateKey);
    expect(JwtSvid.parseAndValidate(token, bundle, ['a'], { now: NOW }).id.toString()).toBe('spiffe://example.org/w');
  });

  it('produces a JWKS jose can verify our tokens with (once "use" is mapped to "sig")', async () => {
    const k = keys();
    const bundle = JwtBundle.fromJwtAuthorities(
      TD,
      new Map([
        ['k1', k.p256.publicKey],
        ['k2', k.rsa.publicKey],
      ]),
    );
    const doc = JSON.parse(bundle.marshal()) as jose.JSONWebKeySet;
    const set = jose.createLocalJWKSet({ keys: doc.keys.map((e) => ({ ...e, use: 'sig' })) });
    for (const [kid, privateKey] of [
      ['k1', k.p256.privateKey],
      ['k2', k.rsa.privateKey],
    ] as const) {
      const svid = signJwtSvid({
        privateKey,
        kid,
        spiffeId: 'spiffe://example.org/w',
        audience: ['a'],
        ttlSeconds: 60,
        now: NOW,
      });
      const { protectedHeader } = await jose.jwtVerify(svid.token, set, { audience: 'a', currentDate: NOW });
      expect(protectedHeader.kid).toBe(kid);
    }
  });
});
