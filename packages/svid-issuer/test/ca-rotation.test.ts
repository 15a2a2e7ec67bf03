import { describe, expect, it } from 'vitest';
import {
  type CertificateAuthorityEvent,
  createCertificateAuthority,
  JwtSvid,
  SpiffeBundle,
  verifyX509Svid,
} from '../src/index.js';
import { openssl } from './x509-helpers.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const S = 1000;

function fakeClock(start = T0) {
  let t = start;
  return {
    now: () => new Date(t),
    set(ms: number) {
      t = ms;
    },
  };
}

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const types = (events: CertificateAuthorityEvent[]) => events.map((e) => e.type);

describe('CertificateAuthority rotation (fake clock)', () => {
  // caTtl 6000 s. X.509 CA A: notBefore T0-60 s (back-dated), notAfter T0+6000 s → span 6060 s, so it prepares at
  // 1/2 (T0+2970 s) and activates the next at 5/6 (T0+4990 s). JWT key: T0..T0+6000 s → prepare T0+3000 s,
  // activate T0+5000 s.
  it('prepares and publishes, activates, keeps, then prunes — and bumps the bundle sequence on each change', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    const seen: CertificateAuthorityEvent[] = [];
    const unsubscribe = ca.onChange((e) => seen.push(e));
    const [a] = ca.x509Authorities();
    const [k1] = ca.jwtKeys();
    expect(ca.sequence).toBe(1n);
    expect([a!.status, k1!.status]).toEqual(['active', 'active']);
    expect(a!.notBefore.getTime()).toBe(T0 - 60 * S);
    expect(a!.notAfter.getTime()).toBe(T0 + 6000 * S);
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 2970 * S);

    clock.set(T0 + 2969 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    clock.set(T0 + 2970 * S);
    const prepared = ca.rotateIfNeeded();
    expect(types(prepared)).toEqual(['x509-authority-prepared']);
    expect(prepared[0]!.sequence).toBe(2n);
    const b = ca.x509Authorities().find((x) => x.status === 'prepared')!;
    expect(prepared[0]!.id).toBe(b.id);
    // Published before it signs anything: in the bundle, while A still signs.
    expect(ca.x509Bundle().x509Authorities()).toHaveLength(2);
    expect(ca.bundle().sequence).toBe(2n);
    expect(ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w', ttlSeconds: 60 }).authorityId).toBe(a!.id);

    expect(ca.nextRotationAt().getTime()).toBe(T0 + 3000 * S);
    clock.set(T0 + 3000 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['jwt-key-prepared']);
    expect(ca.sequence).toBe(3n);
    expect(ca.jwtBundle().jwtAuthorities().size).toBe(2);

    // A signs one more SVID (expires T0+5500 s) and the old JWT key one more token (expires T0+5250 s).
    clock.set(T0 + 4900 * S);
    const lastFromA = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w', ttlSeconds: 600 });
    expect(lastFromA.authorityId).toBe(a!.id);
    clock.set(T0 + 4950 * S);
    const lastFromK1 = ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['api'], ttlSeconds: 300 });
    expect(lastFromK1.token.split('.')[0]).toBe(
      Buffer.from(JSON.stringify({ alg: 'ES256', kid: k1!.kid, typ: 'JWT' })).toString('base64url'),
    );

    clock.set(T0 + 4990 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['x509-authority-activated']);
    expect(ca.sequence).toBe(3n); // activation changes no bundle content
    const fromB = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(fromB.authorityId).toBe(b.id);
    expect(ca.x509Authorities().map((x) => [x.id, x.status])).toEqual([
      [a!.id, 'retired'],
      [b.id, 'active'],
    ]);
    // Relying parties holding the bundle accept both generations during the overlap (wid and OpenSSL agree).
    const now = new Date(T0 + 4990 * S);
    expect(verifyX509Svid(lastFromA.certificates, ca, { now }).id.toString()).toBe('spiffe://example.org/w');
    expect(verifyX509Svid(fromB.certificates, ca, { now }).id.toString()).toBe('spiffe://example.org/w');
    for (const svid of [lastFromA, fromB]) {
      const v = openssl(['verify', '-attime', String((T0 + 4990 * S) / 1000), '-CAfile', '{b.pem}', '{l.pem}'], {
        'b.pem': ca.x509Bundle().marshal(),
        'l.pem': svid.marshal(),
      });
      expect(v.status).toBe(0);
    }

    clock.set(T0 + 5000 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['jwt-key-activated']);
    const k2 = ca.jwtKeys().find((k) => k.status === 'active')!;
    expect(k2.kid).not.toBe(k1!.kid);
    const token = ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['api'] });
    expect(JSON.parse(Buffer.from(token.token.split('.')[0]!, 'base64url').toString()).kid).toBe(k2.kid);
    // The old key still validates what it signed.
    expect(
      JwtSvid.parseAndValidate(lastFromK1.token, ca, ['api'], { now: new Date(T0 + 5000 * S) }).id.toString(),
    ).toBe('spiffe://example.org/w');

    // Kept until everything it signed has expired (plus 30 s JWT leeway and 30 s clock skew), then pruned (the
    // bundle changes again).
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 5310 * S + 1);
    clock.set(T0 + 5310 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    clock.set(T0 + 5310 * S + 1);
    const jwtPruned = ca.rotateIfNeeded();
    expect(types(jwtPruned)).toEqual(['jwt-key-pruned']);
    expect([jwtPruned[0]!.id, jwtPruned[0]!.sequence]).toEqual([k1!.kid, 4n]);
    clock.set(T0 + 5560 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    expect(ca.x509Bundle().x509Authorities()).toHaveLength(2);
    clock.set(T0 + 5560 * S + 1);
    const x509Pruned = ca.rotateIfNeeded();
    expect(types(x509Pruned)).toEqual(['x509-authority-pruned']);
    expect([x509Pruned[0]!.id, x509Pruned[0]!.sequence]).toEqual([a!.id, 5n]);
    expect(
      ca
        .x509Bundle()
        .x509Authorities()
        .map((c) => c.fingerprint256),
    ).toEqual([b.certificate.fingerprint256]);

    // The published SPIFFE bundle carries the sequence exactly.
    const bundle = SpiffeBundle.parse('example.org', ca.bundle().marshal());
    expect(bundle.sequence).toBe(5n);
    expect(bundle.refreshHintSeconds).toBe(300);
    expect([...bundle.jwtAuthorities().keys()]).toEqual([k2.kid]);

    expect(types(seen)).toEqual([
      'x509-authority-prepared',
      'jwt-key-prepared',
      'x509-authority-activated',
      'jwt-key-activated',
      'jwt-key-pruned',
      'x509-authority-pruned',
    ]);
    unsubscribe();
    clock.set(T0 + 6000 * S);
    ca.rotateIfNeeded();
    expect(seen).toHaveLength(6);
  });

  it('rotates from issuance alone, without explicit rotateIfNeeded calls', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    const seen: string[] = [];
    ca.onChange((e) => seen.push(e.type));
    clock.set(T0 + 2970 * S);
    ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(seen).toEqual(['x509-authority-prepared']);
    clock.set(T0 + 5000 * S);
    const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(seen).toContain('x509-authority-activated');
    expect(svid.authorityId).toBe(ca.x509Authorities().find((a) => a.status === 'active')!.id);
  });

  it('recovers from a clock jump past every authority, and warns that the new one was not pre-published', () => {
    const clock = fakeClock();
    const { lines, logger } = recordingLogger();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock, logger });
    clock.set(T0 + 100_000 * S);
    const events = ca.rotateIfNeeded();
    expect(types(events)).toEqual(
      expect.arrayContaining([
        'x509-authority-prepared',
        'x509-authority-activated',
        'x509-authority-pruned',
        'jwt-key-activated',
      ]),
    );
    expect(ca.x509Authorities()).toHaveLength(1);
    expect(ca.jwtKeys()).toHaveLength(1);
    expect(lines.some((l) => l.level === 'warn' && l.msg?.includes('without being published in advance'))).toBe(true);
    const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(verifyX509Svid(svid.certificates, ca, { now: new Date(T0 + 100_000 * S) }).id.toString()).toBe(
      'spiffe://example.org/w',
    );
  });

  it('honours custom thresholds', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      caTtlSeconds: 6060,
      jwtKeyTtlSeconds: 6000,
      clock,
      rotation: { prepareAt: 0.25, activateAt: 0.5 },
    });
    // X.509: span 6120 s from T0-60 s → prepare at T0+1470 s; JWT: prepare at T0+1500 s.
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 1470 * S);
    clock.set(T0 + 1500 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['x509-authority-prepared', 'jwt-key-prepared']);
    // Both activate at 1/2: X.509 at T0-60 s + 3060 s, JWT at T0 + 3000 s.
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 3000 * S);
  });

  it('clamps JWT-SVID lifetimes to the signing key expiry and logs it', () => {
    const clock = fakeClock();
    const { lines, logger } = recordingLogger();
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      jwtKeyTtlSeconds: 1000,
      clock,
      logger,
      rotation: { prepareAt: 0.98, activateAt: 0.99 },
    });
    clock.set(T0 + 900 * S);
    const token = ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['a'], ttlSeconds: 600 });
    expect(token.expiry.getTime()).toBe(T0 + 1000 * S);
    expect(lines.some((l) => l.level === 'warn' && l.obj['ttlSeconds'] === 100)).toBe(true);
  });

  it('refuses JWT-SVIDs for other trust domains or without a path', () => {
    const ca = createCertificateAuthority({ trustDomain: 'example.org', clock: fakeClock() });
    const wrongTd = (() => {
      try {
        ca.issueJwtSvid({ spiffeId: 'spiffe://other.org/w', audience: ['a'] });
      } catch (e) {
        return (e as { code: string }).code;
      }
    })();
    expect(wrongTd).toBe('ERR_WID_CA_WRONG_TRUST_DOMAIN');
    expect(() => ca.issueJwtSvid({ spiffeId: 'spiffe://example.org', audience: ['a'] })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_CA_BAD_REQUEST' }),
    );
  });
});

describe('CertificateAuthority publication lead (Federation §4: publish keys 3–5× the refresh hint before use)', () => {
  it('never activates a key in the call that prepared it, even when first called after activateAt', () => {
    const clock = fakeClock();
    const { lines, logger } = recordingLogger();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 3600, clock, logger });
    const [a] = ca.x509Authorities();
    const [k] = ca.jwtKeys();
    const seen: string[] = [];
    ca.onChange((e) => seen.push(e.type));
    // 0.9 of the lifetime: past activateAt (5/6), but A still has 360 s to live.
    clock.set(T0 + 3240 * S);
    const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(seen).toEqual(['x509-authority-prepared', 'jwt-key-prepared']);
    expect(svid.authorityId).toBe(a!.id);
    expect(ca.x509Authorities().map((x) => x.status)).toEqual(['active', 'prepared']);
    expect(ca.jwtKeys().map((x) => x.status)).toEqual(['active', 'prepared']);
    expect(ca.x509Bundle().x509Authorities()).toHaveLength(2);
    // The lead (min(3 × 300 s, (5/6 − 1/2) × lifetime) = 900 s) outlasts A, so the switch waits until A is about
    // to expire (1 s before), keeping the new key published as long as possible.
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 3599 * S);
    clock.set(T0 + 3598 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    expect(ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['a'] }).token.split('.')[0]).toBe(
      Buffer.from(JSON.stringify({ alg: 'ES256', kid: k!.kid, typ: 'JWT' })).toString('base64url'),
    );
    clock.set(T0 + 3599 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['x509-authority-activated', 'jwt-key-activated']);
    expect(lines.some((l) => l.level === 'warn' && l.msg?.includes('published for less than'))).toBe(true);
  });

  it('waits for the lead after a late prepare, and counts it in nextRotationAt', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    clock.set(T0 + 5000 * S); // past activateAt (T0+4990 s), 1000 s left
    expect(types(ca.rotateIfNeeded())).toEqual(['x509-authority-prepared', 'jwt-key-prepared']);
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 5900 * S);
    clock.set(T0 + 5899 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    clock.set(T0 + 5900 * S);
    // (The old keys signed only the construction self-check, so they are pruned in the same step.)
    expect(types(ca.rotateIfNeeded()).filter((t) => t.endsWith('activated'))).toEqual([
      'x509-authority-activated',
      'jwt-key-activated',
    ]);
  });

  it('does not activate on restore after downtime, persists preparedAt, and treats a missing one as now', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    const saved = ca.exportState();
    clock.set(T0 + 5000 * S);
    const restored = createCertificateAuthority({
      trustDomain: 'example.org',
      caTtlSeconds: 6000,
      clock,
      state: saved,
    });
    expect(restored.x509Authorities().map((x) => x.status)).toEqual(['active', 'prepared']);
    expect(restored.jwtKeys().map((x) => x.status)).toEqual(['active', 'prepared']);
    const state = restored.exportState();
    expect(state.x509Authorities[1]!.preparedAt).toBe(new Date(T0 + 5000 * S).toISOString());
    expect(state.jwtKeys[1]!.preparedAt).toBe(new Date(T0 + 5000 * S).toISOString());

    clock.set(T0 + 5100 * S);
    const again = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock, state });
    expect(again.nextRotationAt().getTime()).toBe(T0 + 5900 * S);
    const legacy = createCertificateAuthority({
      trustDomain: 'example.org',
      caTtlSeconds: 6000,
      clock,
      state: {
        ...state,
        x509Authorities: state.x509Authorities.map(({ preparedAt: _p, ...rest }) => rest),
        jwtKeys: state.jwtKeys.map(({ preparedAt: _p, ...rest }) => rest),
      },
    });
    clock.set(T0 + 5900 * S);
    expect(types(again.rotateIfNeeded()).filter((t) => t.endsWith('activated'))).toEqual([
      'x509-authority-activated',
      'jwt-key-activated',
    ]);
    // Without preparedAt the key counts as published at restore (T0+5100 s): 5100 + 900 > 6000 − 1, so it
    // switches only when the active one is about to expire.
    expect(legacy.rotateIfNeeded()).toEqual([]);
    expect(legacy.nextRotationAt().getTime()).toBe(T0 + 5999 * S);
  });
});

describe('CertificateAuthority pruning grace (JWT leeway + clock skew)', () => {
  it('keeps a retired key for 60 s after the last credential it signed expires', () => {
    const clock = fakeClock();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', caTtlSeconds: 6000, clock });
    const [a] = ca.x509Authorities();
    const [k] = ca.jwtKeys();
    clock.set(T0 + 3000 * S);
    ca.rotateIfNeeded();
    clock.set(T0 + 4900 * S);
    ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w', ttlSeconds: 200 }); // until T0+5100 s
    ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['a'], ttlSeconds: 200 }); // until T0+5100 s
    clock.set(T0 + 5000 * S);
    expect(types(ca.rotateIfNeeded())).toEqual(['x509-authority-activated', 'jwt-key-activated']);
    clock.set(T0 + 5100 * S); // the X.509 verifier still accepts at notAfter, JWT validators until exp + 30 s
    expect(ca.rotateIfNeeded()).toEqual([]);
    expect(ca.nextRotationAt().getTime()).toBe(T0 + 5160 * S + 1);
    clock.set(T0 + 5160 * S);
    expect(ca.rotateIfNeeded()).toEqual([]);
    clock.set(T0 + 5160 * S + 1);
    const pruned = ca.rotateIfNeeded();
    expect(pruned.map((e) => [e.type, e.id])).toEqual([
      ['x509-authority-pruned', a!.id],
      ['jwt-key-pruned', k!.kid],
    ]);
  });
});
