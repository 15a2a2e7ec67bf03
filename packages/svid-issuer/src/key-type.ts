import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Key types wid generates and accepts for CA keys and SVID keys: EC P-256 (the default), EC P-384, and RSA with
 * 2048-, 3072- or 4096-bit moduli.
 *
 * @example
 * const ca = createCertificateAuthority({ trustDomain: 'example.org', keyType: 'ec-p384' });
 */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/** Every supported key type, in order of preference. */
export const KEY_TYPES: readonly KeyType[] = Object.freeze(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']);

/** True when `value` names a supported key type. */
export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

/**
 * Generates a key pair of `keyType` with node:crypto (synchronously; RSA 4096 takes about a second).
 *
 * @example
 * const { privateKey, publicKey } = generateKeyPair('ec-p256');
 */
export function generateKeyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (keyType) {
    case 'ec-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ec-p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa-3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
    case 'rsa-4096':
      return generateKeyPairSync('rsa', { modulusLength: 4096 });
  }
}

/**
 * The key type of a public or private key, or `undefined` when it is not one wid supports.
 *
 * @example
 * keyTypeOf(generateKeyPair('rsa-3072').publicKey); // 'rsa-3072'
 */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  if (key.type === 'secret') return undefined;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ec-p256';
    if (details?.namedCurve === 'secp384r1') return 'ec-p384';
    return undefined;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength;
    if (bits === 2048) return 'rsa-2048';
    if (bits === 3072) return 'rsa-3072';
    if (bits === 4096) return 'rsa-4096';
  }
  return undefined;
}
