// Direct node:crypto JWS (RFC 7515 compact serialization) for the JWT-SVID algorithms (RFC 7518 §3).
// jose does the same through WebCrypto at ~1/4 of the speed; this path is cross-checked against jose in the tests.
import { constants, type KeyObject, sign, verify } from 'node:crypto';
import type { KeyFacts } from './key-copy.js';

/** The JWS algorithms a JWT-SVID may use (JWT-SVID §3): RSA PKCS#1 v1.5, ECDSA and RSA-PSS. */
export type JwtAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512';

interface AlgSpec {
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly family: 'ec' | 'rsa' | 'pss';
  /** OpenSSL curve name an EC key must have (RFC 7518 §3.4 binds each ES alg to one curve). */
  readonly curve?: string;
  /** Length of the IEEE P1363 (r || s) signature. */
  readonly sigLength?: number;
}

const ALGS: Readonly<Record<JwtAlgorithm, AlgSpec>> = {
  ES256: { hash: 'sha256', family: 'ec', curve: 'prime256v1', sigLength: 64 },
  ES384: { hash: 'sha384', family: 'ec', curve: 'secp384r1', sigLength: 96 },
  ES512: { hash: 'sha512', family: 'ec', curve: 'secp521r1', sigLength: 132 },
  RS256: { hash: 'sha256', family: 'rsa' },
  RS384: { hash: 'sha384', family: 'rsa' },
  RS512: { hash: 'sha512', family: 'rsa' },
  PS256: { hash: 'sha256', family: 'pss' },
  PS384: { hash: 'sha384', family: 'pss' },
  PS512: { hash: 'sha512', family: 'pss' },
};

/**
 * Every algorithm a JWT-SVID may be signed with (JWT-SVID §3), in a stable order.
 *
 * @example
 * JWT_ALGORITHMS.includes('ES256'); // true
 */
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = Object.freeze(Object.keys(ALGS) as JwtAlgorithm[]);

/** RSA keys below this size are refused for RS and PS algorithms (as jose and RFC 7518 §3.3 require). */
export const MIN_RSA_BITS = 2048;

export function isJwtAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && Object.hasOwn(ALGS, alg);
}

/**
 * Returns why a key cannot be used with `alg`, or undefined when it can. Takes the key's facts (see ./key-copy.ts),
 * never a caller's KeyObject: reading `asymmetricKeyDetails` on one can deadlock Node 20.
 */
export function keyMismatch(key: KeyFacts, alg: JwtAlgorithm): string | undefined {
  const spec = ALGS[alg];
  const type = key.asymmetricKeyType;
  if (spec.family === 'ec') {
    if (type !== 'ec') return `${alg} needs an EC key, got ${type ?? key.type}`;
    const curve = key.namedCurve;
    if (curve !== spec.curve) return `${alg} needs curve ${curveName(spec.curve)}, got ${curveName(curve)}`;
    return undefined;
  }
  if (type !== 'rsa' && !(type === 'rsa-pss' && spec.family === 'pss')) {
    return `${alg} needs an RSA key, got ${type ?? key.type}`;
  }
  const bits = key.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${bits}`;
  return undefined;
}

/** The algorithm a JWT-SVID signed with a key uses when none is asked for, or undefined for unsupported keys. */
export function defaultAlgorithm(key: KeyFacts): JwtAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec':
      switch (key.namedCurve) {
        case 'prime256v1':
          return 'ES256';
        case 'secp384r1':
          return 'ES384';
        case 'secp521r1':
          return 'ES512';
        default:
          return undefined;
      }
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    default:
      return undefined;
  }
}

/** JOSE curve name (`P-256`) of an OpenSSL curve name (`prime256v1`), for messages and JWKs. */
export function curveName(opensslName: string | undefined): string {
  switch (opensslName) {
    case 'prime256v1':
      return 'P-256';
    case 'secp384r1':
      return 'P-384';
    case 'secp521r1':
      return 'P-521';
    default:
      return opensslName ?? 'none';
  }
}

/** Signs the JWS signing input. The caller has checked `keyMismatch`. ECDSA comes out in JOSE (P1363) form. */
export function jwsSign(alg: JwtAlgorithm, key: KeyObject, data: Uint8Array): Buffer {
  const spec = ALGS[alg];
  switch (spec.family) {
    case 'ec':
      return sign(spec.hash, data, { key, dsaEncoding: 'ieee-p1363' });
    case 'rsa':
      return sign(spec.hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'pss':
      // RFC 7518 §3.5: the salt is as long as the hash.
      return sign(spec.hash, data, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
  }
}

/** Verifies a JWS signature. The caller has checked `keyMismatch`. Never throws on a bad signature. */
export function jwsVerify(alg: JwtAlgorithm, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const spec = ALGS[alg];
  try {
    switch (spec.family) {
      case 'ec':
        // P1363 signatures have a fixed length; anything else (e.g. DER) is not a JOSE signature.
        if (signature.length !== spec.sigLength) return false;
        return verify(spec.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsa':
        return verify(spec.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'pss':
        return verify(
          spec.hash,
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        );
    }
  } catch {
    // OpenSSL rejects some malformed signatures by throwing rather than returning false.
    return false;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url decoding (RFC 7515 §2: no padding, no whitespace, canonical trailing bits). Node's own decoder
 * skips bad characters silently, so the text is checked first and the result re-encoded to catch non-canonical
 * forms (which would otherwise let one signature be written several ways).
 */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (text.length % 4 !== 0 && bytes.toString('base64url') !== text) return undefined;
  return bytes;
}
