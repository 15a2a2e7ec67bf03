import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, isKeyType, KEY_TYPES, keyTypeOf } from '../src/index.js';
import { generateSvidKey, keyIdentifier } from '../src/internal/x509-keys.js';
import { openssl } from './x509-helpers.js';

describe('key types', () => {
  it('lists the supported key types', () => {
    expect(KEY_TYPES).toEqual(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']);
    expect(isKeyType('ec-p256')).toBe(true);
    expect(isKeyType('ec-p521')).toBe(false);
    expect(isKeyType(undefined)).toBe(false);
  });

  it.each(['ec-p256', 'ec-p384', 'rsa-2048'] as const)(
    'generateKeyPair(%s) returns a matching pair of that type',
    (t) => {
      const { privateKey, publicKey } = generateKeyPair(t);
      expect([keyTypeOf(privateKey), keyTypeOf(publicKey)]).toEqual([t, t]);
      expect(createPublicKey(privateKey).equals(publicKey)).toBe(true);
      expect(publicKey.export({ format: 'jwk' }).kty).toBe(t.startsWith('ec') ? 'EC' : 'RSA');
    },
  );

  it('keyTypeOf answers undefined for unsupported keys', () => {
    expect(keyTypeOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync('ed25519').publicKey)).toBeUndefined();
    expect(keyTypeOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toBeUndefined();
  });
});

describe('CA-generated SVID keys (hand-built PKCS#8)', () => {
  it.each(['ec-p256', 'ec-p384', 'rsa-2048'] as const)(
    '%s: PKCS#8 parses (OpenSSL and Node), and matches the SPKI',
    (t) => {
      for (let i = 0; i < (t === 'rsa-2048' ? 1 : 50); i++) {
        const k = generateSvidKey(t);
        const priv = createPrivateKey({ key: k.pkcs8, format: 'der', type: 'pkcs8' });
        expect(keyTypeOf(priv)).toBe(t);
        expect(createPublicKey(priv).export({ type: 'spki', format: 'der' })).toEqual(k.spki);
        expect(createPublicKey(k.toKeyObject()).export({ type: 'spki', format: 'der' })).toEqual(k.spki);
        if (i === 0) {
          const r = openssl(
            ['pkey', '-inform', 'DER', '-in', '{k.der}', '-pubout', '-outform', 'DER', '-out', '{pub.der}'],
            {
              'k.der': k.pkcs8,
            },
          );
          expect(r.status).toBe(0);
        }
      }
    },
  );

  it('computes the RFC 5280 method-1 key identifier', () => {
    const k = generateSvidKey('ec-p256');
    const point = k.spki.subarray(k.spki.length - 65);
    expect(keyIdentifier(k.spki)).toEqual(createHash('sha1').update(point).digest());
  });
});
