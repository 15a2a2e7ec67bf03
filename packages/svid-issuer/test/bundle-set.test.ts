import type { X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import {
  JwtBundle,
  JwtBundleSet,
  JwtSvid,
  SpiffeBundle,
  SpiffeBundleSet,
  signJwtSvid,
  X509Bundle,
  X509BundleSet,
} from '@wid/svid-issuer';
import { beforeAll, describe, expect, it } from 'vitest';
import { keys, makeCaCert } from './jwt-helpers.js';

const A = TrustDomain.parse('a.org');
const B = TrustDomain.parse('b.org');
const C = TrustDomain.parse('c.org');
const NOW = new Date('2030-01-01T00:00:00Z');
let caA: X509Certificate;
let caB: X509Certificate;

beforeAll(async () => {
  [caA, caB] = await Promise.all([makeCaCert('a'), makeCaCert('b')]);
});

describe('X509BundleSet', () => {
  it('adds, replaces, gets, removes and lists bundles by trust domain', () => {
    const a = X509Bundle.fromX509Authorities(A, [caA]);
    const b = X509Bundle.fromX509Authorities(B, [caB]);
    const set = X509BundleSet.of(b, a);
    expect(set.size).toBe(2);
    expect(set.bundles().map((x) => x.trustDomain.name)).toEqual(['a.org', 'b.org']);
    expect(set.get('a.org')).toBe(a);
    expect(set.get(B)).toBe(b);
    expect(set.has(C)).toBe(false);
    expect(set.getX509BundleForTrustDomain(A)).toBe(a);
    expect(set.getX509BundleForTrustDomain(C)).toBeUndefined();

    const a2 = X509Bundle.fromX509Authorities(A, [caB]);
    set.add(a2);
    expect(set.size).toBe(2);
    expect(set.get(A)).toBe(a2);

    expect(set.remove('a.org')).toBe(true);
    expect(set.remove(A)).toBe(false);
    expect(set.has(A)).toBe(false);
    expect(set.size).toBe(1);
    expect(new X509BundleSet().size).toBe(0);
  });

  it('rejects an invalid trust domain name in lookups', () => {
    expect(() => X509BundleSet.of().get('Bad.org')).toThrow(
      expect.objectContaining({ code: 'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR' }),
    );
  });
});

describe('JwtBundleSet', () => {
  it('validates each token against the bundle of its own trust domain', () => {
    const k = keys();
    const set = JwtBundleSet.of(
      JwtBundle.fromJwtAuthorities(A, { ka: k.p256.publicKey }),
      JwtBundle.fromJwtAuthorities(B, { kb: k.p384.publicKey }),
    );
    const fromB = signJwtSvid({
      privateKey: k.p384.privateKey,
      kid: 'kb',
      spiffeId: 'spiffe://b.org/w',
      audience: ['x'],
      ttlSeconds: 60,
      now: NOW,
    });
    expect(JwtSvid.parseAndValidate(fromB.token, set, ['x'], { now: NOW }).id.trustDomain.name).toBe('b.org');
    expect(set.getJwtBundleForTrustDomain(A)?.hasJwtAuthority('ka')).toBe(true);

    set.remove(B);
    expect(() => JwtSvid.parseAndValidate(fromB.token, set, ['x'], { now: NOW })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_JWT_NO_BUNDLE' }),
    );
  });
});

describe('SpiffeBundleSet', () => {
  it('serves SPIFFE bundles and their X.509 and JWT halves', () => {
    const a = SpiffeBundle.create({
      trustDomain: A,
      x509Authorities: [caA],
      jwtAuthorities: new Map([['k', keys().p256.publicKey]]),
    });
    const set = SpiffeBundleSet.of(a);
    expect(set.getSpiffeBundleForTrustDomain(A)).toBe(a);
    expect(set.getX509BundleForTrustDomain(A)?.x509Authorities()[0]?.raw.equals(caA.raw)).toBe(true);
    expect(set.getJwtBundleForTrustDomain(A)?.findJwtAuthority('k')?.equals(keys().p256.publicKey)).toBe(true);
    expect(set.getSpiffeBundleForTrustDomain(B)).toBeUndefined();
    expect(set.getX509BundleForTrustDomain(B)).toBeUndefined();
    expect(set.getJwtBundleForTrustDomain(B)).toBeUndefined();
    expect(set.bundles()).toEqual([a]);
  });
});
