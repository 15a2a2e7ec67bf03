/**
 * @wid/svid-issuer: a SPIFFE certificate authority (X.509-SVIDs and JWT-SVIDs), SPIFFE bundles, and the
 * verification of SVIDs against bundles — shaped like go-spiffe's x509svid, jwtsvid and bundle packages.
 */
export type { SvidIssuerErrorCode, SvidIssuerErrorFields } from './errors.js';
export { SVID_ISSUER_ERROR_CODES, SvidIssuerError } from './errors.js';

// --- X.509, CA and keys ---

export type {
  AuthorityStatus,
  CaLogger,
  CertificateAuthority,
  CertificateAuthorityEvent,
  CertificateAuthorityEventType,
  CertificateAuthorityOptions,
  CertificateAuthorityState,
  DistinguishedName,
  IssuedX509Svid,
  IssueJwtSvidRequest,
  IssueX509SvidRequest,
  JwtKeyInfo,
  RotationOptions,
  UpstreamAuthority,
  X509AuthorityInfo,
} from './certificate-authority.js';
export { createCertificateAuthority } from './certificate-authority.js';
export type { X509ErrorCode } from './errors.js';
export type { KeyType } from './key-type.js';
export { generateKeyPair, isKeyType, KEY_TYPES, keyTypeOf } from './key-type.js';
export type { VerifiedX509Svid, VerifyX509SvidOptions } from './verify-x509-svid.js';
export { parseAndVerifyX509Svid, verifyX509Svid } from './verify-x509-svid.js';
export type { X509BundleSource } from './x509-bundle.js';
export { X509Bundle } from './x509-bundle.js';
export type { X509SvidParseOptions, X509SvidSource } from './x509-svid.js';
export { X509Svid } from './x509-svid.js';
// --- end X.509 ---

// --- JWT and bundles ---
export { JwtBundleSet, SpiffeBundleSet, X509BundleSet } from './bundle-set.js';
export type { JwtBundleErrorCode } from './errors.js';
export { JWT_ALGORITHMS } from './internal/jws.js';
export type { JwtBundleSource } from './jwt-bundle.js';
export { JwtBundle } from './jwt-bundle.js';
export type { JwtAlgorithm, JwtSvidValidateOptions, SignJwtSvidOptions } from './jwt-svid.js';
export { JWT_SVID_LEEWAY_SECONDS, JwtSvid, signJwtSvid } from './jwt-svid.js';
export type { SpiffeBundleOptions, SpiffeBundleSource } from './spiffe-bundle.js';
export { SpiffeBundle } from './spiffe-bundle.js';
// --- end JWT and bundles ---
