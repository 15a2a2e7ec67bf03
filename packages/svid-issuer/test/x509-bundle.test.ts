import { TrustDomain } from '@wid/spiffe-id';
import { beforeAll, describe, expect, it } from 'vitest';
import { X509Bundle } from '../src/index.js';
import { type Built, makeCert, openssl, pem } from './x509-helpers.js';

function thrown(fn: () => unknown): Error & { code?: string; index?: number } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; index?: number };
  }
  throw new Error('expected an error');
}

const TD = TrustDomain.parse('example.org');

describe('X509Bundle', () => {
  let a: Built;
  let b: Built;
  beforeAll(async () => {
    a = await makeCert({ ca: true, name: 'CN=a' });
    b = await makeCert({ ca: true, name: 'CN=b' });
  });

  it('parses PEM text and marshals it back unchanged', () => {
    const text = pem(a.cert, b.cert);
    const bundle = X509Bundle.parse(TD, text);
    expect(bundle.trustDomain.equals(TD)).toBe(true);
    expect(bundle.x509Authorities().map((c) => c.subject)).toEqual(['CN=a', 'CN=b']);
    expect(bundle.marshal()).toBe(text);
    const out = openssl(['crl2pkcs7', '-nocrl', '-certfile', '{b.pem}'], { 'b.pem': bundle.marshal() });
    expect(out.status).toBe(0);
  });

  it('parses concatenated DER (the Workload API form) and marshals it back', () => {
    const der = Buffer.concat([a.cert.raw, b.cert.raw]);
    const bundle = X509Bundle.parse('example.org', der);
    expect(bundle.x509Authorities()).toHaveLength(2);
    expect(Buffer.from(bundle.marshalDer())).toEqual(der);
    expect(X509Bundle.parse(TD, Buffer.from(pem(a.cert))).x509Authorities()).toHaveLength(1);
  });

  it('treats empty input as an empty bundle', () => {
    expect(X509Bundle.parse(TD, '').x509Authorities()).toEqual([]);
    expect(X509Bundle.parse(TD, new Uint8Array()).x509Authorities()).toEqual([]);
    expect(X509Bundle.parse(TD, '').marshal()).toBe('');
  });

  it('drops duplicate authorities and compares by content', () => {
    const bundle = X509Bundle.fromX509Authorities(TD, [a.cert, a.cert, b.cert]);
    expect(bundle.x509Authorities()).toHaveLength(2);
    expect(bundle.hasX509Authority(b.cert)).toBe(true);
    expect(bundle.equals(X509Bundle.parse(TD, pem(a.cert, b.cert)))).toBe(true);
    expect(bundle.equals(X509Bundle.parse(TD, pem(b.cert, a.cert)))).toBe(false);
    expect(bundle.equals(X509Bundle.parse('other.org', pem(a.cert, b.cert)))).toBe(false);
    expect(bundle.equals(undefined)).toBe(false);
    expect(String(bundle)).toBe('X509Bundle(example.org, 2 authorities)');
  });

  it('is an X509BundleSource for its own trust domain only', () => {
    const bundle = X509Bundle.fromX509Authorities(TD, [a.cert]);
    expect(bundle.getX509BundleForTrustDomain(TrustDomain.parse('example.org'))).toBe(bundle);
    expect(bundle.getX509BundleForTrustDomain(TrustDomain.parse('other.org'))).toBeUndefined();
  });

  it('is immutable: x509Authorities() returns a copy', () => {
    const bundle = X509Bundle.fromX509Authorities(TD, [a.cert]);
    bundle.x509Authorities().push(b.cert);
    expect(bundle.x509Authorities()).toHaveLength(1);
    expect(Object.isFrozen(bundle)).toBe(true);
  });

  it.each([
    ['text without PEM blocks', 'garbage', 'ERR_WID_X509_BAD_PEM', undefined],
    [
      'a PRIVATE KEY block',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      'ERR_WID_X509_BAD_PEM',
      0,
    ],
    ['garbage DER bytes', new Uint8Array([0x30, 0x82, 0xff]), 'ERR_WID_X509_BAD_CERTIFICATE', 0],
    ['a non-SEQUENCE byte', new Uint8Array([0x05, 0x00]), 'ERR_WID_X509_BAD_CERTIFICATE', 0],
  ])('rejects %s with a coded error', (_label, input, code, index) => {
    const e = thrown(() => X509Bundle.parse(TD, input));
    expect(e.code).toBe(code);
    expect(e.index).toBe(index);
  });

  it('names the index of the bad certificate in concatenated DER', () => {
    const bad = Buffer.concat([a.cert.raw, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])]);
    const e = thrown(() => X509Bundle.parse(TD, bad));
    expect([e.code, e.index]).toEqual(['ERR_WID_X509_BAD_CERTIFICATE', 1]);
  });

  it('rejects an invalid trust domain name with the SPIFFE ID error', () => {
    expect(thrown(() => X509Bundle.parse('Example.org', '')).code).toBe('ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR');
  });
});
