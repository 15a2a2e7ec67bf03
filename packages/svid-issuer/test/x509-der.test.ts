import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, SvidIssuerError, X509Bundle, X509Svid } from '../src/index.js';
import { Asn1Error, decodeBitString, decodeTime, readTlv } from '../src/internal/x509-asn1.js';
import { parseCertDer } from '../src/internal/x509-cert-info.js';
import { derLength, derTime, oid, smallInt, tlv, uintFromBytes } from '../src/internal/x509-der.js';
import { keyUsageValue } from '../src/internal/x509-template.js';
import { makeChain } from './x509-helpers.js';

describe('DER writer', () => {
  it('encodes lengths in short and long form', () => {
    expect(derLength(0x7f)).toEqual(Buffer.of(0x7f));
    expect(derLength(0x80)).toEqual(Buffer.of(0x81, 0x80));
    expect(derLength(0x1234)).toEqual(Buffer.of(0x82, 0x12, 0x34));
    expect(tlv(0x04, Buffer.alloc(300)).subarray(0, 4)).toEqual(Buffer.of(0x04, 0x82, 0x01, 0x2c));
  });

  it('encodes OIDs and integers minimally', () => {
    expect(oid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(oid('2.5.29.17').toString('hex')).toBe('0603551d11');
    expect(uintFromBytes(Buffer.of(0x00, 0x00, 0x7f)).toString('hex')).toBe('02017f');
    expect(uintFromBytes(Buffer.of(0x80)).toString('hex')).toBe('02020080');
    expect(uintFromBytes(Buffer.of(0, 0)).toString('hex')).toBe('020100');
    expect(smallInt(256).toString('hex')).toBe('02020100');
  });

  it('uses UTCTime through 2049 and GeneralizedTime from 2050, round-tripping through the reader', () => {
    const utc = derTime(Date.UTC(2049, 11, 31, 23, 59, 59, 999));
    expect(utc[0]).toBe(0x17);
    expect(utc.subarray(2).toString('latin1')).toBe('491231235959Z');
    const gen = derTime(Date.UTC(2050, 0, 1));
    expect(gen[0]).toBe(0x18);
    expect(gen.subarray(2).toString('latin1')).toBe('20500101000000Z');
    for (const t of [
      Date.UTC(1999, 5, 6, 7, 8, 9),
      Date.UTC(2049, 0, 1),
      Date.UTC(2050, 0, 1),
      Date.UTC(2100, 1, 28),
    ]) {
      const enc = derTime(t);
      expect(decodeTime(enc, readTlv(enc, 0))).toBe(t);
    }
  });

  it('encodes keyUsage bit strings with trailing zero bits trimmed', () => {
    expect(keyUsageValue(1 << 0).toString('hex')).toBe('03020780'); // digitalSignature
    expect(keyUsageValue((1 << 0) | (1 << 2)).toString('hex')).toBe('030205a0'); // + keyEncipherment
    expect(keyUsageValue((1 << 5) | (1 << 6)).toString('hex')).toBe('03020106'); // keyCertSign + cRLSign
  });
});

describe('DER reader robustness', () => {
  it('rejects indefinite and non-minimal lengths and truncation', () => {
    expect(() => readTlv(Buffer.of(0x30, 0x80, 0, 0), 0)).toThrow(/indefinite/);
    expect(() => readTlv(Buffer.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0)).toThrow(/non-minimal/);
    expect(() => readTlv(Buffer.of(0x04, 0x05, 1), 0)).toThrow(/overruns/);
    expect(() => readTlv(Buffer.of(0x1f, 0x01, 0), 0)).toThrow(/multi-byte tag/);
  });

  it('never throws anything but a coded SvidIssuerError on mutated certificates', async () => {
    const { leaf, intermediate, leafKey } = await makeChain();
    const ca = createCertificateAuthority({ trustDomain: 'example.org' });
    const ours = Buffer.from(ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a' }).certificatesDer[0]!);
    const keyDer = leafKey.export({ type: 'pkcs8', format: 'der' });
    const seeds = [Buffer.from(leaf.cert.raw), Buffer.from(intermediate.cert.raw), ours];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (which, edits, cut) => {
          const der = Buffer.from(seeds[which]!);
          for (const [pos, byte] of edits) der[pos % der.length] = byte;
          const input = cut === undefined ? der : der.subarray(0, cut % der.length);
          for (const attempt of [
            () => parseCertDer(input),
            () => X509Bundle.parse('example.org', input),
            () => X509Svid.parseRaw(input, keyDer),
          ]) {
            try {
              attempt();
            } catch (e) {
              if (!(e instanceof SvidIssuerError)) throw e;
              expect(e.code).toMatch(/^ERR_WID_/);
            }
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('never throws anything but a coded error on random bytes as a CSR or SPKI', () => {
    const ca = createCertificateAuthority({ trustDomain: 'example.org' });
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(1 + (i % 120));
      if (i % 2 === 0) bytes[0] = 0x30;
      for (const request of [{ csr: bytes }, { publicKey: bytes }]) {
        try {
          ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', ...request });
          throw new Error('random bytes were accepted');
        } catch (e) {
          expect(e).toBeInstanceOf(SvidIssuerError);
        }
      }
    }
  });
});

describe('BIT STRING padding (DER, X.690 §11.2.1)', () => {
  it('rejects non-zero unused bits, so a padding bit is never read as keyCertSign', () => {
    const good = Buffer.from('03020780', 'hex');
    expect(decodeBitString(good, readTlv(good, 0)).unused).toBe(7);
    const bad = Buffer.from('03020384', 'hex'); // digitalSignature + a set padding bit in keyCertSign's place
    expect(() => decodeBitString(bad, readTlv(bad, 0))).toThrow(Asn1Error);
    const ca = createCertificateAuthority({ trustDomain: 'example.org' });
    const der = Buffer.from(ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w' }).certificatesDer[0]!);
    const ku = Buffer.from('0603551d0f0101ff040403020780', 'hex');
    const at = der.indexOf(ku);
    expect(at).toBeGreaterThan(0);
    expect(parseCertDer(der).keyUsage).toBe(1);
    Buffer.from('0384', 'hex').copy(der, at + ku.length - 2);
    let error: unknown;
    try {
      parseCertDer(der);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SvidIssuerError);
    expect((error as SvidIssuerError).code).toBe('ERR_WID_X509_BAD_CERTIFICATE');
    expect((error as SvidIssuerError).message).toContain('unused bits');
  });
});
