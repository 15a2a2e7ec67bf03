import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { SpiffeId, TrustDomain, WidError } from '@wid/spiffe-id';
import {
  JWT_ALGORITHMS,
  JWT_SVID_LEEWAY_SECONDS,
  type JwtAlgorithm,
  JwtBundle,
  JwtBundleSet,
  JwtSvid,
  SVID_ISSUER_ERROR_CODES,
  SvidIssuerError,
  signJwtSvid,
} from '@wid/svid-issuer';
import fc from 'fast-check';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { ALL_ALGS, b64url, craft, KEY_FOR_ALG, keys } from './jwt-helpers.js';

const NOW = new Date('2030-01-01T00:00:00Z');
const T = NOW.getTime() / 1000;
const TD = TrustDomain.parse('example.org');
const ID = 'spiffe://example.org/web';
const AUD = 'spiffe://example.org/api';

function caught(fn: () => unknown): SvidIssuerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SvidIssuerError);
    expect(e).toBeInstanceOf(WidError);
    return e as SvidIssuerError;
  }
  throw new Error('expected a throw');
}

function bundles(): JwtBundleSet {
  const k = keys();
  return JwtBundleSet.of(
    JwtBundle.fromJwtAuthorities(
      TD,
      new Map([
        ['k256', k.p256.publicKey],
        ['k384', k.p384.publicKey],
        ['k521', k.p521.publicKey],
        ['krsa', k.rsa.publicKey],
        ['krsa1024', k.rsa1024.publicKey],
      ]),
    ),
  );
}

const goodHeader = { alg: 'ES256', kid: 'k256', typ: 'JWT' };
const goodPayload = { sub: ID, aud: [AUD], exp: T + 300, iat: T, jti: 'j1' };

function mint(overrides: Partial<Parameters<typeof signJwtSvid>[0]> = {}): JwtSvid {
  return signJwtSvid({
    privateKey: keys().p256.privateKey,
    kid: 'k256',
    spiffeId: SpiffeId.parse(ID),
    audience: [AUD],
    ttlSeconds: 300,
    now: NOW,
    ...overrides,
  });
}

describe('signJwtSvid', () => {
  it('writes the header alg, kid and typ and the claims sub, aud (array), exp, iat, jti', () => {
    const svid = mint({ extraClaims: { team: 'blue', nested: { a: [1, 2] } } });
    const [h, p] = svid.token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'ES256', kid: 'k256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(claims).toEqual({
      sub: ID,
      aud: [AUD],
      exp: T + 300,
      iat: T,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      team: 'blue',
      nested: { a: [1, 2] },
    });
    expect(svid.id.toString()).toBe(ID);
    expect(svid.audience).toEqual([AUD]);
    expect(svid.expiry.toISOString()).toBe('2030-01-01T00:05:00.000Z');
    expect(svid.claims).toEqual(claims);
    expect(svid.marshal()).toBe(svid.token);
    expect(svid.toString()).toBe(ID);
  });

  it('draws a fresh random jti for every token unless one is given', () => {
    expect(mint().claims['jti']).not.toBe(mint().claims['jti']);
    expect(mint({ jti: 'fixed' }).claims['jti']).toBe('fixed');
  });

  it('truncates now to whole seconds and accepts a SPIFFE ID string', () => {
    const svid = mint({ now: new Date(NOW.getTime() + 999), spiffeId: ID, ttlSeconds: 60.9 });
    expect(svid.claims['iat']).toBe(T);
    expect(svid.claims['exp']).toBe(T + 60);
  });

  it('returns a frozen SVID with deep-frozen claims, a copy of expiry, and the hint', () => {
    const extra = { nested: { a: 1 } };
    const svid = mint({ extraClaims: extra, hint: 'web' });
    expect(Object.isFrozen(svid)).toBe(true);
    expect(Object.isFrozen(svid.claims)).toBe(true);
    expect(Object.isFrozen(svid.claims['nested'])).toBe(true);
    expect(Object.isFrozen(svid.audience)).toBe(true);
    expect(Object.isFrozen(extra)).toBe(false); // the caller's object is not touched
    svid.expiry.setTime(0);
    expect(svid.expiry.getTime()).toBe((T + 300) * 1000);
    expect(svid.hint).toBe('web');
  });

  it('reports claims as serialized (toJSON applied, undefined dropped)', () => {
    const svid = mint({ extraClaims: { when: new Date(0), gone: undefined } });
    expect(svid.claims['when']).toBe('1970-01-01T00:00:00.000Z');
    expect('gone' in svid.claims).toBe(false);
  });

  it.each([
    ['p256', 'ES256'],
    ['p384', 'ES384'],
    ['p521', 'ES512'],
    ['rsa', 'RS256'],
  ] as const)('picks the default algorithm from a %s key: %s', (kind, alg) => {
    const svid = mint({ privateKey: keys()[kind].privateKey });
    expect(JSON.parse(Buffer.from(svid.token.split('.')[0]!, 'base64url').toString()).alg).toBe(alg);
  });

  it.each(['sub', 'aud', 'exp', 'iat', 'jti'])('refuses an extra claim overriding %s', (name) => {
    const err = caught(() => mint({ extraClaims: { [name]: 'x' } }));
    expect(err.code).toBe('ERR_WID_JWT_RESERVED_CLAIM');
    expect(err.input).toBe(name);
  });

  it('allows other registered claims (iss, nbf) as extra claims', () => {
    const svid = mint({ extraClaims: { iss: 'https://issuer', nbf: T } });
    expect(svid.claims['iss']).toBe('https://issuer');
    expect(JwtSvid.parseAndValidate(svid.token, bundles(), [AUD], { now: NOW }).claims['nbf']).toBe(T);
  });

  it.each<[string, Partial<Parameters<typeof signJwtSvid>[0]>, string]>([
    ['an empty audience', { audience: [] }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['an empty audience string', { audience: [''] }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['a zero ttl', { ttlSeconds: 0 }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['a NaN ttl', { ttlSeconds: Number.NaN }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['an infinite ttl', { ttlSeconds: Number.POSITIVE_INFINITY }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['an empty kid', { kid: '' }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['an invalid now', { now: new Date(Number.NaN) }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    ['an empty jti', { jti: '' }, 'ERR_WID_JWT_INVALID_OPTIONS'],
    [
      'an array as extra claims',
      { extraClaims: [1] as unknown as Record<string, unknown> },
      'ERR_WID_JWT_INVALID_OPTIONS',
    ],
    ['a BigInt claim', { extraClaims: { n: 1n } }, 'ERR_WID_JWT_BAD_CLAIM'],
    ['alg HS256', { alg: 'HS256' as JwtAlgorithm }, 'ERR_WID_JWT_UNSUPPORTED_ALG'],
    ['alg none', { alg: 'none' as JwtAlgorithm }, 'ERR_WID_JWT_UNSUPPORTED_ALG'],
    ['alg EdDSA', { alg: 'EdDSA' as JwtAlgorithm }, 'ERR_WID_JWT_UNSUPPORTED_ALG'],
    ['ES384 with a P-256 key', { alg: 'ES384' }, 'ERR_WID_JWT_KEY_ALG_MISMATCH'],
    ['RS256 with an EC key', { alg: 'RS256' }, 'ERR_WID_JWT_KEY_ALG_MISMATCH'],
    ['a public key', { privateKey: keys().p256.publicKey }, 'ERR_WID_JWT_UNSUPPORTED_KEY'],
    ['an Ed25519 key', { privateKey: keys().ed25519.privateKey }, 'ERR_WID_JWT_UNSUPPORTED_KEY'],
  ])('refuses %s', (_name, overrides, code) => {
    expect(caught(() => mint(overrides)).code).toBe(code);
  });

  it('refuses ES256 with an RSA key and RS256 with a 1024-bit RSA key', () => {
    expect(caught(() => mint({ privateKey: keys().rsa.privateKey, alg: 'ES256' })).code).toBe(
      'ERR_WID_JWT_KEY_ALG_MISMATCH',
    );
    expect(caught(() => mint({ privateKey: keys().rsa1024.privateKey })).code).toBe('ERR_WID_JWT_KEY_ALG_MISMATCH');
  });

  it('refuses a circular claim', () => {
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(caught(() => mint({ extraClaims: { loop } })).code).toBe('ERR_WID_JWT_BAD_CLAIM');
  });
});

describe('every algorithm', () => {
  it('lists exactly the JWT-SVID algorithms', () => {
    expect([...JWT_ALGORITHMS].sort()).toEqual([...ALL_ALGS].sort());
  });

  it.each(ALL_ALGS)('%s: mints tokens that we and jose verify, and validates tokens jose mints', async (alg) => {
    const kind = KEY_FOR_ALG[alg];
    const kid = { p256: 'k256', p384: 'k384', p521: 'k521', rsa: 'krsa' }[kind];
    const pair = keys()[kind];
    const svid = mint({ privateKey: pair.privateKey, alg, kid });
    expect(JwtSvid.parseAndValidate(svid.token, bundles(), [AUD], { now: NOW }).id.toString()).toBe(ID);

    const verified = await jose.jwtVerify(svid.token, pair.publicKey, {
      algorithms: [alg],
      audience: AUD,
      currentDate: NOW,
    });
    expect(verified.protectedHeader).toEqual({ alg, kid, typ: 'JWT' });
    expect(verified.payload.sub).toBe(ID);

    const joseToken = await new jose.SignJWT({ sub: ID, aud: [AUD], extra: alg })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuedAt(T)
      .setExpirationTime(T + 60)
      .sign(pair.privateKey);
    const ours = JwtSvid.parseAndValidate(joseToken, bundles(), [AUD], { now: NOW });
    expect(ours.claims['extra']).toBe(alg);
    expect(ours.expiry.getTime()).toBe((T + 60) * 1000);
  });

  it.each(ALL_ALGS)('%s: a token whose signature was made with another key is rejected', (alg) => {
    const kind = KEY_FOR_ALG[alg];
    const kid = { p256: 'k256', p384: 'k384', p521: 'k521', rsa: 'krsa' }[kind];
    const other =
      kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', {
            namedCurve: { p256: 'P-256', p384: 'P-384', p521: 'P-521' }[kind],
          });
    const token = craft({ header: { alg, kid }, payload: goodPayload, key: other.privateKey, signAs: alg });
    expect(caught(() => JwtSvid.parseAndValidate(token, bundles(), [AUD], { now: NOW })).code).toBe(
      'ERR_WID_JWT_BAD_SIGNATURE',
    );
  });

  it('jose rejects a token we minted when the audience or key is wrong (the cross-check can fail)', async () => {
    const svid = mint();
    await expect(
      jose.jwtVerify(svid.token, keys().p256.publicKey, { audience: 'other', currentDate: NOW }),
    ).rejects.toThrow();
    await expect(jose.jwtVerify(svid.token, keys().p384.publicKey, { currentDate: NOW })).rejects.toThrow();
  });
});

type Case = [name: string, token: () => string, code: string, audience?: string[], now?: Date];

const tamper = (t: string, part: number, value: string) => {
  const parts = t.split('.');
  parts[part] = value;
  return parts.join('.');
};

const rejectCases: Case[] = [
  // Compact serialization (RFC 7515 §7.1, JWT-SVID §2)
  ['a non-string token', () => 42 as unknown as string, 'ERR_WID_JWT_MALFORMED'],
  ['an empty token', () => '', 'ERR_WID_JWT_MALFORMED'],
  ['garbage', () => 'not a jwt', 'ERR_WID_JWT_MALFORMED'],
  ['two parts', () => 'eyJhIjoxfQ.eyJhIjoxfQ', 'ERR_WID_JWT_MALFORMED'],
  ['four parts', () => `${mint().token}.x`, 'ERR_WID_JWT_MALFORMED'],
  ['five parts (JWE)', () => 'a.b.c.d.e', 'ERR_WID_JWT_MALFORMED'],
  ['an empty signature (unsecured JWS)', () => tamper(mint().token, 2, ''), 'ERR_WID_JWT_MALFORMED'],
  ['an empty header', () => tamper(mint().token, 0, ''), 'ERR_WID_JWT_MALFORMED'],
  ['an empty payload', () => tamper(mint().token, 1, ''), 'ERR_WID_JWT_MALFORMED'],
  ['JSON serialization', () => JSON.stringify({ payload: 'x', signatures: [] }), 'ERR_WID_JWT_MALFORMED'],
  // base64url (RFC 7515 §2)
  ['padding in the header', () => tamper(mint().token, 0, `${b64url(goodHeader)}==`), 'ERR_WID_JWT_BAD_ENCODING'],
  [
    'standard base64 characters',
    () => tamper(mint().token, 2, mint().token.split('.')[2]!.replace(/.$/, '+')),
    'ERR_WID_JWT_BAD_ENCODING',
  ],
  ['whitespace', () => tamper(mint().token, 1, ` ${b64url(goodPayload)}`), 'ERR_WID_JWT_BAD_ENCODING'],
  ['an impossible length', () => tamper(mint().token, 1, 'abcde'), 'ERR_WID_JWT_BAD_ENCODING'],
  [
    'non-canonical trailing bits in the signature',
    () => {
      const t = mint().token;
      const sig = t.split('.')[2]!; // 86 chars: the last one carries 4 unused bits
      const last = sig.at(-1)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const flipped = alphabet[alphabet.indexOf(last) ^ 1]!;
      return tamper(t, 2, sig.slice(0, -1) + flipped);
    },
    'ERR_WID_JWT_BAD_ENCODING',
  ],
  // JSON
  ['a header that is not JSON', () => tamper(mint().token, 0, b64url('{alg')), 'ERR_WID_JWT_BAD_JSON'],
  ['a header that is a JSON array', () => tamper(mint().token, 0, b64url('["ES256"]')), 'ERR_WID_JWT_BAD_JSON'],
  ['a header that is null', () => tamper(mint().token, 0, b64url('null')), 'ERR_WID_JWT_BAD_JSON'],
  ['a payload that is not JSON', () => craft({ header: goodHeader, payload: 'nope' }), 'ERR_WID_JWT_BAD_JSON'],
  ['a payload that is a string', () => craft({ header: goodHeader, payload: '"x"' }), 'ERR_WID_JWT_BAD_JSON'],
  // alg allow-list first (JWT-SVID §3)
  [
    'alg none',
    () => craft({ header: { alg: 'none', kid: 'k256' }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  [
    'alg HS256',
    () => craft({ header: { alg: 'HS256', kid: 'k256' }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  [
    'alg EdDSA',
    () => craft({ header: { alg: 'EdDSA', kid: 'k256' }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  [
    'alg es256 (case)',
    () => craft({ header: { alg: 'es256', kid: 'k256' }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  ['no alg', () => craft({ header: { kid: 'k256' }, payload: goodPayload }), 'ERR_WID_JWT_UNSUPPORTED_ALG'],
  [
    'alg as a number',
    () => craft({ header: { alg: 256, kid: 'k256' }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  [
    'alg none before an unknown header parameter',
    () => craft({ header: { alg: 'none', crit: ['exp'] }, payload: goodPayload }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  [
    'alg none before a bad payload',
    () => craft({ header: { alg: 'none' }, payload: 'garbage' }),
    'ERR_WID_JWT_UNSUPPORTED_ALG',
  ],
  // header parameters (JWT-SVID §2)
  [
    'a crit header',
    () => craft({ header: { ...goodHeader, crit: ['x'] }, payload: goodPayload }),
    'ERR_WID_JWT_BAD_HEADER',
  ],
  [
    'a jku header',
    () => craft({ header: { ...goodHeader, jku: 'https://x' }, payload: goodPayload }),
    'ERR_WID_JWT_BAD_HEADER',
  ],
  [
    'a cty header',
    () => craft({ header: { ...goodHeader, cty: 'JWT' }, payload: goodPayload }),
    'ERR_WID_JWT_BAD_HEADER',
  ],
  [
    'typ at+jwt',
    () => craft({ header: { ...goodHeader, typ: 'at+jwt' }, payload: goodPayload }),
    'ERR_WID_JWT_BAD_TYP',
  ],
  [
    'typ jwt (lowercase)',
    () => craft({ header: { ...goodHeader, typ: 'jwt' }, payload: goodPayload }),
    'ERR_WID_JWT_BAD_TYP',
  ],
  ['typ null', () => craft({ header: { ...goodHeader, typ: null }, payload: goodPayload }), 'ERR_WID_JWT_BAD_TYP'],
  ['no kid', () => craft({ header: { alg: 'ES256' }, payload: goodPayload }), 'ERR_WID_JWT_MISSING_KID'],
  ['an empty kid', () => craft({ header: { alg: 'ES256', kid: '' }, payload: goodPayload }), 'ERR_WID_JWT_MISSING_KID'],
  ['a numeric kid', () => craft({ header: { alg: 'ES256', kid: 1 }, payload: goodPayload }), 'ERR_WID_JWT_MISSING_KID'],
  // claims (JWT-SVID §3)
  [
    'no sub',
    () => craft({ header: goodHeader, payload: { ...goodPayload, sub: undefined } }),
    'ERR_WID_JWT_MISSING_SUBJECT',
  ],
  [
    'an empty sub',
    () => craft({ header: goodHeader, payload: { ...goodPayload, sub: '' } }),
    'ERR_WID_JWT_MISSING_SUBJECT',
  ],
  ['a numeric sub', () => craft({ header: goodHeader, payload: { ...goodPayload, sub: 7 } }), 'ERR_WID_JWT_BAD_CLAIM'],
  [
    'a sub that is not a SPIFFE ID',
    () => craft({ header: goodHeader, payload: { ...goodPayload, sub: 'https://example.org/web' } }),
    'ERR_WID_JWT_BAD_SUBJECT',
  ],
  [
    'a sub with an uppercase trust domain',
    () => craft({ header: goodHeader, payload: { ...goodPayload, sub: 'spiffe://Example.org/web' } }),
    'ERR_WID_JWT_BAD_SUBJECT',
  ],
  [
    'no aud',
    () => craft({ header: goodHeader, payload: { ...goodPayload, aud: undefined } }),
    'ERR_WID_JWT_MISSING_AUDIENCE',
  ],
  [
    'an empty aud array',
    () => craft({ header: goodHeader, payload: { ...goodPayload, aud: [] } }),
    'ERR_WID_JWT_MISSING_AUDIENCE',
  ],
  ['a numeric aud', () => craft({ header: goodHeader, payload: { ...goodPayload, aud: 5 } }), 'ERR_WID_JWT_BAD_CLAIM'],
  [
    'an aud array with a number',
    () => craft({ header: goodHeader, payload: { ...goodPayload, aud: [AUD, 3] } }),
    'ERR_WID_JWT_BAD_CLAIM',
  ],
  [
    'no exp',
    () => craft({ header: goodHeader, payload: { ...goodPayload, exp: undefined } }),
    'ERR_WID_JWT_MISSING_EXPIRY',
  ],
  [
    'a string exp',
    () => craft({ header: goodHeader, payload: { ...goodPayload, exp: String(T + 300) } }),
    'ERR_WID_JWT_BAD_CLAIM',
  ],
  ['a null exp', () => craft({ header: goodHeader, payload: { ...goodPayload, exp: null } }), 'ERR_WID_JWT_BAD_CLAIM'],
  [
    'a string iat',
    () => craft({ header: goodHeader, payload: { ...goodPayload, iat: 'now' } }),
    'ERR_WID_JWT_BAD_CLAIM',
  ],
  [
    'a string nbf',
    () => craft({ header: goodHeader, payload: { ...goodPayload, nbf: 'now' } }),
    'ERR_WID_JWT_BAD_CLAIM',
  ],
  ['a numeric jti', () => craft({ header: goodHeader, payload: { ...goodPayload, jti: 1 } }), 'ERR_WID_JWT_BAD_CLAIM'],
  ['a numeric iss', () => craft({ header: goodHeader, payload: { ...goodPayload, iss: 1 } }), 'ERR_WID_JWT_BAD_CLAIM'],
  // expected audience (wid decision)
  ['an empty expected-audience list', () => mint().token, 'ERR_WID_JWT_NO_EXPECTED_AUDIENCE', []],
  ['an empty expected audience', () => mint().token, 'ERR_WID_JWT_NO_EXPECTED_AUDIENCE', ['']],
  [
    'a null expected-audience list',
    () => mint().token,
    'ERR_WID_JWT_NO_EXPECTED_AUDIENCE',
    null as unknown as string[],
  ],
  ['another audience', () => mint().token, 'ERR_WID_JWT_AUDIENCE_MISMATCH', ['spiffe://example.org/db']],
  [
    'an aud string for another audience',
    () => craft({ header: goodHeader, payload: { ...goodPayload, aud: 'other' } }),
    'ERR_WID_JWT_AUDIENCE_MISMATCH',
  ],
  // times (RFC 7519 §4.1.4–4.1.6), leeway 30 s
  ['an exp past the leeway', () => mint().token, 'ERR_WID_JWT_EXPIRED', [AUD], new Date((T + 300 + 31) * 1000)],
  ['an exp long past', () => mint().token, 'ERR_WID_JWT_EXPIRED', [AUD], new Date('2031-01-01T00:00:00Z')],
  [
    'an nbf beyond the leeway',
    () => craft({ header: goodHeader, payload: { ...goodPayload, nbf: T + 31 } }),
    'ERR_WID_JWT_NOT_YET_VALID',
  ],
  [
    'an iat beyond the leeway',
    () => craft({ header: goodHeader, payload: { ...goodPayload, iat: T + 31 } }),
    'ERR_WID_JWT_ISSUED_IN_FUTURE',
  ],
  ['an invalid now', () => mint().token, 'ERR_WID_JWT_INVALID_OPTIONS', [AUD], new Date(Number.NaN)],
  // keys and signature
  [
    'a trust domain without a bundle',
    () => craft({ header: goodHeader, payload: { ...goodPayload, sub: 'spiffe://other.org/web' } }),
    'ERR_WID_JWT_NO_BUNDLE',
  ],
  [
    'an unknown kid',
    () => craft({ header: { ...goodHeader, kid: 'nope' }, payload: goodPayload }),
    'ERR_WID_JWT_UNKNOWN_KID',
  ],
  [
    'ES256 naming an RSA key',
    () => craft({ header: { ...goodHeader, kid: 'krsa' }, payload: goodPayload }),
    'ERR_WID_JWT_KEY_ALG_MISMATCH',
  ],
  [
    'ES256 naming a P-384 key',
    () =>
      craft({
        header: { ...goodHeader, kid: 'k384' },
        payload: goodPayload,
        key: keys().p384.privateKey,
        signAs: 'ES384',
      }),
    'ERR_WID_JWT_KEY_ALG_MISMATCH',
  ],
  [
    'RS256 naming an EC key',
    () =>
      craft({
        header: { alg: 'RS256', kid: 'k256' },
        payload: goodPayload,
        key: keys().rsa.privateKey,
        signAs: 'RS256',
      }),
    'ERR_WID_JWT_KEY_ALG_MISMATCH',
  ],
  [
    'RS256 naming a 1024-bit RSA key',
    () =>
      craft({
        header: { alg: 'RS256', kid: 'krsa1024' },
        payload: goodPayload,
        key: keys().rsa1024.privateKey,
        signAs: 'RS256',
      }),
    'ERR_WID_JWT_KEY_ALG_MISMATCH',
  ],
  [
    'a changed payload',
    () => tamper(mint().token, 1, b64url({ ...goodPayload, sub: 'spiffe://example.org/admin' })),
    'ERR_WID_JWT_BAD_SIGNATURE',
  ],
  [
    'a DER-encoded ECDSA signature',
    () => {
      const input = `${b64url(goodHeader)}.${b64url(goodPayload)}`;
      const der = sign('sha256', Buffer.from(input), keys().p256.privateKey);
      return `${input}.${der.toString('base64url')}`;
    },
    'ERR_WID_JWT_BAD_SIGNATURE',
  ],
  [
    'a signature of zeros',
    () => tamper(mint().token, 2, Buffer.alloc(64).toString('base64url')),
    'ERR_WID_JWT_BAD_SIGNATURE',
  ],
  [
    'a PS256 token labelled RS256',
    () =>
      craft({
        header: { alg: 'RS256', kid: 'krsa' },
        payload: goodPayload,
        key: keys().rsa.privateKey,
        signAs: 'PS256',
      }),
    'ERR_WID_JWT_BAD_SIGNATURE',
  ],
  [
    'an RSA signature that is too short',
    () =>
      tamper(
        craft({
          header: { alg: 'RS256', kid: 'krsa' },
          payload: goodPayload,
          key: keys().rsa.privateKey,
          signAs: 'RS256',
        }),
        2,
        'AAAA',
      ),
    'ERR_WID_JWT_BAD_SIGNATURE',
  ],
];

describe('JwtSvid.parseAndValidate', () => {
  it('accepts a valid token and returns its contents', () => {
    const svid = JwtSvid.parseAndValidate(mint({ extraClaims: { x: 1 } }).token, bundles(), [AUD], { now: NOW });
    expect(svid.id.equals(SpiffeId.parse(ID))).toBe(true);
    expect(svid.audience).toEqual([AUD]);
    expect(svid.claims['x']).toBe(1);
    expect(svid.hint).toBeUndefined();
    expect(Object.isFrozen(svid)).toBe(true);
    expect(Object.isFrozen(svid.claims)).toBe(true);
    expect(Object.isFrozen(svid.audience)).toBe(true);
  });

  it.each(rejectCases)('rejects %s', (_name, token, code, audience = [AUD], now = NOW) => {
    const err = caught(() => JwtSvid.parseAndValidate(token(), bundles(), audience, { now }));
    expect(err.code).toBe(code);
    expect(Object.hasOwn(SVID_ISSUER_ERROR_CODES, err.code)).toBe(true);
  });

  it.each<[string, () => string, string[]?, Date?]>([
    ['typ JOSE', () => craft({ header: { ...goodHeader, typ: 'JOSE' }, payload: goodPayload })],
    ['no typ', () => craft({ header: { alg: 'ES256', kid: 'k256' }, payload: goodPayload })],
    ['an aud string', () => craft({ header: goodHeader, payload: { ...goodPayload, aud: AUD } })],
    ['one of several expected audiences', () => mint().token, ['spiffe://example.org/db', AUD]],
    ['one of several token audiences', () => mint({ audience: ['x', AUD, 'y'] }).token],
    ['an exp just within the leeway', () => mint().token, [AUD], new Date((T + 300 + JWT_SVID_LEEWAY_SECONDS) * 1000)],
    ['an iat just within the leeway', () => craft({ header: goodHeader, payload: { ...goodPayload, iat: T + 30 } })],
    ['an nbf just within the leeway', () => craft({ header: goodHeader, payload: { ...goodPayload, nbf: T + 30 } })],
    ['no iat and no jti', () => craft({ header: goodHeader, payload: { sub: ID, aud: AUD, exp: T + 1 } })],
    ['a fractional exp', () => craft({ header: goodHeader, payload: { ...goodPayload, exp: T + 0.5 } })],
  ])('accepts %s', (_name, token, audience = [AUD], now = NOW) => {
    expect(JwtSvid.parseAndValidate(token(), bundles(), audience, { now }).id.toString()).toBe(ID);
  });

  it('uses the bundle of the token subject’s own trust domain, not one that merely has the kid', () => {
    const k = keys();
    // Trust domain a.org publishes the P-256 key as "shared"; b.org publishes another key under the same kid.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const set = JwtBundleSet.of(
      JwtBundle.fromJwtAuthorities('a.org', new Map([['shared', k.p256.publicKey]])),
      JwtBundle.fromJwtAuthorities('b.org', new Map([['shared', other.publicKey]])),
    );
    const payload = { ...goodPayload, sub: 'spiffe://b.org/web' };
    const forged = craft({ header: { ...goodHeader, kid: 'shared' }, payload });
    const err = caught(() => JwtSvid.parseAndValidate(forged, set, [AUD], { now: NOW }));
    expect(err.code).toBe('ERR_WID_JWT_BAD_SIGNATURE');
    expect(err.trustDomain).toBe('b.org');
    const genuine = craft({ header: { ...goodHeader, kid: 'shared' }, payload, key: other.privateKey });
    expect(JwtSvid.parseAndValidate(genuine, set, [AUD], { now: NOW }).id.trustDomain.name).toBe('b.org');

    const onlyA = JwtBundleSet.of(JwtBundle.fromJwtAuthorities('a.org', new Map([['shared', k.p256.publicKey]])));
    const noBundle = caught(() => JwtSvid.parseAndValidate(forged, onlyA, [AUD], { now: NOW }));
    expect(noBundle.code).toBe('ERR_WID_JWT_NO_BUNDLE');
    expect(noBundle.trustDomain).toBe('b.org');
  });

  it('names the kid and trust domain of an unknown key', () => {
    const err = caught(() =>
      JwtSvid.parseAndValidate(
        craft({ header: { ...goodHeader, kid: 'gone' }, payload: goodPayload }),
        bundles(),
        [AUD],
        {
          now: NOW,
        },
      ),
    );
    expect(err).toMatchObject({ code: 'ERR_WID_JWT_UNKNOWN_KID', kid: 'gone', trustDomain: 'example.org' });
    expect(err.message).toBe('no JWT authority "gone" found for trust domain "example.org"');
  });

  it('uses go-spiffe wording for the common failures', () => {
    const expired = caught(() =>
      JwtSvid.parseAndValidate(mint().token, bundles(), [AUD], { now: new Date('2031-01-01T00:00:00Z') }),
    );
    expect(expired.message).toContain('token has expired');
    const aud = caught(() => JwtSvid.parseAndValidate(mint().token, bundles(), ['x'], { now: NOW }));
    expect(aud.message).toBe(`expected audience in ["x"] (audience=["${AUD}"])`);
    const noKid = caught(() =>
      JwtSvid.parseAndValidate(craft({ header: { alg: 'ES256' }, payload: goodPayload }), bundles(), [AUD], {
        now: NOW,
      }),
    );
    expect(noKid.message).toBe('token header missing key id');
  });

  it('rejects an HS256 token keyed with the public key (algorithm confusion)', () => {
    const pem = keys().p256.publicKey.export({ type: 'spki', format: 'pem' });
    const input = `${b64url({ alg: 'HS256', kid: 'k256' })}.${b64url(goodPayload)}`;
    const mac = createHmac('sha256', pem).update(input).digest('base64url');
    expect(caught(() => JwtSvid.parseAndValidate(`${input}.${mac}`, bundles(), [AUD], { now: NOW })).code).toBe(
      'ERR_WID_JWT_UNSUPPORTED_ALG',
    );
  });

  it('checks the signature before times and audience (as go-spiffe does)', () => {
    const forged = tamper(mint().token, 1, b64url({ ...goodPayload, exp: T - 1000 }));
    expect(caught(() => JwtSvid.parseAndValidate(forged, bundles(), ['x'], { now: NOW })).code).toBe(
      'ERR_WID_JWT_BAD_SIGNATURE',
    );
  });

  it('refuses a missing bundle source as a coded error', () => {
    expect(caught(() => JwtSvid.parseAndValidate(mint().token, undefined as never, [AUD], { now: NOW })).code).toBe(
      'ERR_WID_JWT_INVALID_OPTIONS',
    );
  });

  it('validates against the current time by default', () => {
    const fresh = mint({ now: new Date() });
    expect(JwtSvid.parseAndValidate(fresh.token, bundles(), [AUD]).id.toString()).toBe(ID);
    expect(caught(() => JwtSvid.parseAndValidate(mint().token, bundles(), [AUD], { now: new Date(0) })).code).toBe(
      'ERR_WID_JWT_ISSUED_IN_FUTURE',
    );
  });

  it('verifies with a key rebuilt from its JWK', () => {
    const jwk = keys().p256.publicKey.export({ format: 'jwk' });
    const set = JwtBundleSet.of(
      JwtBundle.fromJwtAuthorities(TD, new Map([['k256', createPublicKey({ key: jwk, format: 'jwk' })]])),
    );
    expect(JwtSvid.parseAndValidate(mint().token, set, [AUD], { now: NOW }).id.toString()).toBe(ID);
  });
});

describe('JwtSvid.parseInsecure', () => {
  it('skips the signature but nothing else', () => {
    const forged = tamper(mint().token, 1, b64url({ ...goodPayload, sub: 'spiffe://example.org/admin' }));
    expect(JwtSvid.parseInsecure(forged, [AUD], { now: NOW }).id.toString()).toBe('spiffe://example.org/admin');
    expect(caught(() => JwtSvid.parseInsecure(forged, ['x'], { now: NOW })).code).toBe('ERR_WID_JWT_AUDIENCE_MISMATCH');
    expect(caught(() => JwtSvid.parseInsecure(forged, [AUD], { now: new Date('2031-01-01T00:00:00Z') })).code).toBe(
      'ERR_WID_JWT_EXPIRED',
    );
    expect(caught(() => JwtSvid.parseInsecure(forged, []))).toMatchObject({ code: 'ERR_WID_JWT_NO_EXPECTED_AUDIENCE' });
  });

  const keyCodes = [
    'ERR_WID_JWT_NO_BUNDLE',
    'ERR_WID_JWT_UNKNOWN_KID',
    'ERR_WID_JWT_KEY_ALG_MISMATCH',
    'ERR_WID_JWT_BAD_SIGNATURE',
  ];
  it.each(rejectCases.filter(([, , code]) => !keyCodes.includes(code)))(
    'rejects %s',
    (_name, token, code, audience = [AUD], now = NOW) => {
      expect(caught(() => JwtSvid.parseInsecure(token(), audience, { now })).code).toBe(code);
    },
  );
});

describe('untrusted input never crashes', () => {
  const isCoded = (e: unknown) => e instanceof SvidIssuerError && Object.hasOwn(SVID_ISSUER_ERROR_CODES, e.code);
  const attempt = (token: string) => {
    try {
      JwtSvid.parseAndValidate(token, bundles(), [AUD], { now: NOW });
      JwtSvid.parseInsecure(token, [AUD], { now: NOW });
    } catch (e) {
      if (!isCoded(e)) throw e;
    }
  };

  it('turns arbitrary strings into coded errors', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), attempt), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(fc.base64String({ maxLength: 60 }), { minLength: 1, maxLength: 5 }), (parts) =>
        attempt(parts.join('.')),
      ),
      { numRuns: 300 },
    );
  });

  it('turns arbitrary JSON headers and payloads into coded errors', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(json, json, (header, payload) => attempt(craft({ header, payload }))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.record(
          { sub: fc.oneof(fc.constant(ID), fc.jsonValue()), aud: fc.jsonValue(), exp: fc.jsonValue() },
          { requiredKeys: [] },
        ),
        (payload) => attempt(craft({ header: goodHeader, payload })),
      ),
      { numRuns: 300 },
    );
  });

  it('rejects every single-character change to a valid token', () => {
    const token = mint().token;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (pos, ch) => {
        const changed = token.slice(0, pos) + ch + token.slice(pos + 1);
        if (changed === token) return;
        expect(() => JwtSvid.parseAndValidate(changed, bundles(), [AUD], { now: NOW })).toThrow(SvidIssuerError);
      }),
      { numRuns: 500 },
    );
  });

  it('survives claims nested a million levels deep', () => {
    const deep = `{"sub":"${ID}","aud":"${AUD}","exp":${T + 60},"x":${'['.repeat(1e6)}${']'.repeat(1e6)}}`;
    const svid = JwtSvid.parseInsecure(craft({ header: goodHeader, payload: deep }), [AUD], { now: NOW });
    expect(Object.isFrozen(svid.claims['x'])).toBe(true);
  });
});

describe('JwtSvid time claims outside the Date range', () => {
  it('reports a coded error, not a RangeError, for an iat far in the future', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { JwtBundle, JwtSvid: Svid, SvidIssuerError } = await import('@wid/svid-issuer');
    const { TrustDomain } = await import('@wid/spiffe-id');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = 1_800_000_000;
    for (const claims of [
      { iat: 1e20, exp: 1e20 },
      { nbf: 1e300, exp: 1e300 },
    ]) {
      const head = `${b64({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${b64({ sub: 'spiffe://example.org/w', aud: ['a'], ...claims })}`;
      const { sign } = await import('node:crypto');
      const sig = sign('sha256', Buffer.from(head), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      );
      const bundle = JwtBundle.fromJwtAuthorities(TrustDomain.parse('example.org'), new Map([['k1', publicKey]]));
      let error: unknown;
      try {
        Svid.parseAndValidate(`${head}.${sig}`, bundle, ['a'], { now: new Date(now * 1000) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SvidIssuerError);
      // Since NumericDates beyond the Date range are refused at parse time, this is ERR_WID_JWT_BAD_CLAIM (it was
      // ISSUED_IN_FUTURE / NOT_YET_VALID before that check existed).
      expect((error as InstanceType<typeof SvidIssuerError>).code).toBe('ERR_WID_JWT_BAD_CLAIM');
    }
  });
});

describe('JwtSvid NumericDate range', () => {
  it.each([
    ['exp', { exp: 1e300 }],
    ['exp', { exp: -8.64e12 - 1 }],
    ['nbf', { nbf: 8.64e12 + 1 }],
    ['iat', { iat: -1e15 }],
  ])('rejects "%s" outside ±8.64e12 s as ERR_WID_JWT_BAD_CLAIM', (name, claims) => {
    const token = craft({ header: goodHeader, payload: { ...goodPayload, ...claims } });
    for (const run of [
      () => JwtSvid.parseAndValidate(token, bundles(), [AUD], { now: NOW }),
      () => JwtSvid.parseInsecure(token, [AUD], { now: NOW }),
    ]) {
      const e = caught(run);
      expect(e.code).toBe('ERR_WID_JWT_BAD_CLAIM');
      expect(e.message).toContain(`"${name}"`);
      expect((e as unknown as { input: unknown }).input).toBe(name);
    }
  });

  it('still accepts the largest representable exp', () => {
    const token = craft({ header: goodHeader, payload: { ...goodPayload, exp: 8.64e12 } });
    expect(JwtSvid.parseInsecure(token, [AUD], { now: NOW }).expiry.getTime()).toBe(8.64e15);
  });
});
