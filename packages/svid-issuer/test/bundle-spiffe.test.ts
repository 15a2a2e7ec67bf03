import type { X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { JwtBundle, JwtSvid, SpiffeBundle, SvidIssuerError, signJwtSvid, X509Bundle } from '@wid/svid-issuer';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { keys, makeCaCert } from './jwt-helpers.js';

const TD = TrustDomain.parse('example.org');
const NOW = new Date('2030-01-01T00:00:00Z');
let ca1: X509Certificate;
let ca2: X509Certificate;
let caRsa: X509Certificate;
let caEd: X509Certificate;

beforeAll(async () => {
  [ca1, ca2, caRsa, caEd] = await Promise.all([
    makeCaCert('ca1'),
    makeCaCert('ca2', 'P-384'),
    makeCaCert('ca-rsa', 'RSA'),
    makeCaCert('ca-ed', 'Ed25519'),
  ]);
});

function caught(fn: () => unknown): SvidIssuerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SvidIssuerError);
    return e as SvidIssuerError;
  }
  throw new Error('expected a throw');
}

const b64 = (c: X509Certificate) => c.raw.toString('base64');
const x509Entry = (c: X509Certificate, extra: Record<string, unknown> = {}) => ({
  use: 'x509-svid',
  ...c.publicKey.export({ format: 'jwk' }),
  x5c: [b64(c)],
  ...extra,
});
const jwtEntry = (kid: string, extra: Record<string, unknown> = {}) => ({
  use: 'jwt-svid',
  kid,
  ...keys().p256.publicKey.export({ format: 'jwk' }),
  ...extra,
});
const doc = (k: unknown[], rest = '') => `{"keys":${JSON.stringify(k)}${rest}}`;

describe('SpiffeBundle.create / marshal / parse', () => {
  it('round-trips X.509 and JWT authorities, sequence and refresh hint', () => {
    const bundle = SpiffeBundle.create({
      trustDomain: TD,
      x509Authorities: [ca1, caRsa],
      jwtAuthorities: new Map([
        ['k1', keys().p256.publicKey],
        ['k2', keys().rsa.publicKey],
      ]),
      sequence: 7n,
      refreshHintSeconds: 300,
    });
    const text = bundle.marshal();
    const parsed = JSON.parse(text);
    expect(parsed.spiffe_sequence).toBe(7);
    expect(parsed.spiffe_refresh_hint).toBe(300);
    expect(parsed.keys).toHaveLength(4);
    expect(parsed.keys[0]).toEqual(x509Entry(ca1));
    expect(parsed.keys[1].kty).toBe('RSA');
    expect(parsed.keys[1].x5c).toEqual([b64(caRsa)]);
    expect(parsed.keys[2]).toEqual(jwtEntry('k1'));
    expect(parsed.keys[3]).toMatchObject({ use: 'jwt-svid', kid: 'k2', kty: 'RSA' });
    const back = SpiffeBundle.parse(TD, text);
    expect(back.equals(bundle)).toBe(true);
    expect(back.marshal()).toBe(text);
    expect(back.sequence).toBe(7n);
    expect(back.refreshHintSeconds).toBe(300);
    expect(back.x509Authorities().map((c) => c.subject)).toEqual(['CN=ca1', 'CN=ca-rsa']);
    expect([...back.jwtAuthorities().keys()]).toEqual(['k1', 'k2']);
    expect(back.findJwtAuthority('k2')?.equals(keys().rsa.publicKey)).toBe(true);
  });

  it('omits sequence and refresh hint when unset, and accepts an empty bundle', () => {
    const bundle = SpiffeBundle.create({ trustDomain: 'example.org' });
    expect(bundle.marshal()).toBe('{"keys":[]}');
    expect(bundle.sequence).toBeUndefined();
    expect(bundle.refreshHintSeconds).toBeUndefined();
    const parsed = SpiffeBundle.parse(TD, '{"keys":[]}');
    expect(parsed.x509Authorities()).toEqual([]);
    expect(parsed.jwtAuthorities().size).toBe(0);
    expect(parsed.equals(bundle)).toBe(true);
  });

  it('is frozen and serves its halves for its own trust domain only', () => {
    const bundle = SpiffeBundle.create({
      trustDomain: TD,
      x509Authorities: [ca1],
      jwtAuthorities: new Map([['k', keys().p256.publicKey]]),
    });
    expect(Object.isFrozen(bundle)).toBe(true);
    expect(bundle.getX509BundleForTrustDomain(TD)).toBeInstanceOf(X509Bundle);
    expect(bundle.getX509BundleForTrustDomain(TD)?.x509Authorities()[0]?.raw.equals(ca1.raw)).toBe(true);
    expect(bundle.getJwtBundleForTrustDomain(TD)?.findJwtAuthority('k')).toBeDefined();
    expect(bundle.getSpiffeBundleForTrustDomain(TD)).toBe(bundle);
    const other = TrustDomain.parse('other.org');
    expect(bundle.getX509BundleForTrustDomain(other)).toBeUndefined();
    expect(bundle.getJwtBundleForTrustDomain(other)).toBeUndefined();
    expect(bundle.getSpiffeBundleForTrustDomain(other)).toBeUndefined();
    expect(bundle.x509Bundle().trustDomain.name).toBe('example.org');
    expect(bundle.jwtBundle().trustDomain.name).toBe('example.org');
    expect(bundle.toString()).toBe('SpiffeBundle(example.org, 1 X.509 and 1 JWT authorities)');
  });

  it('serves as the bundle source when validating a JWT-SVID', () => {
    const bundle = SpiffeBundle.create({ trustDomain: TD, jwtAuthorities: new Map([['k', keys().p256.publicKey]]) });
    const svid = signJwtSvid({
      privateKey: keys().p256.privateKey,
      kid: 'k',
      spiffeId: 'spiffe://example.org/w',
      audience: ['a'],
      ttlSeconds: 60,
      now: NOW,
    });
    expect(
      JwtSvid.parseAndValidate(svid.token, SpiffeBundle.parse(TD, bundle.marshal()), ['a'], { now: NOW }).id.path,
    ).toBe('/w');
  });

  it('builds from an X.509 bundle or a JWT bundle', () => {
    const fromX = SpiffeBundle.fromX509Bundle(X509Bundle.fromX509Authorities(TD, [ca1]));
    expect(fromX.x509Authorities()).toHaveLength(1);
    expect(fromX.jwtAuthorities().size).toBe(0);
    const fromJ = SpiffeBundle.fromJwtBundle(JwtBundle.fromJwtAuthorities(TD, { k: keys().p384.publicKey }));
    expect(fromJ.x509Authorities()).toHaveLength(0);
    expect(fromJ.findJwtAuthority('k')?.equals(keys().p384.publicKey)).toBe(true);
  });

  it('tells bundles apart in equals', () => {
    const base = { trustDomain: TD, x509Authorities: [ca1], sequence: 1n, refreshHintSeconds: 60 };
    const a = SpiffeBundle.create(base);
    expect(a.equals(SpiffeBundle.create(base))).toBe(true);
    expect(a.equals(SpiffeBundle.create({ ...base, sequence: 2n }))).toBe(false);
    expect(a.equals(SpiffeBundle.create({ ...base, refreshHintSeconds: 61 }))).toBe(false);
    expect(a.equals(SpiffeBundle.create({ ...base, x509Authorities: [ca2] }))).toBe(false);
    expect(a.equals(SpiffeBundle.create({ ...base, trustDomain: 'other.org' }))).toBe(false);
    expect(a.equals(SpiffeBundle.create({ ...base, jwtAuthorities: new Map([['k', keys().p256.publicKey]]) }))).toBe(
      false,
    );
    expect(a.equals(undefined)).toBe(false);
  });

  it.each<[string, () => unknown, string]>([
    [
      'a negative sequence',
      () => SpiffeBundle.create({ trustDomain: TD, sequence: -1n }),
      'ERR_WID_BUNDLE_BAD_SEQUENCE',
    ],
    [
      'a sequence above 2^64-1',
      () => SpiffeBundle.create({ trustDomain: TD, sequence: 1n << 64n }),
      'ERR_WID_BUNDLE_BAD_SEQUENCE',
    ],
    [
      'a number sequence',
      () => SpiffeBundle.create({ trustDomain: TD, sequence: 5 as unknown as bigint }),
      'ERR_WID_BUNDLE_BAD_SEQUENCE',
    ],
    [
      'a negative refresh hint',
      () => SpiffeBundle.create({ trustDomain: TD, refreshHintSeconds: -1 }),
      'ERR_WID_BUNDLE_BAD_REFRESH_HINT',
    ],
    [
      'a fractional refresh hint',
      () => SpiffeBundle.create({ trustDomain: TD, refreshHintSeconds: 1.5 }),
      'ERR_WID_BUNDLE_BAD_REFRESH_HINT',
    ],
    [
      'a non-certificate authority',
      () => SpiffeBundle.create({ trustDomain: TD, x509Authorities: ['pem' as never] }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
    [
      'an Ed25519 CA certificate',
      () => SpiffeBundle.create({ trustDomain: TD, x509Authorities: [caEd] }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
    [
      'a JWT authority with an empty kid',
      () => SpiffeBundle.create({ trustDomain: TD, jwtAuthorities: new Map([['', keys().p256.publicKey]]) }),
      'ERR_WID_BUNDLE_MISSING_KID',
    ],
    [
      'an Ed25519 JWT authority',
      () => SpiffeBundle.create({ trustDomain: TD, jwtAuthorities: new Map([['k', keys().ed25519.publicKey]]) }),
      'ERR_WID_BUNDLE_BAD_KEY',
    ],
  ])('create refuses %s', (_name, fn, code) => {
    expect(caught(fn).code).toBe(code);
  });
});

describe('spiffe_sequence', () => {
  it.each([
    ['0', 0n],
    ['1', 1n],
    ['9007199254740993', 9007199254740993n], // 2^53 + 1: JSON.parse would give ...992
    ['9223372036854775807', (1n << 63n) - 1n],
    ['18446744073709551615', (1n << 64n) - 1n],
  ])('reads %s exactly and writes it back exactly', (raw, value) => {
    const bundle = SpiffeBundle.parse(TD, `{"keys":[],"spiffe_sequence":${raw}}`);
    expect(bundle.sequence).toBe(value);
    expect(bundle.marshal()).toBe(`{"keys":[],"spiffe_sequence":${raw}}`);
    expect(SpiffeBundle.create({ trustDomain: TD, sequence: value }).marshal()).toContain(`"spiffe_sequence":${raw}}`);
  });

  it('round-trips 2^63-1 through create, marshal and parse', () => {
    const max = (1n << 63n) - 1n;
    const text = SpiffeBundle.create({ trustDomain: TD, x509Authorities: [ca1], sequence: max }).marshal();
    expect(text).toContain('"spiffe_sequence":9223372036854775807');
    expect(SpiffeBundle.parse(TD, text).sequence).toBe(max);
  });

  it('finds the member wherever it is: nested lookalikes, whitespace, escapes, duplicates (last wins)', () => {
    const nested = `{"x":{"spiffe_sequence":1},"keys":[{"kty":"FUTURE","spiffe_sequence":2}],"s":"\\"spiffe_sequence\\":3", "spiffe_sequence" :\n 9223372036854775807 }`;
    expect(SpiffeBundle.parse(TD, nested).sequence).toBe((1n << 63n) - 1n);
    expect(SpiffeBundle.parse(TD, '{"keys":[],"spiffe\\u005fsequence":18446744073709551615}').sequence).toBe(
      (1n << 64n) - 1n,
    );
    expect(SpiffeBundle.parse(TD, '{"spiffe_sequence":1,"keys":[],"spiffe_sequence":9007199254740993}').sequence).toBe(
      9007199254740993n,
    );
  });

  it('treats null as absent (go-spiffe reads it into a nil pointer)', () => {
    expect(
      SpiffeBundle.parse(TD, '{"keys":[],"spiffe_sequence":null,"spiffe_refresh_hint":null}').sequence,
    ).toBeUndefined();
  });

  it.each([
    ['a negative number', '-1'],
    ['negative zero', '-0'],
    ['a fraction', '1.5'],
    ['a trailing .0', '1.0'],
    ['an exponent', '1e3'],
    ['2^64', '18446744073709551616'],
    ['a huge number', '1' + '0'.repeat(40)],
    ['a string', '"5"'],
    ['a boolean', 'true'],
    ['an object', '{"v":1}'],
  ])('rejects %s', (_name, raw) => {
    const err = caught(() => SpiffeBundle.parse(TD, `{"keys":[],"spiffe_sequence":${raw}}`));
    expect(err.code).toBe('ERR_WID_BUNDLE_BAD_SEQUENCE');
    expect(err.trustDomain).toBe('example.org');
  });
});

describe('spiffe_refresh_hint', () => {
  it('reads seconds', () => {
    expect(SpiffeBundle.parse(TD, '{"keys":[],"spiffe_refresh_hint":300}').refreshHintSeconds).toBe(300);
    expect(SpiffeBundle.parse(TD, '{"keys":[],"spiffe_refresh_hint":0}').refreshHintSeconds).toBe(0);
  });

  it.each(['-1', '1.5', '"300"', '1e300', '[]'])('rejects %s', (raw) => {
    expect(caught(() => SpiffeBundle.parse(TD, `{"keys":[],"spiffe_refresh_hint":${raw}}`)).code).toBe(
      'ERR_WID_BUNDLE_BAD_REFRESH_HINT',
    );
  });
});

describe('SpiffeBundle.parse key entries', () => {
  it('ignores entries with an unknown or missing use, or an unknown kty', () => {
    const bundle = SpiffeBundle.parse(
      TD,
      doc([
        { ...x509Entry(ca1), use: 'sig' },
        { ...jwtEntry('nouse'), use: undefined },
        { ...jwtEntry('future'), use: 'wit-svid' },
        { use: 'jwt-svid', kty: 'OKP', crv: 'Ed25519', x: 'AAAA' },
        { use: 'x509-svid', kty: 'FUTURE', x5c: ['not even base64!'] },
        jwtEntry('ok'),
        x509Entry(ca2),
      ]),
    );
    expect([...bundle.jwtAuthorities().keys()]).toEqual(['ok']);
    expect(bundle.x509Authorities().map((c) => c.subject)).toEqual(['CN=ca2']);
  });

  it('ignores x509-svid entries without x5c (or with an empty one)', () => {
    const noX5c = { ...x509Entry(ca1), x5c: undefined };
    const bundle = SpiffeBundle.parse(TD, doc([noX5c, { ...x509Entry(ca1), x5c: [] }, x509Entry(ca2)]));
    expect(bundle.x509Authorities().map((c) => c.subject)).toEqual(['CN=ca2']);
  });

  it('uses only the first certificate of a multi-certificate x5c, and writes exactly one back', () => {
    const bundle = SpiffeBundle.parse(TD, doc([x509Entry(ca1, { x5c: [b64(ca1), b64(ca2)] })]));
    expect(bundle.x509Authorities().map((c) => c.subject)).toEqual(['CN=ca1']);
    expect(JSON.parse(bundle.marshal()).keys[0].x5c).toEqual([b64(ca1)]);
  });

  it('accepts an x509-svid entry that carries only kty and x5c', () => {
    const bundle = SpiffeBundle.parse(TD, doc([{ use: 'x509-svid', kty: 'EC', crv: 'P-256', x5c: [b64(ca1)] }]));
    expect(bundle.x509Authorities()[0]?.raw.equals(ca1.raw)).toBe(true);
  });

  it('reads a SPIRE-style document', () => {
    const spire = JSON.stringify(
      {
        keys: [x509Entry(ca1), jwtEntry('2bc8d9c4d0a1e5e5b4c3f0f0a9f8e7d6')],
        spiffe_refresh_hint: 300,
        spiffe_sequence: 12,
      },
      null,
      4,
    );
    const bundle = SpiffeBundle.parse(TD, Buffer.from(spire));
    expect(bundle.sequence).toBe(12n);
    expect(bundle.jwtBundle().hasJwtAuthority('2bc8d9c4d0a1e5e5b4c3f0f0a9f8e7d6')).toBe(true);
  });

  it.each<[string, () => string, string, number?]>([
    ['invalid JSON', () => '{"keys":[', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['a JSON string', () => '"keys"', 'ERR_WID_BUNDLE_BAD_JSON'],
    ['a missing "keys"', () => '{"spiffe_sequence":1}', 'ERR_WID_BUNDLE_MISSING_KEYS'],
    ['"keys" as a string', () => '{"keys":"x"}', 'ERR_WID_BUNDLE_BAD_KEYS'],
    ['a key that is an array', () => doc([jwtEntry('a'), []]), 'ERR_WID_BUNDLE_BAD_KEYS', 1],
    ['a jwt-svid key without kid', () => doc([x509Entry(ca1), jwtEntry('')]), 'ERR_WID_BUNDLE_MISSING_KID', 1],
    ['x5c that is a string', () => doc([x509Entry(ca1, { x5c: b64(ca1) })]), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    [
      'x5c in base64url',
      () => doc([x509Entry(ca1, { x5c: [ca1.raw.toString('base64url')] })]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'x5c with line breaks',
      () => doc([x509Entry(ca1, { x5c: [b64(ca1).replace(/(.{64})/g, '$1\n')] })]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'x5c that is not DER',
      () => doc([x509Entry(ca1, { x5c: [Buffer.from('hello').toString('base64')] })]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'x5c with truncated DER',
      () => doc([x509Entry(ca1, { x5c: [ca1.raw.subarray(0, 100).toString('base64')] })]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    ['x5c holding a number', () => doc([x509Entry(ca1, { x5c: [5] })]), 'ERR_WID_BUNDLE_BAD_KEY', 0],
    [
      'JWK parameters that do not match the certificate',
      () => doc([{ ...x509Entry(ca1), x: x509Entry(ca2).x }]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    [
      'an x509-svid entry whose kty disagrees with its certificate',
      () => doc([{ use: 'x509-svid', ...keys().rsa.publicKey.export({ format: 'jwk' }), x5c: [b64(ca1)] }]),
      'ERR_WID_BUNDLE_BAD_KEY',
      0,
    ],
    ['a sequence of 2^64', () => doc([], ',"spiffe_sequence":18446744073709551616'), 'ERR_WID_BUNDLE_BAD_SEQUENCE'],
  ])('rejects %s', (_name, input, code, index) => {
    const err = caught(() => SpiffeBundle.parse(TD, input()));
    expect(err.code).toBe(code);
    if (index !== undefined) expect(err.index).toBe(index);
  });
});

describe('untrusted bundles never crash', () => {
  const attempt = (input: string) => {
    for (const parse of [SpiffeBundle.parse, JwtBundle.parse]) {
      try {
        parse(TD, input);
      } catch (e) {
        if (!(e instanceof SvidIssuerError)) throw e;
      }
    }
  };

  it('turns arbitrary text and JSON into bundles or coded errors', () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }), attempt), { numRuns: 300 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => attempt(JSON.stringify(v))),
      { numRuns: 300 },
    );
    const entry = fc.record(
      {
        use: fc.constantFrom('x509-svid', 'jwt-svid', 'sig', undefined),
        kty: fc.constantFrom('EC', 'RSA', 'OKP', 'oct', 7),
        crv: fc.constantFrom('P-256', 'P-384', 'P-521', 'X25519', undefined),
        kid: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
        x: fc.base64String({ maxLength: 90 }),
        y: fc.base64String({ maxLength: 90 }),
        n: fc.base64String({ maxLength: 20 }),
        e: fc.constantFrom('AQAB', '', 'AA=='),
        x5c: fc.oneof(
          fc.constant([b64(ca1)]),
          fc.array(fc.base64String({ maxLength: 40 }), { maxLength: 2 }),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), fc.jsonValue(), (keys, sequence) =>
        attempt(JSON.stringify({ keys, spiffe_sequence: sequence })),
      ),
      { numRuns: 500 },
    );
  });

  it('reads any uint64 sequence exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (seq) => {
        const text = SpiffeBundle.create({ trustDomain: TD, sequence: seq }).marshal();
        expect(SpiffeBundle.parse(TD, text).sequence).toBe(seq);
      }),
      { numRuns: 300 },
    );
  });
});
