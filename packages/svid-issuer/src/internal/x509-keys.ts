// Public-key plumbing for issuance, shaped by two Node 20 facts measured on these machines:
//  1. OpenSSL 3.0's encoders/decoders are slow: `export({ type: 'spki' })` costs ~95 µs and
//     `createPublicKey(spkiDer)` ~90 µs, against ~20 µs for an ECDSA signature.
//  2. `KeyObject.export({ format: 'jwk' })` on a key that came straight out of `generateKeyPairSync` can deadlock
//     the process: the export holds the key's mutex while allocating, and a GC that finalizes the key-generation
//     job takes the same mutex (reproduced here with gdb). `asymmetricKeyDetails` has the same hazard (a CI bench
//     hung in GetEcKeyDetail). So a caller's KeyObject is only ever asked for its SPKI DER, and checked from those
//     bytes (see ./key-copy.ts).
// Hence: EC SPKI DER is parsed and checked by hand (point validated with ECDH.convertKey), CA-generated SVID keys
// come from ECDH (faster than generateKeyPairSync, no KeyObject at all), and their PKCS#8 is assembled by hand.
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  ECDH,
  generateKeyPairSync,
  KeyObject,
} from 'node:crypto';
import { SvidIssuerError } from '../errors.js';
import { type KeyType, keyTypeOfFacts } from '../key-type.js';
import { type KeyFacts, ownKeyFacts } from './key-copy.js';
import { NULL, oid, seq, TAG, tlv } from './x509-der.js';
import { OID } from './x509-oids.js';

const EC = {
  'ec-p256': {
    curve: 'prime256v1',
    jwkCrv: 'P-256',
    size: 32,
    spkiPrefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
    algId: Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex'),
  },
  'ec-p384': {
    curve: 'secp384r1',
    jwkCrv: 'P-384',
    size: 48,
    spkiPrefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
    algId: Buffer.from('301006072a8648ce3d020106052b81040022', 'hex'),
  },
} as const;

/**
 * Key identifier per RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (without tag,
 * length and unused-bits octet). `spki` must be DER we built or checked.
 */
export function keyIdentifier(spki: Uint8Array): Buffer {
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the outer header and the AlgorithmIdentifier.
  let p = headerLen(spki, 0);
  p += headerLen(spki, p) + contentLen(spki, p);
  const bitsStart = p + headerLen(spki, p) + 1;
  const bitsEnd = p + headerLen(spki, p) + contentLen(spki, p);
  return createHash('sha1').update(spki.subarray(bitsStart, bitsEnd)).digest();
}

function headerLen(b: Uint8Array, p: number): number {
  const l = b[p + 1]!;
  return l < 0x80 ? 2 : 2 + (l & 0x7f);
}

function contentLen(b: Uint8Array, p: number): number {
  const l = b[p + 1]!;
  if (l < 0x80) return l;
  let n = 0;
  for (let i = 0; i < (l & 0x7f); i++) n = n * 256 + b[p + 2 + i]!;
  return n;
}

export interface SignatureAlgorithm {
  /** AlgorithmIdentifier DER. */
  readonly algId: Buffer;
  /** node:crypto digest name. */
  readonly hash: 'sha256' | 'sha384';
}

const sigAlgCache = new Map<string, SignatureAlgorithm>();

/** The signature algorithm a CA key of `keyType` signs with (ECDSA with the curve's hash; RSA PKCS#1 v1.5 SHA-256). */
export function signatureAlgorithm(keyType: KeyType): SignatureAlgorithm {
  let alg = sigAlgCache.get(keyType);
  if (alg === undefined) {
    if (keyType === 'ec-p256') alg = { algId: seq(oid(OID.ecdsaWithSha256)), hash: 'sha256' };
    else if (keyType === 'ec-p384') alg = { algId: seq(oid(OID.ecdsaWithSha384)), hash: 'sha384' };
    else alg = { algId: seq(oid(OID.sha256WithRsa), NULL), hash: 'sha256' };
    sigAlgCache.set(keyType, alg);
  }
  return alg;
}

export interface WorkloadPublicKey {
  readonly keyType: KeyType;
  /** Canonical SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
}

/** Validates a workload public key (KeyObject or SPKI DER) and returns its type and canonical SPKI DER. */
export function workloadPublicKey(input: unknown): WorkloadPublicKey {
  if (input instanceof Uint8Array) return publicKeyFromSpki(input);
  if (!(input instanceof KeyObject)) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_PUBLIC_KEY', 'publicKey must be a KeyObject or SPKI DER bytes');
  }
  if (input.type !== 'public') {
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_PUBLIC_KEY',
      `publicKey must be a public KeyObject, got a ${input.type} key (never send private keys to a CA)`,
      { input: input.type },
    );
  }
  // SPKI DER first, then only the bytes (or a key re-created from them) are checked: neither `asymmetricKeyDetails`
  // nor a JWK export may touch the caller's object (see the header comment: deadlock on Node 20).
  return publicKeyFromSpki(input.export({ type: 'spki', format: 'der' }));
}

/**
 * OpenSSL keeps an EC point's encoding on export, but RFC 5480 §2.2 forbids the hybrid form (0x06/0x07) and Go's
 * parsers accept only the uncompressed one (0x04). So compressed points are re-encoded uncompressed, and hybrid
 * ones are refused. Non-EC SPKI is returned unchanged.
 */
function uncompressedEcSpki(keyType: KeyType, spki: Buffer): Buffer {
  if (keyType !== 'ec-p256' && keyType !== 'ec-p384') return spki;
  const ec = EC[keyType];
  let p = headerLen(spki, 0);
  p += headerLen(spki, p) + contentLen(spki, p);
  const point = spki.subarray(p + headerLen(spki, p) + 1, p + headerLen(spki, p) + contentLen(spki, p));
  const form = point[0];
  if (form === 0x04) return spki;
  if (form === 0x06 || form === 0x07) {
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_PUBLIC_KEY',
      `publicKey uses the hybrid ${ec.jwkCrv} point encoding, which RFC 5480 forbids; send it uncompressed`,
      { input: 'hybrid' },
    );
  }
  let uncompressed: Buffer;
  try {
    uncompressed = ECDH.convertKey(point, ec.curve, undefined, undefined, 'uncompressed') as Buffer;
  } catch (cause) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_PUBLIC_KEY', `publicKey is not a valid ${ec.jwkCrv} point`, {
      cause,
    });
  }
  return Buffer.concat([ec.spkiPrefix, uncompressed]);
}

function publicKeyFromSpki(der: Uint8Array): WorkloadPublicKey {
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  for (const keyType of ['ec-p256', 'ec-p384'] as const) {
    const ec = EC[keyType];
    if (
      bytes.length === ec.spkiPrefix.length + 1 + 2 * ec.size &&
      bytes.subarray(0, ec.spkiPrefix.length).equals(ec.spkiPrefix) &&
      bytes[ec.spkiPrefix.length] === 0x04
    ) {
      try {
        // Rejects points that are not on the curve (and the point at infinity).
        ECDH.convertKey(bytes.subarray(ec.spkiPrefix.length), ec.curve);
      } catch (cause) {
        throw new SvidIssuerError('ERR_WID_X509_BAD_PUBLIC_KEY', `publicKey is not a valid ${ec.jwkCrv} point`, {
          cause,
        });
      }
      return { keyType, spki: Buffer.from(bytes) };
    }
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch (cause) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_PUBLIC_KEY', 'publicKey is not a DER SubjectPublicKeyInfo', { cause });
  }
  const facts = ownKeyFacts(key);
  const keyType = keyTypeOfFacts(facts);
  if (keyType === undefined) throw unsupportedKey(facts);
  // A key we just created from bytes has no key-generation job behind it, so the (re-)export is safe and gives
  // canonical DER even when the input used a non-canonical encoding.
  return { keyType, spki: uncompressedEcSpki(keyType, key.export({ type: 'spki', format: 'der' })) };
}

/** `facts` must come from a key wid created from bytes, or from `keyFacts` (never the caller's object). */
export function unsupportedKey(facts: KeyFacts): SvidIssuerError {
  const d = facts;
  const desc = `${d.asymmetricKeyType ?? d.type}${d.namedCurve ? ` ${d.namedCurve}` : ''}${d.modulusLength ? ` ${d.modulusLength}` : ''}`;
  return new SvidIssuerError(
    'ERR_WID_X509_UNSUPPORTED_KEY',
    `unsupported key "${desc}"; supported: EC P-256, EC P-384, RSA 2048/3072/4096`,
    { input: desc },
  );
}

export function isKeyObject(v: unknown): v is KeyObject {
  return v instanceof KeyObject;
}

/** A key pair the CA generated for an SVID, without paying for a KeyObject unless someone asks for one. */
export interface GeneratedSvidKey {
  readonly keyType: KeyType;
  readonly spki: Buffer;
  /** Unencrypted PKCS#8 DER (the Workload API's `x509_svid_key`). */
  readonly pkcs8: Buffer;
  /** Builds the private KeyObject (not cached here). */
  toKeyObject(): KeyObject;
}

/** Generates an SVID key pair of `keyType`. EC keys via ECDH (~19 µs for P-256), RSA via generateKeyPairSync. */
export function generateSvidKey(keyType: KeyType): GeneratedSvidKey {
  if (keyType === 'ec-p256' || keyType === 'ec-p384') {
    const ec = EC[keyType];
    const ecdh = createECDH(ec.curve);
    const point = ecdh.generateKeys();
    let d = ecdh.getPrivateKey();
    if (d.length < ec.size) d = Buffer.concat([Buffer.alloc(ec.size - d.length), d]);
    const spki = Buffer.concat([ec.spkiPrefix, point]);
    // RFC 5208 PrivateKeyInfo { 0, ecPublicKey+curve, OCTET STRING RFC 5915 ECPrivateKey { 1, d, [1] publicKey } }.
    const ecPrivateKey = seq(
      Buffer.of(TAG.INTEGER, 1, 1),
      tlv(TAG.OCTET_STRING, d),
      tlv(0xa1, tlv(TAG.BIT_STRING, Buffer.of(0), point)),
    );
    const pkcs8 = seq(Buffer.of(TAG.INTEGER, 1, 0), ec.algId, tlv(TAG.OCTET_STRING, ecPrivateKey));
    const x = point.subarray(1, 1 + ec.size).toString('base64url');
    const y = point.subarray(1 + ec.size).toString('base64url');
    const dB64 = d.toString('base64url');
    return {
      keyType,
      spki,
      pkcs8,
      toKeyObject: () => createPrivateKey({ key: { kty: 'EC', crv: ec.jwkCrv, x, y, d: dB64 }, format: 'jwk' }),
    };
  }
  const bits = Number(keyType.slice(4));
  const pair = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    keyType,
    spki: pair.publicKey,
    pkcs8: pair.privateKey,
    toKeyObject: () => createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
  };
}
