import { describe, expect, it } from 'vitest';
import {
  type CertificateAuthorityOptions,
  type CertificateAuthorityState,
  createCertificateAuthority,
  JwtSvid,
  verifyX509Svid,
} from '../src/index.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('createCertificateAuthority options', () => {
  it.each([
    ['trustDomain', { trustDomain: 'Bad Domain' }],
    ['keyType', { trustDomain: 'example.org', keyType: 'ed25519' }],
    ['jwtKeyType', { trustDomain: 'example.org', jwtKeyType: 'rsa-1024' }],
    ['caTtlSeconds', { trustDomain: 'example.org', caTtlSeconds: 0 }],
    ['x509SvidTtlSeconds', { trustDomain: 'example.org', x509SvidTtlSeconds: 1.5 }],
    ['jwtSvidTtlSeconds', { trustDomain: 'example.org', jwtSvidTtlSeconds: '300' }],
    ['refreshHintSeconds', { trustDomain: 'example.org', refreshHintSeconds: -1 }],
    ['subject', { trustDomain: 'example.org', subject: {} }],
    ['subject', { trustDomain: 'example.org', subject: { country: 'USA' } }],
    ['rotation.prepareAt', { trustDomain: 'example.org', rotation: { prepareAt: 0 } }],
    ['rotation.activateAt', { trustDomain: 'example.org', rotation: { prepareAt: 0.6, activateAt: 0.5 } }],
    ['rotation.activateAt', { trustDomain: 'example.org', rotation: { activateAt: 1 } }],
    ['clock', { trustDomain: 'example.org', clock: {} }],
    ['clock', { trustDomain: 'example.org', clock: { now: () => 'tomorrow' } }],
  ])('rejects a bad %s with ERR_WID_CA_BAD_OPTION naming it', (key, options) => {
    try {
      createCertificateAuthority(options as unknown as CertificateAuthorityOptions);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_WID_CA_BAD_OPTION');
      expect((e as { input: string }).input).toBe(key);
    }
  });

  it('uses a custom CA subject and the given refresh hint', () => {
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      subject: { organization: 'Acme', commonName: 'Acme SPIFFE CA' },
      refreshHintSeconds: 60,
      clock: { now: () => new Date(T0) },
    });
    expect(ca.x509Authorities()[0]!.certificate.subject).toBe('O=Acme\nCN=Acme SPIFFE CA');
    expect(ca.bundle().refreshHintSeconds).toBe(60);
  });
});

describe('CertificateAuthority.exportState / options.state', () => {
  function rotatedCa() {
    let now = T0;
    const clock = { now: () => new Date(now) };
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    now = T0 + 3000_000;
    ca.rotateIfNeeded();
    return { ca, clock, advance: (ms: number) => (now += ms) };
  }

  it('restores the same authorities, keys, statuses and sequence, and keeps issuing under the same bundle', () => {
    const { ca, clock } = rotatedCa();
    const state = JSON.parse(JSON.stringify(ca.exportState())) as CertificateAuthorityState;
    expect(state.x509Authorities.map((a) => a.status)).toEqual(['active', 'prepared']);
    const restored = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock, state });
    expect(restored.sequence).toBe(ca.sequence);
    expect(restored.x509Bundle().equals(ca.x509Bundle())).toBe(true);
    expect(restored.jwtKeys().map((k) => [k.kid, k.status])).toEqual(ca.jwtKeys().map((k) => [k.kid, k.status]));
    const svid = restored.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(verifyX509Svid(svid.certificates, ca, { now: clock.now() }).id.toString()).toBe('spiffe://example.org/w');
    const token = restored.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['a'] });
    expect(JwtSvid.parseAndValidate(token.token, ca, ['a'], { now: clock.now() }).id.toString()).toBe(
      'spiffe://example.org/w',
    );
  });

  it('resumes rotation where it left off', () => {
    const { ca, clock, advance } = rotatedCa();
    const restored = createCertificateAuthority({
      trustDomain: 'example.org',
      caTtlSeconds: 6000,
      clock,
      state: ca.exportState(),
    });
    advance(2000_000);
    const events = restored.rotateIfNeeded().map((e) => e.type);
    expect(events).toContain('x509-authority-activated');
    expect(events).toContain('jwt-key-activated');
  });

  it.each([
    ['another trust domain', (s: CertificateAuthorityState) => ({ ...s, trustDomain: 'other.org' })],
    ['an unknown version', (s: CertificateAuthorityState) => ({ ...s, version: 2 })],
    ['a bad sequence', (s: CertificateAuthorityState) => ({ ...s, sequence: 'x' })],
    [
      'a key that does not match its certificate',
      (s: CertificateAuthorityState) => ({
        ...s,
        x509Authorities: s.x509Authorities.map((a, i) => ({
          ...a,
          privateKeyPem: s.x509Authorities[1 - i]!.privateKeyPem,
        })),
      }),
    ],
    [
      'a corrupt certificate',
      (s: CertificateAuthorityState) => ({
        ...s,
        x509Authorities: [{ ...s.x509Authorities[0]!, certificatePem: 'x' }],
      }),
    ],
    [
      'a JWT key that does not match its kid',
      (s: CertificateAuthorityState) => ({ ...s, jwtKeys: s.jwtKeys.map((k) => ({ ...k, kid: 'forged' })) }),
    ],
    [
      'two active authorities',
      (s: CertificateAuthorityState) => ({
        ...s,
        x509Authorities: s.x509Authorities.map((a) => ({ ...a, status: 'active' as const })),
      }),
    ],
    ['no authorities', (s: CertificateAuthorityState) => ({ ...s, x509Authorities: [] })],
    [
      'a bad time',
      (s: CertificateAuthorityState) => ({ ...s, jwtKeys: s.jwtKeys.map((k) => ({ ...k, notAfter: 'soon' })) }),
    ],
  ])('rejects a state with %s (ERR_WID_CA_BAD_STATE)', (_label, mutate) => {
    const { ca, clock } = rotatedCa();
    const state = mutate(ca.exportState()) as CertificateAuthorityState;
    expect(code(() => createCertificateAuthority({ trustDomain: 'example.org', clock, state }))).toBe(
      'ERR_WID_CA_BAD_STATE',
    );
  });

  it('rejects a self-signed state when an upstream is configured (the mode changed)', async () => {
    const { ca, clock } = rotatedCa();
    const other = createCertificateAuthority({ trustDomain: 'example.org', clock });
    const root = other.x509Authorities()[0]!.certificate;
    const state = other.exportState();
    const upstream = {
      certChainPem: root.toString(),
      privateKeyPem: state.x509Authorities[0]!.privateKeyPem,
    };
    expect(
      code(() => createCertificateAuthority({ trustDomain: 'example.org', clock, upstream, state: ca.exportState() })),
    ).toBe('ERR_WID_CA_BAD_STATE');
  });
});
