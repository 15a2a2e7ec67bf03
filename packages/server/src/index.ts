/**
 * @wid/server: the wid issuance service. Workload attributes + a selector go in; @wid/rule-engine decides,
 * @wid/svid-issuer signs, every credential issued or denied is audited. Also the CA's storage (memory, or a
 * directory written atomically with 0600 files) with rotation on schedule, and the agent's SVID cache that serves
 * the Workload API (shared SVIDs per decision, renewal at half-life pushed to every stream).
 *
 * @example
 * import { createDirectoryStorage, createIssuanceService, createWorkloadIdentityCache, openCertificateAuthority } from '@wid/server';
 * import { loadWorkloadIdentities } from '@wid/rule-engine';
 *
 * const managed = await openCertificateAuthority({ storage: createDirectoryStorage({ path: './state' }), trustDomain: 'example.org' });
 * const issuance = createIssuanceService({ ca: managed.ca, identities: loadWorkloadIdentities(yaml, { trustDomain: 'example.org' }) });
 * const cache = createWorkloadIdentityCache({ issuance, selector: { names: ['web'] } });
 * // createWorkloadApiServer({ listen, attestors, identities: cache })
 */
export type { AuditEvent, AuditSink } from './audit.js';
export { AUDIT_MAX_AUDIENCE_LENGTH, AUDIT_MAX_AUDIENCES } from './audit.js';
export type {
  CaSettings,
  ManagedCertificateAuthority,
  OpenCertificateAuthorityOptions,
} from './certificate-authority-store.js';
export { openCertificateAuthority } from './certificate-authority-store.js';
export type {
  DirectoryStorage,
  DirectoryStorageFileHandle,
  DirectoryStorageFs,
  DirectoryStorageOptions,
} from './directory-storage.js';
export { createDirectoryStorage } from './directory-storage.js';
export type { ServerErrorCode, ServerErrorFields } from './errors.js';
export { SERVER_ERROR_CODES, ServerError } from './errors.js';
export type {
  DecidedIdentity,
  DecideIdentitiesRequest,
  DecideIdentitiesResult,
  IdentitySelector,
  IssuanceDenial,
  IssuanceRequestBase,
  IssuanceResult,
  IssuanceService,
  IssuanceServiceOptions,
  IssuedCredentialBase,
  IssuedJwtCredential,
  IssuedX509Credential,
  JwtIssuanceRequest,
  LocalIssuanceService,
  ValidatedToken,
  X509IssuanceRequest,
} from './issuance-service.js';
export { createIssuanceService } from './issuance-service.js';
export type { Clock, ServerLogger, Timers } from './logger.js';
export type { Storage } from './storage.js';
export { createMemoryStorage } from './storage.js';
export type {
  RetryOptions,
  WorkloadIdentityCache,
  WorkloadIdentityCacheOptions,
  WorkloadIdentityCacheStats,
} from './workload-identity-cache.js';
export { createWorkloadIdentityCache } from './workload-identity-cache.js';
export type {
  JwtBundleSet,
  JwtSvidRequest,
  ValidatedJwtSvid,
  WorkloadAttributes,
  WorkloadJwtSvid,
  WorkloadX509Svid,
  X509BundleSet,
  X509Context,
} from './workload-source-types.js';
