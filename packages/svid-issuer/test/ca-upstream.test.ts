import type { KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, verifyX509Svid, X509Svid } from '../src/index.js';
import { certInfo } from '../src/internal/x509-cert-info.js';
import { seq, tlv } from '../src/internal/x509-der.js';
import { type Built, makeCert, openssl, pem, toKeyObject, x509 } from './x509-helpers.js';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

const keyPem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
const HOUR = 3_600_000;

describe('createCertificateAuthority with an upstream CA', () => {
  let root: Built;
  let inter: Built;
  let interKey: KeyObject;
  beforeAll(async () => {
    root = await makeCert({ ca: true, name: 'CN=Upstream Root', notAfter: new Date(Date.now() + 1000 * HOUR) });
    inter = await makeCert({
      ca: true,
      issuer: root,
      name: 'CN=Upstream Intermediate',
      notAfter: new Date(Date.now() + 900 * HOUR),
    });
    interKey = await toKeyObject(inter.keys.privateKey);
  });

  it('issues beneath the upstream: chain leaf → our CA → upstream intermediate, bundle = upstream root', async () => {
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      upstream: { certChainPem: pem(inter.cert, root.cert), privateKeyPem: keyPem(interKey) },
    });
    expect(
      ca
        .x509Bundle()
        .x509Authorities()
        .map((c) => c.fingerprint256),
    ).toEqual([root.cert.fingerprint256]);
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web' });
    expect(issued.certificates).toHaveLength(3);
    const [leaf, ours, up] = issued.certificates;
    expect(up!.fingerprint256).toBe(inter.cert.fingerprint256);
    expect(ours!.issuer).toBe('CN=Upstream Intermediate');
    expect(ours!.ca).toBe(true);
    expect(ours!.verify(inter.cert.publicKey)).toBe(true);
    expect(leaf!.verify(ours!.publicKey)).toBe(true);
    const ourPec = new x509.X509Certificate(ours!.raw);
    expect(ourPec.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(
      inter.pec.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
    );

    expect(verifyX509Svid(issued.certificates, ca).id.toString()).toBe('spiffe://example.org/web');
    const v = openssl(['verify', '-CAfile', '{root.pem}', '-untrusted', '{chain.pem}', '{leaf.pem}'], {
      'root.pem': pem(root.cert),
      'chain.pem': pem(ours!, up!),
      'leaf.pem': pem(leaf!),
    });
    expect(v.out.trim()).toMatch(/leaf\.pem: OK$/);
    const svid = issued.toX509Svid();
    expect(X509Svid.parse(svid.marshal().certificates, svid.marshal().privateKey).certificates).toHaveLength(3);
    expect(ca.bundle().x509Authorities()).toHaveLength(1);
  });

  it('takes parsed certificates, a KeyObject and an explicit bundle', () => {
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      keyType: 'ec-p384',
      upstream: { certificates: [inter.cert], privateKey: interKey, bundle: [root.cert] },
    });
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web' });
    expect(issued.certificates).toHaveLength(3);
    expect(verifyX509Svid(issued.certificates, ca).verifiedChains[0]).toHaveLength(4);
  });

  it('issues directly beneath an upstream root (the root is not repeated in the chain)', async () => {
    const rootKey = await toKeyObject(root.keys.privateKey);
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      upstream: { certChainPem: pem(root.cert), privateKeyPem: keyPem(rootKey) },
    });
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web' });
    expect(issued.certificates).toHaveLength(2);
    expect(verifyX509Svid(issued.certificates, ca).id.toString()).toBe('spiffe://example.org/web');
  });

  it('clamps its CA certificates to the upstream expiry and warns', async () => {
    const shortRoot = await makeCert({ ca: true, notAfter: new Date(Date.now() + 2 * HOUR) });
    const lines: { obj: object; msg?: string }[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: object, msg?: string) => lines.push({ obj, msg }) };
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      logger,
      upstream: { certificates: [shortRoot.cert], privateKey: await toKeyObject(shortRoot.keys.privateKey) },
    });
    const ours = ca.x509Authorities()[0]!;
    expect(ours.notAfter.getTime()).toBe(certInfo(shortRoot.cert).notAfter);
    expect(lines.some((l) => l.msg?.includes('clamped to the upstream'))).toBe(true);
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w', ttlSeconds: 3 * 3600 });
    expect(issued.clamped).toBe(true);
    expect(issued.notAfter.getTime()).toBe(ours.notAfter.getTime());
  });

  it('rotates its intermediate without changing the X.509 bundle or its sequence', () => {
    let now = Math.floor(Date.now() / 1000) * 1000;
    const ca = createCertificateAuthority({
      trustDomain: 'example.org',
      caTtlSeconds: 6000,
      jwtKeyTtlSeconds: 100_000,
      clock: { now: () => new Date(now) },
      upstream: { certificates: [inter.cert, root.cert], privateKey: interKey },
    });
    now += 2970_000;
    const events = ca.rotateIfNeeded();
    expect(events.map((e) => [e.type, e.sequence])).toEqual([['x509-authority-prepared', 1n]]);
    expect(ca.x509Bundle().x509Authorities()).toHaveLength(1);
    now += 2020_000;
    // The old intermediate signed only the construction self-check (60 s), so it is pruned at once.
    expect(ca.rotateIfNeeded().map((e) => [e.type, e.sequence])).toEqual([
      ['x509-authority-activated', 1n],
      ['x509-authority-pruned', 1n],
    ]);
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' });
    expect(verifyX509Svid(issued.certificates, ca, { now: new Date(now) }).id.toString()).toBe(
      'spiffe://example.org/w',
    );
    expect(ca.sequence).toBe(1n);
  });

  it.each([
    ['a key that does not match the first certificate', 'mismatch'],
    ['a first certificate that is not a CA', 'leaf'],
    ['an upstream whose pathLenConstraint is 0', 'pathlen0'],
    ['an expired upstream', 'expired'],
    ['no bundle and no self-signed root in the chain', 'noroot'],
    ['a chain that does not lead to the given bundle', 'wrongbundle'],
    ['name constraints that exclude the trust domain', 'constrained'],
    ['garbage PEM', 'garbage'],
    ['an empty chain', 'empty'],
  ])('rejects %s with ERR_WID_CA_BAD_UPSTREAM', async (_label, kind) => {
    let upstream: Parameters<typeof createCertificateAuthority>[0]['upstream'];
    const rootKey = await toKeyObject(root.keys.privateKey);
    switch (kind) {
      case 'mismatch':
        upstream = { certificates: [inter.cert, root.cert], privateKey: rootKey };
        break;
      case 'leaf': {
        const leaf = await makeCert({ issuer: root, uris: ['spiffe://example.org/x'] });
        upstream = { certificates: [leaf.cert, root.cert], privateKey: await toKeyObject(leaf.keys.privateKey) };
        break;
      }
      case 'pathlen0': {
        const p0 = await makeCert({ ca: true, pathLen: 0, issuer: root });
        upstream = { certificates: [p0.cert, root.cert], privateKey: await toKeyObject(p0.keys.privateKey) };
        break;
      }
      case 'expired': {
        const old = await makeCert({
          ca: true,
          notBefore: new Date(Date.now() - 3 * HOUR),
          notAfter: new Date(Date.now() - HOUR),
        });
        upstream = { certificates: [old.cert], privateKey: await toKeyObject(old.keys.privateKey) };
        break;
      }
      case 'noroot':
        upstream = { certificates: [inter.cert], privateKey: interKey };
        break;
      case 'wrongbundle': {
        const other = await makeCert({ ca: true, name: 'CN=Upstream Root' });
        upstream = { certificates: [inter.cert], privateKey: interKey, bundle: [other.cert] };
        break;
      }
      case 'constrained': {
        const nc = new x509.Extension('2.5.29.30', true, seq(tlv(0xa0, seq(tlv(0x86, Buffer.from('other.org'))))));
        const c = await makeCert({ ca: true, issuer: root, extra: [nc] });
        upstream = { certificates: [c.cert, root.cert], privateKey: await toKeyObject(c.keys.privateKey) };
        break;
      }
      case 'garbage':
        upstream = { certChainPem: 'nope', privateKeyPem: keyPem(interKey) };
        break;
      case 'empty':
        upstream = { certificates: [], privateKey: interKey };
        break;
    }
    const e = thrown(() => createCertificateAuthority({ trustDomain: 'example.org', upstream }));
    expect(e.code).toBe('ERR_WID_CA_BAD_UPSTREAM');
  });
});
