import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { type KeyFacts, keyFacts } from './internal/key-copy.js';

const isKeyObject = (v: unknown): v is KeyObject => v instanceof KeyObject;

/**
 * Key types wid generates and accepts for CA keys and SVID keys: EC P-256 (the default), EC P-384, and RSA with
 * 2048-, 3072- or 4096-bit moduli.
 *
 * @example
 * const ca = createCertificateAuthority({ trustDomain: 'example.org', keyType: 'ec-p384' });
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/**
 * Every supported key type, in order of preference.
 *
 * @example
 * KEY_TYPES.includes(configured) || fail();
 */
export const KEY_TYPES: readonly KeyType[] = Object.freeze(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']);

/**
 * True when `value` names a supported key type.
 *
 * @example
 * if (!isKeyType(config.key_type)) throw new Error(`bad key_type ${config.key_type}`);
 */
export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

/**
 * Generates a key pair of `keyType` with node:crypto (synchronously; RSA 4096 takes about a second).
 *
 * The keys are re-imported from their DER encodings rather than returned straight from `generateKeyPairSync`:
 * on Node 20, JWK-exporting a key whose generation job the GC is finalizing at that moment deadlocks the process,
 * and bundles JWK-export CA keys. Keys from this function are safe to export in any format.
 *
 * @example
 * const { privateKey, publicKey } = generateKeyPair('ec-p256');
 */
export function generateKeyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  const pub = { type: 'spki', format: 'der' } as const;
  const priv = { type: 'pkcs8', format: 'der' } as const;
  let pair: { publicKey: Buffer; privateKey: Buffer };
  if (keyType === 'ec-p256' || keyType === 'ec-p384') {
    const namedCurve = keyType === 'ec-p256' ? 'P-256' : 'P-384';
    pair = generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: pub, privateKeyEncoding: priv });
  } else if (keyType === 'rsa-2048' || keyType === 'rsa-3072' || keyType === 'rsa-4096') {
    const modulusLength = Number(keyType.slice(4));
    pair = generateKeyPairSync('rsa', { modulusLength, publicKeyEncoding: pub, privateKeyEncoding: priv });
  } else {
    throw new TypeError(`unsupported key type ${String(keyType)}`);
  }
  return {
    privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }),
  };
}

/**
 * The key type of a public or private key, or `undefined` when it is not one wid supports.
 *
 * Safe on any KeyObject, including one straight out of `generateKeyPairSync`/`generateKeyPair`. On Node 20, reading
 * `asymmetricKeyDetails` (or JWK-exporting) such a key can deadlock the process for good when a GC finalizes its
 * key-generation job at that moment (both take the key's mutex). So this function never reads the caller's
 * object: it inspects a copy re-imported from the key's SPKI/PKCS#8 DER (cached per object). Code that inspects
 * fresh keys itself should do the same, or generate with `publicKeyEncoding`/`privateKeyEncoding` (as
 * {@link generateKeyPair} does).
 *
 * @example
 * keyTypeOf(generateKeyPair('rsa-3072').publicKey); // 'rsa-3072'
 */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  if (!isKeyObject(key) || key.type === 'secret') return undefined;
  return keyTypeOfFacts(keyFacts(key));
}

/** The key type from facts read off a safe copy (see src/internal/key-copy.ts). */
export function keyTypeOfFacts(f: KeyFacts): KeyType | undefined {
  if (f.asymmetricKeyType === 'ec') {
    if (f.namedCurve === 'prime256v1') return 'ec-p256';
    if (f.namedCurve === 'secp384r1') return 'ec-p384';
    return undefined;
  }
  if (f.asymmetricKeyType === 'rsa') {
    const bits = f.modulusLength;
    if (bits === 2048) return 'rsa-2048';
    if (bits === 3072) return 'rsa-3072';
    if (bits === 4096) return 'rsa-4096';
  }
  return undefined;
}
