import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { SpiffeId } from '@wid/spiffe-id';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  generateKeyPair,
  type KeyType,
  keyTypeOf,
  verifyX509Svid,
  X509Svid,
} from '../src/index.js';
import { certInfo } from '../src/internal/x509-cert-info.js';
import { EC_P256, ecKeys, openssl, pem, x509 } from './x509-helpers.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const fixedClock = (d: Date = T0) => ({ now: () => d });
const TD = 'example.org';

/** Runs `fn` and returns the error it throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error & { code?: string; [k: string]: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; [k: string]: unknown };
  }
  throw new Error('expected an error');
}

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const SIG_ALG: Record<KeyType, string> = {
  'ec-p256': 'ecdsa-with-SHA256',
  'ec-p384': 'ecdsa-with-SHA384',
  'rsa-2048': 'sha256WithRSAEncryption',
  'rsa-3072': 'sha256WithRSAEncryption',
  'rsa-4096': 'sha256WithRSAEncryption',
};

describe('CertificateAuthority.issueX509Svid — every key type, cross-checked with OpenSSL and @peculiar/x509', () => {
  const keyTypes: KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'];
  // RSA key generation is slow: one CA and one workload key pair per type, generated once for the whole file.
  const fixtures = new Map<
    KeyType,
    { ca: CertificateAuthority; workload: { privateKey: KeyObject; publicKey: KeyObject } }
  >();
  beforeAll(() => {
    for (const keyType of keyTypes) {
      fixtures.set(keyType, {
        ca: createCertificateAuthority({ trustDomain: TD, keyType, clock: { now: () => new Date() } }),
        workload: generateKeyPair(keyType),
      });
    }
  }, 120_000);

  it.each(keyTypes)('issues a valid X.509-SVID with a %s CA and workload key', async (keyType) => {
    const { ca, workload } = fixtures.get(keyType)!;
    const issued = ca.issueX509Svid({
      spiffeId: 'spiffe://example.org/ns/default/sa/web',
      publicKey: workload.publicKey,
      dnsSans: ['web.default.svc'],
    });
    expect(issued.certificatesDer).toHaveLength(1);
    const leaf = issued.certificates[0]!;
    expect(keyTypeOf(leaf.publicKey)).toBe(keyType);

    const text = openssl(['x509', '-in', '{leaf.pem}', '-text', '-noout'], { 'leaf.pem': issued.marshal() });
    expect(text.status).toBe(0);
    expect(text.out).toContain(`Signature Algorithm: ${SIG_ALG[keyType]}`);
    expect(text.out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    const ku = keyType.startsWith('rsa') ? 'Digital Signature, Key Encipherment' : 'Digital Signature';
    expect(text.out).toMatch(new RegExp(`X509v3 Key Usage: critical\\s+${ku}\\n`));
    expect(text.out).toMatch(
      /Extended Key Usage: \s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(text.out).toMatch(
      /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/example.org\/ns\/default\/sa\/web, DNS:web.default.svc/,
    );
    expect(text.out).toContain('X509v3 Subject Key Identifier');
    expect(text.out).toContain('X509v3 Authority Key Identifier');
    expect(text.out).toMatch(/Subject: *\n/);

    const verified = openssl(['verify', '-CAfile', '{ca.pem}', '{leaf.pem}'], {
      'ca.pem': ca.x509Bundle().marshal(),
      'leaf.pem': issued.marshal(),
    });
    expect(verified.out.trim()).toMatch(/leaf\.pem: OK$/);
    expect(verified.status).toBe(0);

    // Independent parser: @peculiar/x509 reads the same fields and checks the signature with the CA's key.
    const pec = new x509.X509Certificate(issued.certificatesDer[0]!);
    const caPec = new x509.X509Certificate(ca.x509Bundle().x509Authorities()[0]!.raw);
    expect(await pec.verify({ publicKey: caPec, signatureOnly: true })).toBe(true);
    const bc = pec.getExtension(x509.BasicConstraintsExtension)!;
    expect([bc.ca, bc.critical]).toEqual([false, true]);
    const kuExt = pec.getExtension(x509.KeyUsagesExtension)!;
    expect(kuExt.critical).toBe(true);
    expect(kuExt.usages & x509.KeyUsageFlags.digitalSignature).toBeTruthy();
    expect(kuExt.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)).toBe(0);
    const eku = pec.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    const san = pec.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.critical).toBe(true);
    expect(san.names.items.map((n) => [n.type, n.value])).toEqual([
      ['url', 'spiffe://example.org/ns/default/sa/web'],
      ['dns', 'web.default.svc'],
    ]);
    const ski = pec.getExtension(x509.SubjectKeyIdentifierExtension)!;
    const expectedSki = await x509.SubjectKeyIdentifierExtension.create(pec.publicKey);
    expect(ski.keyId).toBe(expectedSki.keyId);
    const aki = pec.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(caPec.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    expect(pec.subject).toBe('');

    expect(verifyX509Svid(issued.certificates, ca).id.toString()).toBe('spiffe://example.org/ns/default/sa/web');
    expect(issued.toX509Svid(workload.privateKey).id.toString()).toBe('spiffe://example.org/ns/default/sa/web');
  });

  it.each(keyTypes)('signs a CA certificate (%s) that OpenSSL accepts as a CA', (keyType) => {
    const { ca } = fixtures.get(keyType)!;
    const text = openssl(['x509', '-in', '{ca.pem}', '-text', '-noout'], { 'ca.pem': ca.x509Bundle().marshal() });
    expect(text.out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(text.out).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text.out).toContain('URI:spiffe://example.org\n');
    expect(text.out).toContain('Subject: C = US, O = SPIFFE');
    const selfVerify = openssl(['verify', '-CAfile', '{ca.pem}', '{ca.pem}'], { 'ca.pem': ca.x509Bundle().marshal() });
    expect(selfVerify.status).toBe(0);
  });

  it.each(keyTypes)(
    'generates a %s key when the request carries none, with PKCS#8 that matches the leaf',
    (keyType) => {
      if (keyType === 'rsa-4096' || keyType === 'rsa-3072') return; // RSA generation is covered by rsa-2048.
      const ca = createCertificateAuthority({ trustDomain: TD, svidKeyType: keyType, clock: fixedClock() });
      const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/gen' });
      const der = issued.privateKeyDer!;
      const fromDer = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
      expect(keyTypeOf(fromDer)).toBe(keyType);
      expect(createPublicKey(fromDer).equals(issued.certificates[0]!.publicKey)).toBe(true);
      expect(createPublicKey(issued.privateKey!).equals(issued.certificates[0]!.publicKey)).toBe(true);
      const keyText = openssl(['pkey', '-inform', 'DER', '-in', '{k.der}', '-noout', '-check'], { 'k.der': der });
      if (!keyType.startsWith('rsa')) expect(keyText.out).toContain('valid');
      expect(keyText.status).toBe(0);
      const svid = issued.toX509Svid();
      expect(X509Svid.parseRaw(svid.marshalRaw().certificates, svid.marshalRaw().privateKey).id.equals(svid.id)).toBe(
        true,
      );
    },
  );
});

describe('CertificateAuthority.issueX509Svid — template details', () => {
  const ca = createCertificateAuthority({ trustDomain: TD, clock: fixedClock() });

  it('back-dates notBefore by one minute and sets notAfter = now + ttl, to the second', () => {
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', ttlSeconds: 600 });
    expect(issued.notBefore.toISOString()).toBe('2029-12-31T23:59:00.000Z');
    expect(issued.notAfter.toISOString()).toBe('2030-01-01T00:10:00.000Z');
    expect(issued.clamped).toBe(false);
    const info = certInfo(issued.certificates[0]!);
    expect(new Date(info.notBefore).toISOString()).toBe('2029-12-31T23:59:00.000Z');
    expect(new Date(info.notAfter).toISOString()).toBe('2030-01-01T00:10:00.000Z');
  });

  it('uses a random positive serial of 128 bits', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = certInfo(ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a' }).certificates[0]!).serial;
      expect(s[0]! & 0x80).toBe(0);
      expect(s.length).toBeLessThanOrEqual(17);
      if (s.length === 17) expect(s[0]).toBe(0);
      serials.add(Buffer.from(s).toString('hex'));
    }
    expect(serials.size).toBe(200);
  });

  it('puts a given subject in the certificate and then leaves the SAN non-critical', () => {
    const issued = ca.issueX509Svid({
      spiffeId: 'spiffe://example.org/a',
      subject: { country: 'DE', organization: 'Acme', commonName: 'web' },
    });
    const text = openssl(['x509', '-in', '{l.pem}', '-text', '-noout'], { 'l.pem': issued.marshal() });
    expect(text.out).toContain('Subject: C = DE, O = Acme, CN = web');
    expect(text.out).toMatch(/X509v3 Subject Alternative Name: \n/);
    expect(certInfo(issued.certificates[0]!).san?.critical).toBe(false);
  });

  it('carries the hint and the signing authority id', () => {
    const issued = ca.issueX509Svid({ spiffeId: SpiffeId.parse('spiffe://example.org/a'), hint: 'web' });
    expect(issued.hint).toBe('web');
    expect(issued.authorityId).toBe(ca.x509Authorities()[0]!.id);
    expect(issued.toX509Svid().hint).toBe('web');
    expect(Object.isFrozen(issued)).toBe(true);
  });

  it('accepts SPKI DER for EC and RSA keys and rejects points off the curve', () => {
    const point = createECDH('prime256v1').generateKeys();
    const prefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
    const spki = Buffer.concat([prefix, point]);
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey: spki });
    expect(issued.certificates[0]!.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki);
    const rsa = generateKeyPair('rsa-2048').publicKey.export({ type: 'spki', format: 'der' });
    expect(
      keyTypeOf(ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey: rsa }).certificates[0]!.publicKey),
    ).toBe('rsa-2048');
    const offCurve = Buffer.from(spki);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(thrown(() => ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey: offCurve })).code).toBe(
      'ERR_WID_X509_BAD_PUBLIC_KEY',
    );
  });

  it('re-encodes compressed EC points as uncompressed and rejects hybrid ones (RFC 5480 §2.2)', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const uncompressed = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
      ecdh.getPublicKey(),
    ]);
    const compressed = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      ecdh.getPublicKey(null, 'compressed'),
    ]);
    const hybrid = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
      ecdh.getPublicKey(null, 'hybrid'),
    ]);
    for (const publicKey of [compressed, createPublicKey({ key: compressed, format: 'der', type: 'spki' })]) {
      const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey });
      expect(Buffer.from(certInfo(issued.certificates[0]!).spkiDer)).toEqual(uncompressed);
    }
    for (const publicKey of [hybrid, createPublicKey({ key: hybrid, format: 'der', type: 'spki' })]) {
      const e = thrown(() => ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', publicKey }));
      expect(e.code).toBe('ERR_WID_X509_BAD_PUBLIC_KEY');
      expect(e.message).toContain('hybrid');
    }
  });

  it.each([
    ['an invalid SPIFFE ID', { spiffeId: 'spiffe://example.org/a//b' }, 'ERR_WID_SPIFFE_ID_EMPTY_SEGMENT'],
    ['another trust domain', { spiffeId: 'spiffe://other.org/a' }, 'ERR_WID_CA_WRONG_TRUST_DOMAIN'],
    ['a root-path ID', { spiffeId: 'spiffe://example.org' }, 'ERR_WID_X509_ROOT_PATH_ID'],
    ['ttlSeconds 0', { spiffeId: 'spiffe://example.org/a', ttlSeconds: 0 }, 'ERR_WID_CA_BAD_REQUEST'],
    ['a fractional ttl', { spiffeId: 'spiffe://example.org/a', ttlSeconds: 1.5 }, 'ERR_WID_CA_BAD_REQUEST'],
    ['a bad DNS SAN', { spiffeId: 'spiffe://example.org/a', dnsSans: ['bad name'] }, 'ERR_WID_CA_BAD_REQUEST'],
    [
      'a bad subject',
      { spiffeId: 'spiffe://example.org/a', subject: { country: 'Germany' } },
      'ERR_WID_CA_BAD_REQUEST',
    ],
    [
      'an unknown subject attribute',
      { spiffeId: 'spiffe://example.org/a', subject: { email: 'x' } },
      'ERR_WID_CA_BAD_REQUEST',
    ],
    [
      'garbage SPKI',
      { spiffeId: 'spiffe://example.org/a', publicKey: Buffer.from('nope') },
      'ERR_WID_X509_BAD_PUBLIC_KEY',
    ],
    ['a non-key publicKey', { spiffeId: 'spiffe://example.org/a', publicKey: 'pem?' }, 'ERR_WID_X509_BAD_PUBLIC_KEY'],
    [
      'a private KeyObject',
      { spiffeId: 'spiffe://example.org/a', publicKey: generateKeyPair('ec-p256').privateKey },
      'ERR_WID_X509_BAD_PUBLIC_KEY',
    ],
    [
      'an Ed25519 key',
      { spiffeId: 'spiffe://example.org/a', publicKey: generateKeyPairSync('ed25519').publicKey },
      'ERR_WID_X509_UNSUPPORTED_KEY',
    ],
    [
      'a P-521 key',
      { spiffeId: 'spiffe://example.org/a', publicKey: generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey },
      'ERR_WID_X509_UNSUPPORTED_KEY',
    ],
    [
      'RSA 1024',
      { spiffeId: 'spiffe://example.org/a', publicKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey },
      'ERR_WID_X509_UNSUPPORTED_KEY',
    ],
  ])('rejects %s', (_label, request, code) => {
    const e = thrown(() => ca.issueX509Svid(request as never));
    expect(e.code).toBe(code);
  });

  it('rejects a request with both publicKey and csr', async () => {
    const keys = await ecKeys();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: EC_P256 });
    const e = thrown(() =>
      ca.issueX509Svid({
        spiffeId: 'spiffe://example.org/a',
        publicKey: generateKeyPair('ec-p256').publicKey,
        csr: csr.toString('pem'),
      }),
    );
    expect([e.code, e['input']]).toEqual(['ERR_WID_CA_BAD_REQUEST', 'publicKey']);
  });
});

describe('CertificateAuthority.issueX509Svid — PKCS#10 CSRs', () => {
  const ca = createCertificateAuthority({ trustDomain: TD, clock: { now: () => new Date() } });

  it('issues from a PEM CSR built by @peculiar/x509, ignoring the names the CSR asks for', async () => {
    const keys = await ecKeys();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=attacker',
      keys,
      signingAlgorithm: EC_P256,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://example.org/admin' }])],
    });
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', csr: csr.toString('pem') });
    const leaf = issued.certificates[0]!;
    expect(leaf.subjectAltName).toBe('URI:spiffe://example.org/web');
    expect(leaf.subject ?? '').toBe('');
    const spki = Buffer.from(await (await import('node:crypto')).webcrypto.subtle.exportKey('spki', keys.publicKey));
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki);
  });

  it('issues from a DER RSA CSR made by OpenSSL', () => {
    const key = generateKeyPair('rsa-2048');
    const made = openssl(['req', '-new', '-key', '{k.pem}', '-subj', '/CN=w', '-outform', 'PEM'], {
      'k.pem': key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    expect(made.status).toBe(0);
    const pemCsr = made.out.slice(made.out.indexOf('-----BEGIN'));
    const der = Buffer.from(pemCsr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/rsa', csr: der });
    expect(issued.certificates[0]!.publicKey.equals(key.publicKey)).toBe(true);
    expect(keyTypeOf(issued.certificates[0]!.publicKey)).toBe('rsa-2048');
  });

  it('rejects a CSR whose self-signature does not verify (tampered subject)', async () => {
    const keys = await ecKeys();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=aaaa',
      keys,
      signingAlgorithm: EC_P256,
    });
    const der = Buffer.from(csr.rawData);
    const at = der.indexOf(Buffer.from('aaaa'));
    der[at] = 'b'.charCodeAt(0);
    const e = thrown(() => ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', csr: der }));
    expect(e.code).toBe('ERR_WID_X509_CSR_SIGNATURE');
  });

  it('rejects a CSR signed by a different key than the one it carries', async () => {
    const keys = await ecKeys();
    const other = await ecKeys();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys: { publicKey: keys.publicKey, privateKey: other.privateKey },
      signingAlgorithm: EC_P256,
    });
    expect(
      thrown(() => ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', csr: Buffer.from(csr.rawData) })).code,
    ).toBe('ERR_WID_X509_CSR_SIGNATURE');
  });

  it.each([
    ['garbage bytes', new Uint8Array([1, 2, 3, 4])],
    ['a truncated CSR', 'truncated'],
    ['PEM of the wrong type', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    ['text without PEM', 'hello'],
  ])('rejects %s', async (_label, input) => {
    let csr: Uint8Array | string = input;
    if (input === 'truncated') {
      const keys = await ecKeys();
      const c = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: EC_P256 });
      csr = Buffer.from(c.rawData).subarray(0, 60);
    }
    const e = thrown(() => ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', csr }));
    expect(['ERR_WID_X509_BAD_CSR', 'ERR_WID_X509_BAD_PEM']).toContain(e.code);
    expect(e.code).toBe(
      typeof input === 'string' && input !== 'truncated' ? 'ERR_WID_X509_BAD_PEM' : 'ERR_WID_X509_BAD_CSR',
    );
  });
});

describe('CertificateAuthority.issueX509Svid — clamping to the CA expiry', () => {
  it('cuts notAfter to the CA notAfter, says so in the result, and logs a warning', () => {
    const { lines, logger } = recordingLogger();
    let now = T0;
    const ca = createCertificateAuthority({
      trustDomain: TD,
      caTtlSeconds: 7200,
      clock: { now: () => now },
      logger,
      // Keep the CA from rotating before the clamp point, so the clamp is what we observe.
      rotation: { prepareAt: 0.98, activateAt: 0.99 },
    });
    const caNotAfter = ca.x509Authorities()[0]!.notAfter;
    expect(caNotAfter.toISOString()).toBe('2030-01-01T02:00:00.000Z');
    now = new Date(T0.getTime() + 3600_000);
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', ttlSeconds: 7200 });
    expect(issued.clamped).toBe(true);
    expect(issued.notAfter.toISOString()).toBe(caNotAfter.toISOString());
    expect(new Date(certInfo(issued.certificates[0]!).notAfter).toISOString()).toBe(caNotAfter.toISOString());
    const warn = lines.find((l) => l.level === 'warn' && l.msg?.includes('clamped'));
    expect(warn?.obj).toMatchObject({
      spiffeId: 'spiffe://example.org/a',
      requestedTtlSeconds: 7200,
      notAfter: caNotAfter.toISOString(),
    });
    const ok = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', ttlSeconds: 600 });
    expect(ok.clamped).toBe(false);
    const attime = String(Math.floor(now.getTime() / 1000));
    const v = openssl(['verify', '-attime', attime, '-CAfile', '{ca.pem}', '{l.pem}'], {
      'ca.pem': ca.x509Bundle().marshal(),
      'l.pem': issued.marshal(),
    });
    expect(v.status).toBe(0);
  });
});

describe('CertificateAuthority X.509 chain with a CA the test built', () => {
  it('issued leaves verify with X509Certificate.verify against the bundle root', () => {
    const ca = createCertificateAuthority({ trustDomain: TD, clock: fixedClock() });
    const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a' });
    const root = new X509Certificate(ca.x509Bundle().marshalDer());
    expect(issued.certificates[0]!.verify(root.publicKey)).toBe(true);
    expect(issued.certificates[0]!.checkIssued(root)).toBe(true);
    expect(pem(...issued.certificates)).toBe(issued.marshal());
    expect(Buffer.from(issued.marshalRaw())).toEqual(issued.certificates[0]!.raw);
  });
});
