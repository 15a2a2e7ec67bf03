import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, X509Svid } from '../src/index.js';
import { makeCert, makeChain, pem, toKeyObject, x509 } from './x509-helpers.js';

function thrown(fn: () => unknown): Error & { code?: string; index?: number } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; index?: number };
  }
  throw new Error('expected an error');
}

const keyPem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
const KU = x509.KeyUsageFlags;

describe('X509Svid.parse', () => {
  let chain: Awaited<ReturnType<typeof makeChain>>;
  beforeAll(async () => {
    chain = await makeChain('spiffe://example.org/workload');
  });

  it('parses a leaf + intermediate chain and its PKCS#8 key', () => {
    const svid = X509Svid.parse(pem(chain.leaf.cert, chain.intermediate.cert), keyPem(chain.leafKey), { hint: 'db' });
    expect(svid.id.toString()).toBe('spiffe://example.org/workload');
    expect(svid.certificates).toHaveLength(2);
    expect(svid.leaf.raw).toEqual(chain.leaf.cert.raw);
    expect(svid.hint).toBe('db');
    expect(svid.getX509Svid()).toBe(svid);
    expect(Object.isFrozen(svid)).toBe(true);
    expect(svid.expiresAt.getTime()).toBe(new Date(chain.leaf.cert.validTo).getTime());
  });

  it('round-trips through marshal() and marshalRaw()', () => {
    const svid = X509Svid.parse(pem(chain.leaf.cert, chain.intermediate.cert), keyPem(chain.leafKey));
    const m = svid.marshal();
    expect(m.certificates).toBe(pem(chain.leaf.cert, chain.intermediate.cert));
    expect(X509Svid.parse(m.certificates, m.privateKey).id.equals(svid.id)).toBe(true);
    const raw = svid.marshalRaw();
    expect(Buffer.from(raw.certificates)).toEqual(Buffer.concat([chain.leaf.cert.raw, chain.intermediate.cert.raw]));
    const again = X509Svid.parseRaw(raw.certificates, raw.privateKey);
    expect(again.certificates.map((c) => c.fingerprint256)).toEqual(svid.certificates.map((c) => c.fingerprint256));
    expect(again.privateKey.equals(svid.privateKey)).toBe(true);
  });

  it('accepts what the CA issues', () => {
    const ca = createCertificateAuthority({ trustDomain: 'example.org' });
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a' });
    const svid = X509Svid.parseRaw(issued.marshalRaw(), issued.privateKeyDer!);
    expect(svid.id.toString()).toBe('spiffe://example.org/a');
  });

  // One row per rule of X509-SVID §5, in the order they are checked, each with a certificate that breaks only it.
  type Row = [label: string, code: string, build: () => Promise<{ certs: X509Certificate[]; key: KeyObject }>];
  const leafWith = async (spec: Parameters<typeof makeCert>[0]) => {
    const c = await makeChain('spiffe://example.org/w', spec);
    return { certs: [c.leaf.cert, c.intermediate.cert], key: c.leafKey };
  };
  const rows: Row[] = [
    ['no URI SAN', 'ERR_WID_X509_NO_URI_SAN', () => leafWith({ uris: [], dns: ['a.example.org'] })],
    [
      'two URI SANs',
      'ERR_WID_X509_MULTIPLE_URI_SANS',
      () => leafWith({ uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] }),
    ],
    [
      'a URI SAN that is not a SPIFFE ID',
      'ERR_WID_X509_BAD_SPIFFE_ID',
      () => leafWith({ uris: ['https://example.org/a'] }),
    ],
    ['an uppercase trust domain', 'ERR_WID_X509_BAD_SPIFFE_ID', () => leafWith({ uris: ['spiffe://Example.org/a'] })],
    ['a root-path SPIFFE ID', 'ERR_WID_X509_ROOT_PATH_ID', () => leafWith({ uris: ['spiffe://example.org'] })],
    ['cA=true on the leaf', 'ERR_WID_X509_LEAF_IS_CA', () => leafWith({ ca: true, keyUsage: KU.digitalSignature })],
    ['no digitalSignature', 'ERR_WID_X509_LEAF_NO_DIGITAL_SIGNATURE', () => leafWith({ keyUsage: KU.keyEncipherment })],
    ['no keyUsage at all', 'ERR_WID_X509_LEAF_NO_DIGITAL_SIGNATURE', () => leafWith({ keyUsage: 'absent' })],
    [
      'keyCertSign on the leaf',
      'ERR_WID_X509_LEAF_KEY_CERT_SIGN',
      () => leafWith({ keyUsage: KU.digitalSignature | KU.keyCertSign }),
    ],
    [
      'cRLSign on the leaf',
      'ERR_WID_X509_LEAF_CRL_SIGN',
      () => leafWith({ keyUsage: KU.digitalSignature | KU.cRLSign }),
    ],
    [
      'an intermediate that is not a CA',
      'ERR_WID_X509_SIGNING_CERT_NOT_CA',
      async () => {
        const c = await makeChain();
        const notCa = await makeCert({ ca: false, keyUsage: KU.keyCertSign });
        return { certs: [c.leaf.cert, notCa.cert], key: c.leafKey };
      },
    ],
    [
      'an intermediate without basicConstraints',
      'ERR_WID_X509_SIGNING_CERT_NOT_CA',
      async () => {
        const c = await makeChain();
        const noBc = await makeCert({ ca: 'absent', keyUsage: KU.keyCertSign });
        return { certs: [c.leaf.cert, c.intermediate.cert, noBc.cert], key: c.leafKey };
      },
    ],
    [
      'an intermediate CA without keyCertSign',
      'ERR_WID_X509_SIGNING_CERT_NO_KEY_CERT_SIGN',
      async () => {
        const c = await makeChain();
        const noSign = await makeCert({ ca: true, keyUsage: KU.cRLSign });
        return { certs: [c.leaf.cert, noSign.cert], key: c.leafKey };
      },
    ],
    [
      'a private key that belongs to another certificate',
      'ERR_WID_X509_KEY_MISMATCH',
      async () => {
        const c = await makeChain();
        return { certs: [c.leaf.cert], key: await toKeyObject(c.intermediate.keys.privateKey) };
      },
    ],
    [
      'a key of another algorithm',
      'ERR_WID_X509_KEY_MISMATCH',
      async () => {
        const c = await makeChain();
        return { certs: [c.leaf.cert], key: generateKeyPairSync('ed25519').privateKey };
      },
    ],
  ];

  it.each(rows)('rejects %s', async (_label, code, build) => {
    const { certs, key } = await build();
    const viaPem = thrown(() => X509Svid.parse(pem(...certs), keyPem(key)));
    expect(viaPem.code).toBe(code);
    const viaRaw = thrown(() =>
      X509Svid.parseRaw(Buffer.concat(certs.map((c) => c.raw)), key.export({ type: 'pkcs8', format: 'der' })),
    );
    expect(viaRaw.code).toBe(code);
  });

  it('checks the rules in order: a CA certificate offered as a leaf fails on cA before its key usages', async () => {
    const ca = await makeCert({ ca: true, uris: ['spiffe://example.org/ca'] });
    const key = await toKeyObject(ca.keys.privateKey);
    const e = thrown(() => X509Svid.parse(pem(ca.cert), keyPem(key)));
    expect(e.code).toBe('ERR_WID_X509_LEAF_IS_CA');
  });

  it('reports the index of a bad intermediate', async () => {
    const c = await makeChain();
    const notCa = await makeCert({ ca: false });
    const e = thrown(() => X509Svid.parse(pem(c.leaf.cert, c.intermediate.cert, notCa.cert), keyPem(c.leafKey)));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_SIGNING_CERT_NOT_CA', 2]);
  });

  it.each([
    ['empty input', '', 'ERR_WID_X509_NO_CERTIFICATES'],
    ['text without PEM', 'not a certificate', 'ERR_WID_X509_BAD_PEM'],
    ['bad base64', '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n', 'ERR_WID_X509_BAD_PEM'],
    ['an unterminated block', '-----BEGIN CERTIFICATE-----\nAAAA\n', 'ERR_WID_X509_BAD_PEM'],
    [
      'a block of another type',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      'ERR_WID_X509_BAD_PEM',
    ],
    [
      'a block holding garbage DER',
      '-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n',
      'ERR_WID_X509_BAD_CERTIFICATE',
    ],
  ])('rejects certificates given as %s', (_label, certs, code) => {
    expect(thrown(() => X509Svid.parse(certs, keyPem(chain.leafKey))).code).toBe(code);
  });

  it.each([
    ['an EC PRIVATE KEY (SEC1) block', 'sec1', 'ERR_WID_X509_BAD_PEM'],
    ['no key', '', 'ERR_WID_X509_BAD_PRIVATE_KEY'],
    ['two keys', 'two', 'ERR_WID_X509_BAD_PRIVATE_KEY'],
    [
      'garbage in a PRIVATE KEY block',
      '-----BEGIN PRIVATE KEY-----\nAAECAwQ=\n-----END PRIVATE KEY-----\n',
      'ERR_WID_X509_BAD_PRIVATE_KEY',
    ],
  ])('rejects a private key given as %s', (_label, key, code) => {
    let text = key;
    if (key === 'sec1') text = chain.leafKey.export({ type: 'sec1', format: 'pem' }) as string;
    if (key === 'two') text = keyPem(chain.leafKey) + keyPem(chain.leafKey);
    expect(thrown(() => X509Svid.parse(pem(chain.leaf.cert), text)).code).toBe(code);
  });

  it('parseRaw rejects PEM input, garbage DER and an empty key', () => {
    const pemBytes = Buffer.from(pem(chain.leaf.cert));
    const der = chain.leafKey.export({ type: 'pkcs8', format: 'der' });
    expect(thrown(() => X509Svid.parseRaw(pemBytes, der)).code).toBe('ERR_WID_X509_BAD_CERTIFICATE');
    expect(thrown(() => X509Svid.parseRaw(Buffer.from([0x30, 0x03, 1, 2]), der)).code).toBe(
      'ERR_WID_X509_BAD_CERTIFICATE',
    );
    const trailing = Buffer.concat([chain.leaf.cert.raw, Buffer.from([0x30, 0x05])]);
    const e = thrown(() => X509Svid.parseRaw(trailing, der));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_BAD_CERTIFICATE', 1]);
    expect(thrown(() => X509Svid.parseRaw(chain.leaf.cert.raw, new Uint8Array())).code).toBe(
      'ERR_WID_X509_BAD_PRIVATE_KEY',
    );
    expect(thrown(() => X509Svid.parseRaw(new Uint8Array(), der)).code).toBe('ERR_WID_X509_NO_CERTIFICATES');
  });

  it('fromParts rejects a public key in place of the private key', () => {
    const e = thrown(() => X509Svid.fromParts([chain.leaf.cert], chain.leaf.cert.publicKey));
    expect(e.code).toBe('ERR_WID_X509_BAD_PRIVATE_KEY');
  });
});
