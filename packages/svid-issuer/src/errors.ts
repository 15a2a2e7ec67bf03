import { WidError } from '@wid/spiffe-id';

// Codes are append-only: users match on them. Every code is listed in SVID_ISSUER_ERROR_CODES with what to do.

// --- X.509, CA and key codes (owned by the X.509 work) ---
const X509_CA_ERROR_CODES = {
  ERR_WID_X509_BAD_PEM:
    'Pass PEM text holding only the expected block type (CERTIFICATE, PRIVATE KEY or CERTIFICATE REQUEST) with valid base64.',
  ERR_WID_X509_NO_CERTIFICATES: 'Pass at least one certificate (the leaf first, then its intermediates).',
  ERR_WID_X509_BAD_CERTIFICATE:
    'The bytes are not a well-formed DER X.509 certificate (see `index`); check the source and that DER/PEM was not mixed up.',
  ERR_WID_X509_BAD_PRIVATE_KEY: 'Pass an unencrypted PKCS#8 private key ("PRIVATE KEY" PEM block or PKCS#8 DER).',
  ERR_WID_X509_KEY_MISMATCH: 'Pass the private key that belongs to the leaf certificate (the first one in the chain).',
  ERR_WID_X509_NO_URI_SAN: 'An X.509-SVID needs exactly one URI SAN holding its SPIFFE ID; this certificate has none.',
  ERR_WID_X509_MULTIPLE_URI_SANS: 'An X.509-SVID must carry exactly one URI SAN; re-issue it with a single SPIFFE ID.',
  ERR_WID_X509_BAD_SPIFFE_ID: 'The URI SAN is not a valid SPIFFE ID (see the cause); re-issue the certificate.',
  ERR_WID_X509_ROOT_PATH_ID:
    'An X.509-SVID (leaf) SPIFFE ID needs a non-root path, e.g. spiffe://example.org/workload, not spiffe://example.org.',
  ERR_WID_X509_LEAF_IS_CA: 'A CA certificate was offered as an SVID; pass the leaf certificate first in the chain.',
  ERR_WID_X509_LEAF_NO_DIGITAL_SIGNATURE: 'Re-issue the leaf with keyUsage digitalSignature (X509-SVID §4.3).',
  ERR_WID_X509_LEAF_KEY_CERT_SIGN: 'A leaf SVID must not have keyUsage keyCertSign; re-issue it as a leaf.',
  ERR_WID_X509_LEAF_CRL_SIGN: 'A leaf SVID must not have keyUsage cRLSign; re-issue it as a leaf.',
  ERR_WID_X509_SIGNING_CERT_NOT_CA:
    'Every certificate after the leaf must be a CA (basicConstraints cA=true); remove stray certificates from the chain.',
  ERR_WID_X509_SIGNING_CERT_NO_KEY_CERT_SIGN: 'Every signing certificate needs keyUsage keyCertSign; fix the CA.',
  ERR_WID_X509_NO_BUNDLE:
    "No X.509 bundle is known for the SVID's trust domain; configure (or federate) that trust domain's bundle.",
  ERR_WID_X509_UNTRUSTED:
    "The chain does not lead to an authority in the trust domain's bundle; check the bundle is current and intermediates are sent.",
  ERR_WID_X509_BAD_SIGNATURE:
    'A certificate signature does not verify (see `index`): the chain was tampered with or mixed up.',
  ERR_WID_X509_EXPIRED:
    "A certificate in the chain has expired (see `index`); renew it, or check the verifier's clock.",
  ERR_WID_X509_NOT_YET_VALID:
    'A certificate in the chain is not valid yet (see `index`); check clocks on the issuer and the verifier.',
  ERR_WID_X509_PATH_TOO_LONG: "A CA's pathLenConstraint forbids this many intermediates; shorten the chain.",
  ERR_WID_X509_UNHANDLED_CRITICAL_EXTENSION:
    'A certificate carries a critical extension wid does not process, so it must be rejected (RFC 5280 §4.2).',
  ERR_WID_X509_NAME_CONSTRAINT: "A CA's name constraints do not permit the names in the leaf certificate.",
  ERR_WID_X509_BAD_CSR: 'Pass a DER or PEM PKCS#10 certificate signing request.',
  ERR_WID_X509_CSR_SIGNATURE:
    "The CSR's self-signature does not verify (or uses an unsupported algorithm); build the CSR with the key it names.",
  ERR_WID_X509_BAD_PUBLIC_KEY:
    'Pass the workload public key as a KeyObject of type "public" or SubjectPublicKeyInfo DER.',
  ERR_WID_X509_UNSUPPORTED_KEY: 'Use one of the supported key types: EC P-256, EC P-384, RSA 2048/3072/4096.',
  ERR_WID_X509_BAD_OPTION: 'Fix the named verification option (e.g. pass a valid Date as `now`).',
  ERR_WID_CA_BAD_OPTION: 'Fix the named certificate authority option (see the message for what is accepted).',
  ERR_WID_CA_BAD_UPSTREAM:
    'Pass an upstream CA certificate chain (signing CA first) with its matching private key and a trust bundle it chains to.',
  ERR_WID_CA_BAD_REQUEST: 'Fix the named issuance argument (see the message for what is accepted).',
  ERR_WID_CA_WRONG_TRUST_DOMAIN: 'Ask this CA only for SPIFFE IDs in its own trust domain.',
  ERR_WID_CA_EXPIRED:
    'The CA (or its upstream) has expired and cannot sign; renew the upstream CA or check the clock passed to the CA.',
  ERR_WID_CA_BAD_STATE:
    'The saved CA state is corrupt or belongs to another trust domain; restore a state exported by exportState().',
} as const;

export type X509ErrorCode = keyof typeof X509_CA_ERROR_CODES;
// --- end X.509 codes ---

// --- JWT and bundle codes (owned by the JWT/bundle work) ---
export type JwtBundleErrorCode =
  | 'ERR_WID_JWT_MALFORMED'
  | 'ERR_WID_JWT_BAD_ENCODING'
  | 'ERR_WID_JWT_BAD_JSON'
  | 'ERR_WID_JWT_UNSUPPORTED_ALG'
  | 'ERR_WID_JWT_BAD_HEADER'
  | 'ERR_WID_JWT_BAD_TYP'
  | 'ERR_WID_JWT_MISSING_KID'
  | 'ERR_WID_JWT_MISSING_SUBJECT'
  | 'ERR_WID_JWT_BAD_SUBJECT'
  | 'ERR_WID_JWT_MISSING_AUDIENCE'
  | 'ERR_WID_JWT_MISSING_EXPIRY'
  | 'ERR_WID_JWT_BAD_CLAIM'
  | 'ERR_WID_JWT_NO_EXPECTED_AUDIENCE'
  | 'ERR_WID_JWT_AUDIENCE_MISMATCH'
  | 'ERR_WID_JWT_EXPIRED'
  | 'ERR_WID_JWT_NOT_YET_VALID'
  | 'ERR_WID_JWT_ISSUED_IN_FUTURE'
  | 'ERR_WID_JWT_NO_BUNDLE'
  | 'ERR_WID_JWT_UNKNOWN_KID'
  | 'ERR_WID_JWT_KEY_ALG_MISMATCH'
  | 'ERR_WID_JWT_BAD_SIGNATURE'
  | 'ERR_WID_JWT_RESERVED_CLAIM'
  | 'ERR_WID_JWT_INVALID_OPTIONS'
  | 'ERR_WID_JWT_UNSUPPORTED_KEY'
  | 'ERR_WID_BUNDLE_BAD_JSON'
  | 'ERR_WID_BUNDLE_MISSING_KEYS'
  | 'ERR_WID_BUNDLE_BAD_KEYS'
  | 'ERR_WID_BUNDLE_BAD_KEY'
  | 'ERR_WID_BUNDLE_MISSING_KID'
  | 'ERR_WID_BUNDLE_DUPLICATE_KID'
  | 'ERR_WID_BUNDLE_BAD_SEQUENCE'
  | 'ERR_WID_BUNDLE_BAD_REFRESH_HINT';
// --- end JWT and bundle codes ---

export type SvidIssuerErrorCode = X509ErrorCode | JwtBundleErrorCode;

/** Fields that say which input failed and where. */
export interface SvidIssuerErrorFields {
  /** The offending value, shortened, never a private key. */
  readonly input?: string;
  /** Index of the certificate in a chain, when one is at fault. */
  readonly index?: number;
  /** Trust domain involved, when known. */
  readonly trustDomain?: string;
  /** Key id (kid) involved, when known. */
  readonly kid?: string;
  readonly cause?: unknown;
}

/** Thrown by every parse, verify, validate and issue failure in @wid/svid-issuer. Match on `code`. */
export class SvidIssuerError extends WidError {
  declare readonly code: SvidIssuerErrorCode;
  readonly input: string | undefined;
  readonly index: number | undefined;
  readonly trustDomain: string | undefined;
  readonly kid: string | undefined;

  constructor(code: SvidIssuerErrorCode, message: string, fields: SvidIssuerErrorFields = {}) {
    super(code, message, { cause: fields.cause });
    this.input = fields.input;
    this.index = fields.index;
    this.trustDomain = fields.trustDomain;
    this.kid = fields.kid;
  }
}

/** Every code with what the user should do about it (docs/errors.md is generated from this). */
export const SVID_ISSUER_ERROR_CODES: Record<SvidIssuerErrorCode, string> = {
  // --- X.509, CA and key codes ---
  ...X509_CA_ERROR_CODES,
  // --- JWT and bundle codes ---
  ERR_WID_JWT_MALFORMED:
    'Pass a JWT-SVID in JWS compact serialization: three base64url parts separated by "." (JSON serialization, JWE and unsigned tokens are not JWT-SVIDs).',
  ERR_WID_JWT_BAD_ENCODING:
    'A token part is not canonical base64url without padding; pass the token exactly as issued (no "=", "+", "/" or whitespace).',
  ERR_WID_JWT_BAD_JSON: 'The token header or payload is not a JSON object; the token is corrupt or not a JWT.',
  ERR_WID_JWT_UNSUPPORTED_ALG:
    'Sign with RS256/384/512, ES256/384/512 or PS256/384/512 (JWT-SVID §3); "none", HS* and EdDSA are never accepted.',
  ERR_WID_JWT_BAD_HEADER:
    'The JOSE header may hold only "alg", "kid" and "typ" (JWT-SVID §2); reissue the token without other parameters.',
  ERR_WID_JWT_BAD_TYP: 'Set the header "typ" to "JWT" or "JOSE", or leave it out (JWT-SVID §2.3).',
  ERR_WID_JWT_MISSING_KID:
    'The token header must carry the "kid" of the signing key; reissue it from an issuer that sets "kid".',
  ERR_WID_JWT_MISSING_SUBJECT: 'The token must carry a "sub" claim holding the SPIFFE ID (JWT-SVID §3.1).',
  ERR_WID_JWT_BAD_SUBJECT:
    'The "sub" claim must be a valid SPIFFE ID such as spiffe://example.org/workload; see the cause.',
  ERR_WID_JWT_MISSING_AUDIENCE:
    'The token must carry an "aud" claim with at least one audience (JWT-SVID §3.2); request it with an audience.',
  ERR_WID_JWT_MISSING_EXPIRY: 'The token must carry an "exp" claim (JWT-SVID §3.3).',
  ERR_WID_JWT_BAD_CLAIM:
    'A registered claim has the wrong type (exp/iat/nbf numbers, aud a string or array of strings, iss/jti strings) or a claim is not JSON-serializable.',
  ERR_WID_JWT_NO_EXPECTED_AUDIENCE:
    'Programming error: pass at least one expected audience to the validator; validating without an audience is refused.',
  ERR_WID_JWT_AUDIENCE_MISMATCH:
    'The token was minted for another audience; fetch a JWT-SVID for the audience this service expects.',
  ERR_WID_JWT_EXPIRED: 'The token has expired; fetch a fresh JWT-SVID (and check the clocks of issuer and validator).',
  ERR_WID_JWT_NOT_YET_VALID: 'The token\'s "nbf" is in the future; check the clocks of issuer and validator.',
  ERR_WID_JWT_ISSUED_IN_FUTURE: 'The token\'s "iat" is in the future; check the clocks of issuer and validator.',
  ERR_WID_JWT_NO_BUNDLE:
    "No JWT bundle is known for the token's trust domain; federate with that trust domain or reject tokens from it.",
  ERR_WID_JWT_UNKNOWN_KID:
    'The bundle of the token\'s trust domain has no key with this "kid"; refresh the bundle, or the key was revoked.',
  ERR_WID_JWT_KEY_ALG_MISMATCH:
    'The key does not fit the algorithm (ES256 needs P-256, ES384 P-384, ES512 P-521, RS*/PS* an RSA key of ≥ 2048 bits).',
  ERR_WID_JWT_BAD_SIGNATURE:
    'The token signature does not verify with the bundle key: the token was forged or altered.',
  ERR_WID_JWT_RESERVED_CLAIM: 'Remove "sub", "aud", "exp", "iat" and "jti" from extra claims; the issuer sets them.',
  ERR_WID_JWT_INVALID_OPTIONS:
    'Fix the named option: a non-empty audience list of non-empty strings, ttlSeconds ≥ 1, a non-empty kid, a valid `now` Date.',
  ERR_WID_JWT_UNSUPPORTED_KEY: 'Sign JWT-SVIDs with a private EC (P-256, P-384, P-521) or RSA KeyObject.',
  ERR_WID_BUNDLE_BAD_JSON: 'The bundle is not a JSON object; pass the JWK Set document (RFC 7517) as published.',
  ERR_WID_BUNDLE_MISSING_KEYS: 'The bundle has no "keys" member; a bundle with no authorities is "keys": [].',
  ERR_WID_BUNDLE_BAD_KEYS: 'The bundle\'s "keys" must be an array of JSON objects.',
  ERR_WID_BUNDLE_BAD_KEY:
    'A key in the bundle is invalid (bad EC/RSA parameters, bad x5c certificate, private key material, or an unsupported KeyObject); fix the entry at `index`.',
  ERR_WID_BUNDLE_MISSING_KID: 'Every "jwt-svid" key needs a non-empty "kid"; add one to the entry at `index`.',
  ERR_WID_BUNDLE_DUPLICATE_KID: 'Two different JWT keys share one "kid"; give each key a unique kid.',
  ERR_WID_BUNDLE_BAD_SEQUENCE:
    '"spiffe_sequence" must be an integer from 0 to 2^64-1 (written without fraction or exponent).',
  ERR_WID_BUNDLE_BAD_REFRESH_HINT: '"spiffe_refresh_hint" must be a non-negative integer number of seconds.',
};
