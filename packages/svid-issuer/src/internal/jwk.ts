// JWK Sets (RFC 7517) as SPIFFE bundles use them (Trust Domain and Bundle §4, X509-SVID §6, JWT-SVID §6).
import { createPublicKey, type JsonWebKey, KeyObject, X509Certificate } from 'node:crypto';
import { type JwtBundleErrorCode, SvidIssuerError, type SvidIssuerErrorFields } from '../errors.js';
import { decodeBase64Url } from './jws.js';
import { detachedKey, ownKeyFacts } from './key-copy.js';

export const X509_SVID_USE = 'x509-svid';
export const JWT_SVID_USE = 'jwt-svid';

/** Byte length of an EC coordinate per JOSE curve (RFC 7518 §6.2.1.2: always the full length). */
const EC_COORDINATE_LENGTH: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const EC_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

export interface ParsedJwks {
  /** The document, as JSON.parse read it. */
  readonly document: Record<string, unknown>;
  /** The text the document was parsed from (for exact reads of big integers). */
  readonly text: string;
  readonly jwtAuthorities: Map<string, KeyObject>;
  readonly x509Authorities: X509Certificate[];
}

function fail(code: JwtBundleErrorCode, message: string, fields?: SvidIssuerErrorFields): never {
  throw new SvidIssuerError(code, message, fields);
}

/**
 * Parses a JWK Set. `mode: 'jwt'` reads a JWT bundle (keys with `use` absent or `jwt-svid`); `mode: 'spiffe'` reads
 * a SPIFFE bundle (`use` must be `x509-svid` or `jwt-svid`). JWKs with another `use`, an unknown `kty` or an
 * unsupported curve, and `x509-svid` entries without `x5c`, are ignored (the interop decision in SPIFFE.md).
 */
export function parseJwks(input: string | Uint8Array, mode: 'jwt' | 'spiffe', trustDomain: string): ParsedJwks {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      fail('ERR_WID_BUNDLE_BAD_JSON', 'unable to parse bundle: not UTF-8', { trustDomain, cause });
    }
  } else {
    fail('ERR_WID_BUNDLE_BAD_JSON', 'unable to parse bundle: pass JSON text or bytes', { trustDomain });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    fail('ERR_WID_BUNDLE_BAD_JSON', `unable to parse bundle: ${(cause as Error).message}`, { trustDomain, cause });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    fail('ERR_WID_BUNDLE_BAD_JSON', 'unable to parse bundle: not a JSON object', { trustDomain });
  }
  const doc = document as Record<string, unknown>;
  // Trust Domain and Bundle §4.1: "keys" is required; an empty array is a valid bundle (everything revoked).
  if (!Object.hasOwn(doc, 'keys') || doc['keys'] === null) {
    fail('ERR_WID_BUNDLE_MISSING_KEYS', 'no authorities found: bundle has no "keys" member', { trustDomain });
  }
  const keys = doc['keys'];
  if (!Array.isArray(keys)) fail('ERR_WID_BUNDLE_BAD_KEYS', '"keys" must be an array', { trustDomain });

  const jwtAuthorities = new Map<string, KeyObject>();
  const x509Authorities: X509Certificate[] = [];
  keys.forEach((entry: unknown, index: number) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      fail('ERR_WID_BUNDLE_BAD_KEYS', `entry ${index} of "keys" is not a JSON object`, { trustDomain, index });
    }
    const jwk = entry as Record<string, unknown>;
    const use = jwk['use'];
    const isJwt = use === JWT_SVID_USE || (mode === 'jwt' && use === undefined);
    const isX509 = mode === 'spiffe' && use === X509_SVID_USE;
    if (!isJwt && !isX509) return;
    if (!isSupportedKty(jwk)) return;
    if (isX509) {
      const cert = parseX509Entry(jwk, index, trustDomain);
      if (cert !== undefined) x509Authorities.push(cert);
      return;
    }
    const kid = jwk['kid'];
    if (typeof kid !== 'string' || kid === '') {
      fail('ERR_WID_BUNDLE_MISSING_KID', `error adding authority ${index} of JWKS: keyID cannot be empty`, {
        trustDomain,
        index,
      });
    }
    const key = jwkToPublicKey(jwk, index, trustDomain);
    addJwtAuthority(jwtAuthorities, kid, key, trustDomain, index);
  });
  return { document: doc, text, jwtAuthorities, x509Authorities };
}

/** Adds `kid → key`, refusing a second, different key under one kid (validation would depend on order). */
export function addJwtAuthority(
  map: Map<string, KeyObject>,
  kid: string,
  key: KeyObject,
  trustDomain: string,
  index?: number,
): void {
  const existing = map.get(kid);
  if (existing !== undefined) {
    if (existing.equals(key)) return;
    fail('ERR_WID_BUNDLE_DUPLICATE_KID', `duplicate JWT authority key ID "${kid}" with a different key`, {
      trustDomain,
      kid,
      index,
    });
  }
  map.set(kid, key);
}

function isSupportedKty(jwk: Record<string, unknown>): boolean {
  const kty = jwk['kty'];
  if (kty === 'RSA') return true;
  // An EC key on a curve JWT-SVIDs cannot use is treated like an unknown kty: ignored.
  return kty === 'EC' && typeof jwk['crv'] === 'string' && Object.hasOwn(EC_COORDINATE_LENGTH, jwk['crv']);
}

function badKey(message: string, trustDomain: string, index: number | undefined, cause?: unknown): never {
  fail('ERR_WID_BUNDLE_BAD_KEY', index === undefined ? message : `key ${index} of JWKS: ${message}`, {
    trustDomain,
    index,
    cause,
  });
}

/** An EC or RSA public JWK (already known to have a supported kty/crv) as a KeyObject. */
function jwkToPublicKey(jwk: Record<string, unknown>, index: number, trustDomain: string): KeyObject {
  // A bundle is public: private parameters mean someone published a signing key.
  for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
    if (Object.hasOwn(jwk, p)) badKey(`contains private key parameter "${p}"`, trustDomain, index);
  }
  let params: JsonWebKey;
  if (jwk['kty'] === 'EC') {
    const crv = jwk['crv'] as string;
    const size = EC_COORDINATE_LENGTH[crv];
    for (const p of ['x', 'y']) {
      const v = jwk[p];
      const bytes = typeof v === 'string' ? decodeBase64Url(v) : undefined;
      if (bytes === undefined || bytes.length !== size) {
        badKey(`EC "${p}" must be the ${size}-byte base64url coordinate of ${crv}`, trustDomain, index);
      }
    }
    params = { kty: 'EC', crv, x: jwk['x'] as string, y: jwk['y'] as string };
  } else {
    for (const p of ['n', 'e']) {
      const v = jwk[p];
      const bytes = typeof v === 'string' ? decodeBase64Url(v) : undefined;
      if (bytes === undefined || bytes.length === 0) badKey(`RSA "${p}" must be base64url`, trustDomain, index);
    }
    params = { kty: 'RSA', n: jwk['n'] as string, e: jwk['e'] as string };
  }
  try {
    // Created from bytes, so safe to inspect; registered so validation finds its facts without another copy.
    return ownKeyFacts(createPublicKey({ key: params, format: 'jwk' })).key;
  } catch (cause) {
    badKey(`invalid ${params.kty} key: ${(cause as Error).message}`, trustDomain, index, cause);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The X.509 authority of an `x509-svid` entry: the first certificate of `x5c`, or undefined when there is none. */
function parseX509Entry(jwk: Record<string, unknown>, index: number, trustDomain: string): X509Certificate | undefined {
  const x5c = jwk['x5c'];
  if (x5c === undefined || x5c === null || (Array.isArray(x5c) && x5c.length === 0)) return undefined;
  if (!Array.isArray(x5c)) badKey('"x5c" must be an array of base64 DER certificates', trustDomain, index);
  const first = x5c[0];
  if (typeof first !== 'string' || first === '' || !BASE64.test(first)) {
    badKey('"x5c"[0] must be a base64 (not base64url) DER certificate', trustDomain, index);
  }
  const der = Buffer.from(first, 'base64');
  let cert: X509Certificate;
  try {
    if (der[0] !== 0x30) throw new Error('not a DER SEQUENCE');
    cert = new X509Certificate(der);
  } catch (cause) {
    badKey(`"x5c"[0] is not a DER X.509 certificate: ${(cause as Error).message}`, trustDomain, index, cause);
  }
  // When the entry also spells the key out, it must be the certificate's key (as go-jose checks).
  const hasParams = jwk['kty'] === 'EC' ? jwk['x'] !== undefined || jwk['y'] !== undefined : jwk['n'] !== undefined;
  if (hasParams) {
    const key = jwkToPublicKey(jwk, index, trustDomain);
    if (!key.equals(cert.publicKey))
      badKey('JWK key parameters do not match the "x5c" certificate', trustDomain, index);
  }
  return cert;
}

/** Public JWK members (`kty`, `crv`, `x`, `y` or `kty`, `n`, `e`) of an EC or RSA public key. */
export function publicKeyJwk(key: KeyObject): Record<string, string> {
  // Exporting a key that came straight from generateKeyPairSync as JWK can deadlock Node 20 for good (a GC during
  // the export re-enters a lock the export holds; seen with gdb). A key re-imported from SPKI DER is safe.
  const spki = key.export({ format: 'der', type: 'spki' });
  const jwk = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv as string, x: jwk.x as string, y: jwk.y as string };
  return { kty: 'RSA', n: jwk.n as string, e: jwk.e as string };
}

/**
 * Checks a key offered as a JWT authority: an EC (P-256/P-384/P-521) or RSA KeyObject. A private key is reduced to
 * its public half, which is all a bundle may hold. Returns a DER-re-imported copy, never the caller's object.
 */
export function checkJwtAuthorityKey(kid: unknown, key: unknown, trustDomain: string): KeyObject {
  if (typeof kid !== 'string' || kid === '') {
    fail('ERR_WID_BUNDLE_MISSING_KID', 'keyID cannot be empty', { trustDomain });
  }
  if (!(key instanceof KeyObject) || key.type === 'secret') {
    fail('ERR_WID_BUNDLE_BAD_KEY', `JWT authority "${kid}" must be an asymmetric KeyObject`, { trustDomain, kid });
  }
  // Never inspect the caller's object (deadlock hazard on Node 20, see ./key-copy.ts): the bundle keeps a copy
  // re-imported from the key's DER, and the public half is derived from that copy.
  const copy = detachedKey(key);
  const facts = ownKeyFacts(copy.type === 'private' ? createPublicKey(copy) : copy);
  const pub = facts.key;
  const type = facts.asymmetricKeyType;
  const curve = facts.namedCurve;
  if (!(type === 'rsa' || (type === 'ec' && curve !== undefined && Object.hasOwn(EC_CURVES, curve)))) {
    fail(
      'ERR_WID_BUNDLE_BAD_KEY',
      `JWT authority "${kid}" is a ${type ?? 'unknown'}${curve === undefined ? '' : ` ${curve}`} key; use EC P-256/P-384/P-521 or RSA`,
      { trustDomain, kid },
    );
  }
  return pub;
}

/** Checks a certificate offered as an X.509 authority can be written as a JWK (EC or RSA key). */
export function checkX509AuthorityCert(cert: unknown, trustDomain: string, index: number): X509Certificate {
  if (!(cert instanceof X509Certificate)) {
    fail('ERR_WID_BUNDLE_BAD_KEY', `X.509 authority ${index} must be an X509Certificate`, { trustDomain, index });
  }
  const key = cert.publicKey;
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (!(type === 'rsa' || (type === 'ec' && curve !== undefined && Object.hasOwn(EC_CURVES, curve)))) {
    fail(
      'ERR_WID_BUNDLE_BAD_KEY',
      `X.509 authority ${index} has a ${type ?? 'unknown'} key; use EC P-256/P-384/P-521 or RSA`,
      {
        trustDomain,
        index,
      },
    );
  }
  return cert;
}
