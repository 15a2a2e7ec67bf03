import type { X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  parseAndVerifyX509Svid,
  verifyX509Svid,
  X509Bundle,
  type X509BundleSource,
} from '../src/index.js';
import { seq, tlv } from '../src/internal/x509-der.js';
import { makeCert, makeChain, openssl, pem, x509 } from './x509-helpers.js';

function thrown(fn: () => unknown): Error & { code?: string; index?: number; trustDomain?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; index?: number };
  }
  throw new Error('expected an error');
}

const TD = TrustDomain.parse('example.org');
const ID = 'spiffe://example.org/workload';
const HOUR = 3_600_000;
const KU = x509.KeyUsageFlags;

function nameConstraints(permittedUris: string[], excludedDns: string[] = []) {
  const subtrees = (tag: number, names: Buffer[]) => tlv(tag, ...names.map((n) => seq(n)));
  const parts = [];
  if (permittedUris.length)
    parts.push(
      subtrees(
        0xa0,
        permittedUris.map((u) => tlv(0x86, Buffer.from(u))),
      ),
    );
  if (excludedDns.length)
    parts.push(
      subtrees(
        0xa1,
        excludedDns.map((d) => tlv(0x82, Buffer.from(d))),
      ),
    );
  return new x509.Extension('2.5.29.30', true, seq(...parts));
}

/** openssl verify with the bundle as trust anchors and the rest of the chain as untrusted intermediates. */
function opensslVerify(chain: X509Certificate[], roots: X509Certificate[], at?: Date) {
  const args = ['verify', '-CAfile', '{roots.pem}'];
  if (chain.length > 1) args.push('-untrusted', '{inter.pem}');
  if (at) args.push('-attime', String(Math.floor(at.getTime() / 1000)));
  args.push('{leaf.pem}');
  return openssl(args, { 'roots.pem': pem(...roots), 'inter.pem': pem(...chain.slice(1)), 'leaf.pem': pem(chain[0]!) });
}

describe('verifyX509Svid', () => {
  let c: Awaited<ReturnType<typeof makeChain>>;
  let bundle: X509Bundle;
  beforeAll(async () => {
    c = await makeChain(ID);
    bundle = X509Bundle.fromX509Authorities(TD, [c.root.cert]);
  });

  it('verifies a leaf through an intermediate taken from the chain', () => {
    const r = verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle);
    expect(r.id.toString()).toBe(ID);
    expect(r.verifiedChains).toHaveLength(1);
    expect(r.verifiedChains[0]!.map((x) => x.fingerprint256)).toEqual(
      [c.leaf.cert, c.intermediate.cert, c.root.cert].map((x) => x.fingerprint256),
    );
    expect(opensslVerify([c.leaf.cert, c.intermediate.cert], [c.root.cert]).status).toBe(0);
  });

  it('takes intermediates only from the chain: a missing one means untrusted', () => {
    const e = thrown(() => verifyX509Svid([c.leaf.cert], bundle));
    expect([e.code, e.trustDomain]).toEqual(['ERR_WID_X509_UNTRUSTED', 'example.org']);
    expect(opensslVerify([c.leaf.cert], [c.root.cert]).status).not.toBe(0);
  });

  it('does not trust an intermediate placed in the bundle of another trust domain', () => {
    const other = X509Bundle.fromX509Authorities('other.org', [c.root.cert]);
    const source: X509BundleSource = {
      getX509BundleForTrustDomain: (td) => (td.name === 'other.org' ? other : undefined),
    };
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], source));
    expect([e.code, e.trustDomain]).toEqual(['ERR_WID_X509_NO_BUNDLE', 'example.org']);
  });

  it('rejects a chain when the bundle holds another root (wrong bundle)', async () => {
    const otherRoot = await makeCert({ ca: true, name: 'CN=root' });
    const wrong = X509Bundle.fromX509Authorities(TD, [otherRoot.cert]);
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], wrong));
    expect(e.code).toBe('ERR_WID_X509_BAD_SIGNATURE');
    expect(e.index).toBe(1);
    expect(opensslVerify([c.leaf.cert, c.intermediate.cert], [otherRoot.cert]).status).not.toBe(0);
    const empty = X509Bundle.fromX509Authorities(TD, []);
    expect(thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], empty)).code).toBe('ERR_WID_X509_UNTRUSTED');
  });

  it('rejects a leaf signed by another key under the intermediate name (bad signature)', async () => {
    const impostor = await makeCert({ ca: true, name: 'CN=intermediate' });
    const leaf = await makeCert({ uris: [ID], issuer: impostor });
    const e = thrown(() => verifyX509Svid([leaf.cert, c.intermediate.cert], bundle));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_BAD_SIGNATURE', 0]);
  });

  it('rejects an expired leaf, intermediate or root at the given time', async () => {
    const later = new Date(Date.now() + 2 * 86_400_000);
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle, { now: later }));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_EXPIRED', 0]);
    expect(opensslVerify([c.leaf.cert, c.intermediate.cert], [c.root.cert], later).out).toContain('expired');

    const root = await makeCert({
      ca: true,
      notAfter: new Date(Date.now() - HOUR),
      notBefore: new Date(Date.now() - 2 * HOUR),
    });
    const inter = await makeCert({ ca: true, issuer: root });
    const leaf = await makeCert({ uris: [ID], issuer: inter });
    const rootExpired = thrown(() =>
      verifyX509Svid([leaf.cert, inter.cert], X509Bundle.fromX509Authorities(TD, [root.cert])),
    );
    expect([rootExpired.code, rootExpired.index]).toEqual(['ERR_WID_X509_EXPIRED', -1]);

    const root2 = await makeCert({ ca: true });
    const inter2 = await makeCert({
      ca: true,
      issuer: root2,
      notAfter: new Date(Date.now() - HOUR),
      notBefore: new Date(Date.now() - 2 * HOUR),
    });
    const leaf2 = await makeCert({ uris: [ID], issuer: inter2 });
    const interExpired = thrown(() =>
      verifyX509Svid([leaf2.cert, inter2.cert], X509Bundle.fromX509Authorities(TD, [root2.cert])),
    );
    expect([interExpired.code, interExpired.index]).toEqual(['ERR_WID_X509_EXPIRED', 1]);
  });

  it('rejects a chain that is not valid yet', () => {
    const earlier = new Date(Date.now() - 2 * HOUR);
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle, { now: earlier }));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_NOT_YET_VALID', 0]);
    expect(opensslVerify([c.leaf.cert, c.intermediate.cert], [c.root.cert], earlier).out).toContain('not yet valid');
  });

  it('accepts notBefore and notAfter themselves (validity is inclusive)', () => {
    const nb = new Date(c.leaf.cert.validFrom);
    const na = new Date(c.leaf.cert.validTo);
    expect(verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle, { now: nb }).id.toString()).toBe(ID);
    expect(verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle, { now: na }).id.toString()).toBe(ID);
  });

  it('rejects a leaf in another trust domain than any bundle it can get', async () => {
    const other = await makeChain('spiffe://other.org/workload');
    const e = thrown(() => verifyX509Svid([other.leaf.cert, other.intermediate.cert], bundle));
    expect([e.code, e.trustDomain]).toEqual(['ERR_WID_X509_NO_BUNDLE', 'other.org']);
  });

  it('rejects a leaf with a root-path SPIFFE ID even when the chain verifies (go-spiffe does not)', async () => {
    const leaf = await makeCert({ uris: ['spiffe://example.org'], issuer: c.intermediate });
    expect(opensslVerify([leaf.cert, c.intermediate.cert], [c.root.cert]).status).toBe(0);
    expect(thrown(() => verifyX509Svid([leaf.cert, c.intermediate.cert], bundle)).code).toBe(
      'ERR_WID_X509_ROOT_PATH_ID',
    );
  });

  it('rejects a CA certificate offered as the leaf', async () => {
    const caLeaf = await makeCert({ ca: true, uris: [ID], issuer: c.intermediate });
    expect(thrown(() => verifyX509Svid([caLeaf.cert, c.intermediate.cert], bundle)).code).toBe(
      'ERR_WID_X509_LEAF_IS_CA',
    );
    const rootAsLeaf = thrown(() => verifyX509Svid([c.root.cert], bundle));
    expect(rootAsLeaf.code).toBe('ERR_WID_X509_NO_URI_SAN');
  });

  it('applies the leaf key-usage rules', async () => {
    const leaf = await makeCert({ uris: [ID], issuer: c.intermediate, keyUsage: KU.digitalSignature | KU.keyCertSign });
    expect(thrown(() => verifyX509Svid([leaf.cert, c.intermediate.cert], bundle)).code).toBe(
      'ERR_WID_X509_LEAF_KEY_CERT_SIGN',
    );
  });

  it('rejects an empty chain', () => {
    expect(thrown(() => verifyX509Svid([], bundle)).code).toBe('ERR_WID_X509_NO_CERTIFICATES');
  });

  it('rejects an invalid time', () => {
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], bundle, { now: new Date('nope') }));
    expect(e.code).toBe('ERR_WID_X509_BAD_OPTION');
  });

  it('rejects a signing certificate that is not a CA, or lacks keyCertSign', async () => {
    const notCa = await makeCert({ ca: false, issuer: c.root, keyUsage: KU.keyCertSign | KU.digitalSignature });
    const leaf = await makeCert({ uris: [ID], issuer: notCa });
    const e = thrown(() => verifyX509Svid([leaf.cert, notCa.cert], bundle));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_SIGNING_CERT_NOT_CA', 1]);
    expect(opensslVerify([leaf.cert, notCa.cert], [c.root.cert]).status).not.toBe(0);

    const noSign = await makeCert({ ca: true, issuer: c.root, keyUsage: KU.cRLSign });
    const leaf2 = await makeCert({ uris: [ID], issuer: noSign });
    const e2 = thrown(() => verifyX509Svid([leaf2.cert, noSign.cert], bundle));
    expect([e2.code, e2.index]).toEqual(['ERR_WID_X509_SIGNING_CERT_NO_KEY_CERT_SIGN', 1]);
  });

  it('enforces pathLenConstraint', async () => {
    const root = await makeCert({ ca: true, pathLen: 0 });
    const inter = await makeCert({ ca: true, issuer: root });
    const leaf = await makeCert({ uris: [ID], issuer: inter });
    const b = X509Bundle.fromX509Authorities(TD, [root.cert]);
    const e = thrown(() => verifyX509Svid([leaf.cert, inter.cert], b));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_PATH_TOO_LONG', -1]);
    expect(opensslVerify([leaf.cert, inter.cert], [root.cert]).status).not.toBe(0);
    const direct = await makeCert({ uris: [ID], issuer: root });
    expect(verifyX509Svid([direct.cert], b).id.toString()).toBe(ID);
  });

  it('rejects unhandled critical extensions in the leaf and in intermediates', async () => {
    const odd = new x509.Extension('1.2.3.4.5', true, new Uint8Array([0x05, 0x00]));
    const leaf = await makeCert({ uris: [ID], issuer: c.intermediate, extra: [odd] });
    const e = thrown(() => verifyX509Svid([leaf.cert, c.intermediate.cert], bundle));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_UNHANDLED_CRITICAL_EXTENSION', 0]);
    const inter = await makeCert({ ca: true, issuer: c.root, extra: [odd] });
    const leaf2 = await makeCert({ uris: [ID], issuer: inter });
    expect(thrown(() => verifyX509Svid([leaf2.cert, inter.cert], bundle)).code).toBe(
      'ERR_WID_X509_UNHANDLED_CRITICAL_EXTENSION',
    );
    const nonCritical = await makeCert({
      uris: [ID],
      issuer: c.intermediate,
      extra: [new x509.Extension('1.2.3.4.5', false, new Uint8Array([5, 0]))],
    });
    expect(verifyX509Svid([nonCritical.cert, c.intermediate.cert], bundle).id.toString()).toBe(ID);
  });

  it('applies URI and DNS name constraints of the CAs to the leaf', async () => {
    const constrained = await makeCert({
      ca: true,
      issuer: c.root,
      extra: [nameConstraints(['example.org'], ['bad.example.org'])],
    });
    const ok = await makeCert({ uris: [ID], dns: ['good.example.org'], issuer: constrained });
    expect(verifyX509Svid([ok.cert, constrained.cert], bundle).id.toString()).toBe(ID);
    expect(opensslVerify([ok.cert, constrained.cert], [c.root.cert]).status).toBe(0);

    const excluded = await makeCert({ uris: [ID], dns: ['bad.example.org'], issuer: constrained });
    expect(thrown(() => verifyX509Svid([excluded.cert, constrained.cert], bundle)).code).toBe(
      'ERR_WID_X509_NAME_CONSTRAINT',
    );
    expect(opensslVerify([excluded.cert, constrained.cert], [c.root.cert]).status).not.toBe(0);

    const foreign = await makeChain('spiffe://other.org/x');
    const inOther = await makeCert({ uris: ['spiffe://other.org/x'], issuer: constrained });
    const otherBundle = X509Bundle.fromX509Authorities('other.org', [c.root.cert, foreign.root.cert]);
    expect(thrown(() => verifyX509Svid([inOther.cert, constrained.cert], otherBundle)).code).toBe(
      'ERR_WID_X509_NAME_CONSTRAINT',
    );
  });

  it('turns a bundle source that throws into ERR_WID_X509_NO_BUNDLE', () => {
    const source: X509BundleSource = {
      getX509BundleForTrustDomain: () => {
        throw new Error('cache not ready');
      },
    };
    const e = thrown(() => verifyX509Svid([c.leaf.cert, c.intermediate.cert], source));
    expect(e.code).toBe('ERR_WID_X509_NO_BUNDLE');
    expect(e.message).toContain('cache not ready');
  });

  it('verifies against a bundle that also holds other roots (rotation overlap)', async () => {
    const otherRoot = await makeCert({ ca: true, name: 'CN=root' });
    const both = X509Bundle.fromX509Authorities(TD, [otherRoot.cert, c.root.cert]);
    expect(verifyX509Svid([c.leaf.cert, c.intermediate.cert], both).verifiedChains[0]![2]!.raw).toEqual(
      c.root.cert.raw,
    );
  });

  it('verifies what the certificate authority issues, and a CA is itself a bundle source', () => {
    const ca = createCertificateAuthority({ trustDomain: 'example.org' });
    const issued = ca.issueX509Svid({ spiffeId: ID });
    expect(verifyX509Svid(issued.certificates, ca).id.toString()).toBe(ID);
    const other = createCertificateAuthority({ trustDomain: 'example.org' });
    expect(thrown(() => verifyX509Svid(issued.certificates, other)).code).toBe('ERR_WID_X509_BAD_SIGNATURE');
  });
});

describe('parseAndVerifyX509Svid', () => {
  it('takes one DER buffer per certificate, concatenated DER, or PEM', async () => {
    const c = await makeChain(ID);
    const bundle = X509Bundle.fromX509Authorities(TD, [c.root.cert]);
    expect(parseAndVerifyX509Svid([c.leaf.cert.raw, c.intermediate.cert.raw], bundle).id.toString()).toBe(ID);
    expect(
      parseAndVerifyX509Svid(Buffer.concat([c.leaf.cert.raw, c.intermediate.cert.raw]), bundle).id.toString(),
    ).toBe(ID);
    expect(parseAndVerifyX509Svid(pem(c.leaf.cert, c.intermediate.cert), bundle).id.toString()).toBe(ID);
    const e = thrown(() => parseAndVerifyX509Svid([c.leaf.cert.raw, Buffer.from([1, 2, 3])], bundle));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_BAD_CERTIFICATE', 0]);
    const two = thrown(() => parseAndVerifyX509Svid([Buffer.concat([c.leaf.cert.raw, c.leaf.cert.raw])], bundle));
    expect([two.code, two.index]).toEqual(['ERR_WID_X509_BAD_CERTIFICATE', 0]);
  });
});
