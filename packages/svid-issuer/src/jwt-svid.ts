import { KeyObject, randomUUID } from 'node:crypto';
import { SpiffeId } from '@wid/spiffe-id';
import { type JwtBundleErrorCode, SvidIssuerError, type SvidIssuerErrorFields } from './errors.js';
import {
  decodeBase64Url,
  defaultAlgorithm,
  isJwtAlgorithm,
  type JwtAlgorithm,
  jwsSign,
  jwsVerify,
  keyMismatch,
} from './internal/jws.js';
import { keyFacts } from './internal/key-copy.js';
import type { JwtBundleSource } from './jwt-bundle.js';

export type { JwtAlgorithm } from './internal/jws.js';

/**
 * Clock skew tolerated when checking `exp`, `nbf` and `iat`, in seconds. go-spiffe allows 60 s; 30 s is enough for
 * NTP-synchronised hosts and keeps a stolen token's extra life short.
 *
 * @example
 * // A token with exp = T still validates at T + 30 s, and is rejected from T + 31 s on.
 * JwtSvid.parseAndValidate(token, bundles, [aud], { now: new Date((exp + JWT_SVID_LEEWAY_SECONDS) * 1000) });
 */
export const JWT_SVID_LEEWAY_SECONDS = 30;

/** Claims the issuer always sets; `extraClaims` may not override them. */
const RESERVED_CLAIMS: readonly string[] = ['sub', 'aud', 'exp', 'iat', 'jti'];

/** Options of {@link signJwtSvid}. */
export interface SignJwtSvidOptions {
  /** The JWT signing key: a private EC (P-256/P-384/P-521) or RSA (≥ 2048 bits) KeyObject. */
  readonly privateKey: KeyObject;
  /** Key ID published with the public key in the JWT bundle; always written to the header. */
  readonly kid: string;
  /** Signature algorithm. Default from the key: P-256 → ES256, P-384 → ES384, P-521 → ES512, RSA → RS256. */
  readonly alg?: JwtAlgorithm;
  /** The SPIFFE ID the token asserts (`sub`). */
  readonly spiffeId: SpiffeId | string;
  /** Audiences (`aud`, always written as an array); at least one, each non-empty. */
  readonly audience: readonly string[];
  /** Lifetime in seconds (≥ 1; a fraction is truncated): `exp = iat + ttlSeconds`. */
  readonly ttlSeconds: number;
  /** Issuance time (`iat`, truncated to whole seconds). */
  readonly now: Date;
  /** Further claims (JSON values). They cannot override `sub`, `aud`, `exp`, `iat` or `jti`. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  /** Token ID (`jti`). Default: a random UUID. */
  readonly jti?: string;
  /** Workload API hint carried with the SVID (not part of the token). */
  readonly hint?: string;
}

/** Options of {@link JwtSvid.parseAndValidate} and {@link JwtSvid.parseInsecure}. */
export interface JwtSvidValidateOptions {
  /** The time to validate at. Default: the current time. */
  readonly now?: Date;
}

interface JwtSvidFields {
  readonly token: string;
  readonly id: SpiffeId;
  readonly audience: readonly string[];
  readonly expirySeconds: number;
  /** The claims, or the payload JSON to read them from on first access (minting skips the parse). */
  readonly claims: Readonly<Record<string, unknown>> | string;
  readonly hint: string | undefined;
}

let newJwtSvid: (fields: JwtSvidFields) => JwtSvid;

/**
 * A JWT-SVID (JWT-SVID standard): a signed JWT whose `sub` is a SPIFFE ID. Obtained only from
 * {@link signJwtSvid}, {@link JwtSvid.parseAndValidate} or {@link JwtSvid.parseInsecure}, so every instance passed
 * the JWT-SVID rules. Frozen.
 *
 * @example
 * const svid = JwtSvid.parseAndValidate(token, bundleSet, ['spiffe://example.org/api']);
 * svid.id.toString(); // 'spiffe://example.org/web'
 */
export class JwtSvid {
  /** The SPIFFE ID in `sub`. */
  readonly id: SpiffeId;
  /** The token's audiences (`aud`, a single string becomes a one-element array). */
  readonly audience: readonly string[];
  /** Workload API hint; set by the issuer, `undefined` for parsed tokens. */
  readonly hint: string | undefined;
  /** The compact-serialized token. */
  readonly token: string;
  readonly #expirySeconds: number;
  // Minted SVIDs read their claims back from the payload JSON only when asked (saves ~1.5 µs per mint).
  readonly #claims: { value: Readonly<Record<string, unknown>> | string };

  static {
    newJwtSvid = (fields) => new JwtSvid(fields);
  }

  private constructor(fields: JwtSvidFields) {
    this.id = fields.id;
    this.audience = fields.audience;
    this.#claims = { value: fields.claims };
    this.hint = fields.hint;
    this.token = fields.token;
    this.#expirySeconds = fields.expirySeconds;
    Object.freeze(this);
  }

  /** Every claim of the token, deep-frozen, exactly as serialized (including `sub`, `aud`, `exp`, ...). */
  get claims(): Readonly<Record<string, unknown>> {
    const slot = this.#claims;
    if (typeof slot.value === 'string') slot.value = deepFreeze(JSON.parse(slot.value) as Record<string, unknown>);
    return slot.value;
  }

  /** Expiry (`exp`). A new Date on every read, so the SVID cannot be changed through it. */
  get expiry(): Date {
    return new Date(this.#expirySeconds * 1000);
  }

  /**
   * Parses a JWT-SVID and validates it fully (JWT-SVID §3–4): compact form, header (`alg` allow-list first, then
   * only `alg`/`kid`/`typ`, `typ` ∈ {JWT, JOSE}, `kid` required), claims (`sub` a SPIFFE ID, `aud`, `exp`), the
   * signature against the key with that `kid` in the bundle of the `sub`'s own trust domain, then the times (with
   * {@link JWT_SVID_LEEWAY_SECONDS} of leeway) and that `aud` holds one of `audience`. Synchronous (node:crypto).
   *
   * @param audience the audiences this validator accepts; at least one (an empty list is a programming error).
   * @throws {SvidIssuerError} `ERR_WID_JWT_*` naming the rule broken.
   * @example
   * const svid = JwtSvid.parseAndValidate(token, bundles, ['spiffe://example.org/api'], { now: new Date() });
   */
  static parseAndValidate(
    token: string,
    bundles: JwtBundleSource,
    audience: readonly string[],
    options: JwtSvidValidateOptions = {},
  ): JwtSvid {
    const nowSeconds = checkValidateArgs(audience, options);
    if (typeof bundles?.getJwtBundleForTrustDomain !== 'function') {
      fail('ERR_WID_JWT_INVALID_OPTIONS', 'bundles must be a JwtBundleSource (a JwtBundle, a bundle set, ...)');
    }
    const parsed = parseToken(token);
    const td = parsed.id.trustDomain;
    const bundle = bundles.getJwtBundleForTrustDomain(td);
    if (bundle === undefined) {
      fail('ERR_WID_JWT_NO_BUNDLE', `no bundle found for trust domain "${td.name}"`, { trustDomain: td.name });
    }
    const key = bundle.findJwtAuthority(parsed.kid);
    if (key === undefined) {
      fail('ERR_WID_JWT_UNKNOWN_KID', `no JWT authority "${parsed.kid}" found for trust domain "${td.name}"`, {
        trustDomain: td.name,
        kid: parsed.kid,
      });
    }
    // Bundle keys are normally wid's own (parsed or DER-copied); a foreign source's key is copied (see key-copy.ts).
    const facts = keyFacts(key);
    const mismatch = keyMismatch(facts, parsed.alg);
    if (mismatch !== undefined) {
      fail('ERR_WID_JWT_KEY_ALG_MISMATCH', `JWT authority "${parsed.kid}" cannot verify ${parsed.alg}: ${mismatch}`, {
        trustDomain: td.name,
        kid: parsed.kid,
        input: parsed.alg,
      });
    }
    const signingInput = Buffer.from(token.slice(0, parsed.signatureStart - 1), 'latin1');
    if (!jwsVerify(parsed.alg, facts.key, signingInput, parsed.signature)) {
      fail('ERR_WID_JWT_BAD_SIGNATURE', 'unable to verify token signature: signature does not match', {
        trustDomain: td.name,
        kid: parsed.kid,
      });
    }
    checkTimesAndAudience(parsed, nowSeconds, audience);
    return newJwtSvid(toFields(token, parsed));
  }

  /**
   * Parses a JWT-SVID and checks everything {@link JwtSvid.parseAndValidate} checks EXCEPT the signature. Only for
   * tokens whose integrity is already established (e.g. just received over an authenticated Workload API channel).
   *
   * @throws {SvidIssuerError} `ERR_WID_JWT_*` naming the rule broken.
   * @example
   * const svid = JwtSvid.parseInsecure(token, ['spiffe://example.org/api']);
   */
  static parseInsecure(
    token: string,
    audience: readonly string[],
    options: JwtSvidValidateOptions & { readonly hint?: string } = {},
  ): JwtSvid {
    const nowSeconds = checkValidateArgs(audience, options);
    const parsed = parseToken(token);
    checkTimesAndAudience(parsed, nowSeconds, audience);
    // The Workload API carries a hint beside the token (JWTSVID.hint); keep it with the value.
    return newJwtSvid({ ...toFields(token, parsed), hint: options.hint || undefined });
  }

  /** The compact-serialized token. */
  marshal(): string {
    return this.token;
  }

  /** The token's SPIFFE ID (not the token: tokens are bearer credentials and do not belong in logs). */
  toString(): string {
    return this.id.toString();
  }
}

/**
 * Mints a JWT-SVID with a direct node:crypto JWS (ECDSA signatures in JOSE/IEEE P1363 form). Header: `alg`, `kid`,
 * `typ: "JWT"`. Claims: `sub`, `aud` (array), `exp`, `iat`, `jti` (random unless given), then `extraClaims`.
 *
 * @throws {SvidIssuerError} `ERR_WID_JWT_INVALID_OPTIONS`, `ERR_WID_JWT_RESERVED_CLAIM`, `ERR_WID_JWT_BAD_CLAIM`,
 *   `ERR_WID_JWT_UNSUPPORTED_ALG`, `ERR_WID_JWT_UNSUPPORTED_KEY`, `ERR_WID_JWT_KEY_ALG_MISMATCH`.
 * @example
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const svid = signJwtSvid({ privateKey, kid: 'k1', spiffeId: SpiffeId.parse('spiffe://example.org/web'),
 *   audience: ['spiffe://example.org/api'], ttlSeconds: 300, now: new Date() });
 * svid.token; // 'eyJhbGciOiJFUzI1NiIs...'
 */
export function signJwtSvid(options: SignJwtSvidOptions): JwtSvid {
  const { privateKey, kid, audience, ttlSeconds, now, extraClaims, hint } = options;
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private') {
    fail('ERR_WID_JWT_UNSUPPORTED_KEY', 'privateKey must be a private KeyObject');
  }
  // Never inspect the caller's object (`asymmetricKeyDetails` on a fresh generateKeyPairSync key can deadlock Node
  // 20): check and sign with a copy re-imported from its PKCS#8 DER, cached per caller key so minting stays fast.
  const key = keyFacts(privateKey);
  let alg: JwtAlgorithm;
  if (options.alg === undefined) {
    const fromKey = defaultAlgorithm(key);
    if (fromKey === undefined) {
      fail(
        'ERR_WID_JWT_UNSUPPORTED_KEY',
        `cannot sign JWT-SVIDs with a ${key.asymmetricKeyType ?? 'unknown'} key; use EC P-256/P-384/P-521 or RSA`,
        { input: key.asymmetricKeyType },
      );
    }
    alg = fromKey;
  } else {
    if (!isJwtAlgorithm(options.alg)) {
      fail('ERR_WID_JWT_UNSUPPORTED_ALG', `unsupported token signature algorithm ${show(options.alg)}`, {
        input: show(options.alg),
      });
    }
    alg = options.alg;
  }
  const mismatch = keyMismatch(key, alg);
  if (mismatch !== undefined) fail('ERR_WID_JWT_KEY_ALG_MISMATCH', mismatch, { input: alg });
  if (typeof kid !== 'string' || kid === '') fail('ERR_WID_JWT_INVALID_OPTIONS', 'kid must be a non-empty string');
  if (!Array.isArray(audience) || audience.length === 0) {
    fail('ERR_WID_JWT_INVALID_OPTIONS', 'audience must be specified: pass at least one audience');
  }
  for (const a of audience) {
    if (typeof a !== 'string' || a === '') {
      fail('ERR_WID_JWT_INVALID_OPTIONS', `audience entries must be non-empty strings, got ${show(a)}`);
    }
  }
  if (typeof ttlSeconds !== 'number' || !(ttlSeconds >= 1) || !Number.isFinite(ttlSeconds)) {
    fail('ERR_WID_JWT_INVALID_OPTIONS', `ttlSeconds must be a finite number ≥ 1, got ${show(ttlSeconds)}`);
  }
  const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(nowMs)) fail('ERR_WID_JWT_INVALID_OPTIONS', 'now must be a valid Date');
  const jti = options.jti ?? randomUUID();
  if (typeof jti !== 'string' || jti === '') fail('ERR_WID_JWT_INVALID_OPTIONS', 'jti must be a non-empty string');
  if (hint !== undefined && typeof hint !== 'string') fail('ERR_WID_JWT_INVALID_OPTIONS', 'hint must be a string');
  const id = typeof options.spiffeId === 'string' ? SpiffeId.parse(options.spiffeId) : options.spiffeId;

  const iat = Math.floor(nowMs / 1000);
  const exp = iat + Math.floor(ttlSeconds);
  let claims: Record<string, unknown> = { sub: id.toString(), aud: audience, exp, iat, jti };
  if (extraClaims !== undefined && extraClaims !== null) {
    if (typeof extraClaims !== 'object' || Array.isArray(extraClaims)) {
      fail('ERR_WID_JWT_INVALID_OPTIONS', 'extraClaims must be a plain object');
    }
    for (const name of RESERVED_CLAIMS) {
      if (Object.hasOwn(extraClaims, name)) {
        fail('ERR_WID_JWT_RESERVED_CLAIM', `extra claim "${name}" cannot override the JWT-SVID's own "${name}"`, {
          input: name,
        });
      }
    }
    claims = { ...claims, ...extraClaims };
  }
  let payloadJson: string;
  try {
    payloadJson = JSON.stringify(claims);
  } catch (cause) {
    fail('ERR_WID_JWT_BAD_CLAIM', `extra claims are not JSON-serializable: ${(cause as Error).message}`, { cause });
  }

  const header = `{"alg":"${alg}","kid":${JSON.stringify(kid)},"typ":"JWT"}`;
  const signingInput = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payloadJson).toString('base64url')}`;
  const signature = jwsSign(alg, key.key, Buffer.from(signingInput, 'latin1'));
  const token = `${signingInput}.${signature.toString('base64url')}`;
  // `claims` is read back from the payload JSON so it shows exactly what the token says (toJSON applied, undefined
  // values dropped, nothing shared with the caller's objects).
  return newJwtSvid({
    token,
    id,
    audience: Object.freeze(audience.slice()),
    expirySeconds: exp,
    claims: payloadJson,
    hint,
  });
}

interface ParsedToken {
  readonly alg: JwtAlgorithm;
  readonly kid: string;
  readonly id: SpiffeId;
  readonly audience: readonly string[];
  readonly exp: number;
  readonly nbf: number | undefined;
  readonly iat: number | undefined;
  readonly claims: Record<string, unknown>;
  readonly signature: Buffer;
  /** Offset of the signature part: the signing input is everything before the preceding ".". */
  readonly signatureStart: number;
}

function fail(code: JwtBundleErrorCode, message: string, fields?: SvidIssuerErrorFields): never {
  throw new SvidIssuerError(code, message, fields);
}

/** A short printable form of an untrusted value for messages. */
function show(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

function checkValidateArgs(audience: readonly string[], options: JwtSvidValidateOptions): number {
  // JWT-SVID §3.2 / wid decision: a validator without an audience would accept tokens meant for anyone.
  if (!Array.isArray(audience) || audience.length === 0) {
    fail('ERR_WID_JWT_NO_EXPECTED_AUDIENCE', 'audience must be specified: pass at least one expected audience');
  }
  for (const a of audience) {
    if (typeof a !== 'string' || a === '') {
      fail('ERR_WID_JWT_NO_EXPECTED_AUDIENCE', `expected audiences must be non-empty strings, got ${show(a)}`);
    }
  }
  const now = options.now;
  if (now === undefined) return Date.now() / 1000;
  const ms = now instanceof Date ? now.getTime() : Number.NaN;
  // An invalid Date would make every time comparison false, i.e. accept expired tokens: refuse it.
  if (Number.isNaN(ms)) fail('ERR_WID_JWT_INVALID_OPTIONS', 'now must be a valid Date');
  return ms / 1000;
}

function decodePart(part: string, what: string): Buffer {
  const bytes = decodeBase64Url(part);
  if (bytes === undefined) {
    fail('ERR_WID_JWT_BAD_ENCODING', `unable to parse JWT token: ${what} is not base64url without padding`, {
      input: show(part),
    });
  }
  return bytes;
}

function decodeJsonObject(part: string, what: string): Record<string, unknown> {
  const text = decodePart(part, what).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    fail('ERR_WID_JWT_BAD_JSON', `unable to parse JWT token: ${what} is not JSON`, { input: show(text), cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('ERR_WID_JWT_BAD_JSON', `unable to parse JWT token: ${what} is not a JSON object`, { input: show(text) });
  }
  return value as Record<string, unknown>;
}

/** The largest NumericDate (seconds) a Date can hold: ±8.64e15 ms. */
const MAX_NUMERIC_DATE = 8.64e12;

function optionalNumericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const v = claims[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid "${name}" claim: expected a NumericDate, got ${show(v)}`, {
      input: name,
    });
  }
  // Beyond ±8.64e12 s the time is outside the ECMAScript Date range (expiry would be an Invalid Date).
  if (Math.abs(v) > MAX_NUMERIC_DATE) {
    fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid "${name}" claim: ${show(v)} is outside the NumericDate range`, {
      input: name,
    });
  }
  return v;
}

/** Everything except signature, time and audience checks. JWT-SVID §2–3; RFC 7515 §7.1 compact serialization. */
function parseToken(token: string): ParsedToken {
  if (typeof token !== 'string' || token === '') fail('ERR_WID_JWT_MALFORMED', 'token cannot be empty');
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0 || token.indexOf('.', d2 + 1) >= 0) {
    const parts = token.split('.').length;
    fail('ERR_WID_JWT_MALFORMED', `unable to parse JWT token: expected 3 parts separated by "."; got ${parts}`, {
      input: show(token),
    });
  }
  if (d1 === 0 || d2 === d1 + 1 || d2 === token.length - 1) {
    fail('ERR_WID_JWT_MALFORMED', 'unable to parse JWT token: header, payload and signature must be non-empty', {
      input: show(token),
    });
  }

  const header = decodeJsonObject(token.slice(0, d1), 'header');
  // JWT-SVID §3: the algorithm allow-list comes before anything else.
  const alg = header['alg'];
  if (!isJwtAlgorithm(alg)) {
    fail('ERR_WID_JWT_UNSUPPORTED_ALG', `unsupported token signature algorithm ${show(alg)}`, { input: show(alg) });
  }
  // JWT-SVID §2: the header holds only alg, kid and typ (so no crit, jku, x5u, b64, ...).
  for (const name of Object.keys(header)) {
    if (name !== 'alg' && name !== 'kid' && name !== 'typ') {
      fail('ERR_WID_JWT_BAD_HEADER', `token header has unexpected parameter "${name}"; only alg, kid and typ`, {
        input: name,
      });
    }
  }
  const typ = header['typ'];
  if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') {
    fail('ERR_WID_JWT_BAD_TYP', `token header type not equal to either JWT or JOSE (typ=${show(typ)})`, {
      input: show(typ),
    });
  }
  const kid = header['kid'];
  if (typeof kid !== 'string' || kid === '') fail('ERR_WID_JWT_MISSING_KID', 'token header missing key id');

  const claims = decodeJsonObject(token.slice(d1 + 1, d2), 'payload');
  const signature = decodePart(token.slice(d2 + 1), 'signature');

  const sub = claims['sub'];
  if (sub === undefined || sub === '') fail('ERR_WID_JWT_MISSING_SUBJECT', 'token missing subject claim');
  if (typeof sub !== 'string') {
    fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid subject claim: expected a string, got ${show(sub)}`, {
      input: 'sub',
    });
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(sub);
  } catch (cause) {
    fail('ERR_WID_JWT_BAD_SUBJECT', `token has an invalid subject claim: ${(cause as Error).message}`, {
      input: show(sub),
      cause,
    });
  }

  const exp = claims['exp'];
  if (exp === undefined) fail('ERR_WID_JWT_MISSING_EXPIRY', 'token missing exp claim');
  const expiry = optionalNumericDate(claims, 'exp') as number;
  const nbf = optionalNumericDate(claims, 'nbf');
  const iat = optionalNumericDate(claims, 'iat');

  const aud = claims['aud'];
  let audience: readonly string[];
  if (aud === undefined) fail('ERR_WID_JWT_MISSING_AUDIENCE', 'token missing audience claim');
  if (typeof aud === 'string') {
    audience = Object.freeze([aud]);
  } else if (Array.isArray(aud)) {
    if (aud.length === 0) fail('ERR_WID_JWT_MISSING_AUDIENCE', 'token has an empty audience claim');
    for (const a of aud) {
      if (typeof a !== 'string') {
        fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid audience claim: ${show(a)} is not a string`, {
          input: 'aud',
        });
      }
    }
    audience = aud as string[];
  } else {
    fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid audience claim: expected a string or an array`, {
      input: 'aud',
    });
  }
  for (const name of ['iss', 'jti']) {
    const v = claims[name];
    if (v !== undefined && typeof v !== 'string') {
      fail('ERR_WID_JWT_BAD_CLAIM', `token has an invalid "${name}" claim: expected a string, got ${show(v)}`, {
        input: name,
      });
    }
  }
  return { alg, kid, id, audience, exp: expiry, nbf, iat, claims, signature, signatureStart: d2 + 1 };
}

/** A NumericDate for an error message; values outside Date's range (±8.64e15 s) print as plain numbers. */
function showNumericDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/** JWT-SVID §3.2–3.3 with RFC 7519 §4.1.3–4.1.6, leeway {@link JWT_SVID_LEEWAY_SECONDS}. */
function checkTimesAndAudience(parsed: ParsedToken, nowSeconds: number, expected: readonly string[]): void {
  const td = parsed.id.trustDomain.name;
  if (nowSeconds - JWT_SVID_LEEWAY_SECONDS > parsed.exp) {
    fail('ERR_WID_JWT_EXPIRED', `token has expired (exp=${showNumericDate(parsed.exp)})`, {
      trustDomain: td,
    });
  }
  if (parsed.nbf !== undefined && parsed.nbf > nowSeconds + JWT_SVID_LEEWAY_SECONDS) {
    fail('ERR_WID_JWT_NOT_YET_VALID', `token is not valid yet (nbf=${showNumericDate(parsed.nbf)})`, {
      trustDomain: td,
    });
  }
  if (parsed.iat !== undefined && parsed.iat > nowSeconds + JWT_SVID_LEEWAY_SECONDS) {
    fail('ERR_WID_JWT_ISSUED_IN_FUTURE', `token issued in the future (iat=${showNumericDate(parsed.iat)})`, {
      trustDomain: td,
    });
  }
  for (const a of parsed.audience) {
    if (expected.includes(a)) return;
  }
  fail(
    'ERR_WID_JWT_AUDIENCE_MISMATCH',
    `expected audience in ${JSON.stringify(expected)} (audience=${JSON.stringify(parsed.audience)})`,
    { input: show(parsed.audience), trustDomain: td },
  );
}

function toFields(token: string, parsed: ParsedToken): JwtSvidFields {
  const claims = deepFreeze(parsed.claims);
  return {
    token,
    id: parsed.id,
    audience: parsed.audience, // frozen: either its own one-element array or claims.aud, frozen just above
    expirySeconds: parsed.exp,
    claims,
    hint: undefined,
  };
}

/** Freezes `value` and everything in it. Iterative: claims of an unverified token may be nested arbitrarily deep. */
function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const child of Object.values(v)) stack.push(child);
    }
  }
  return value;
}
