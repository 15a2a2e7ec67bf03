/**
 * @wid/workload-api-server: the SPIFFE Workload API (Workload Endpoint + Workload API standards) served over gRPC on
 * a Unix socket the package accepts itself, so every call is tied to the kernel peer credentials of its connection.
 * Callers are attested per call by pluggable {@link WorkloadAttestor}s; identities come from any
 * {@link WorkloadIdentitySource}. It imports no attestor and no issuer: both plug in by shape.
 *
 * Test double for other packages: `FakeWorkloadIdentitySource` from `@wid/workload-api-server/testing`.
 *
 * @example
 * import { createUnixAttestor } from '@wid/attestor-unix';
 * import { createWorkloadApiServer } from '@wid/workload-api-server';
 *
 * await using server = createWorkloadApiServer({
 *   listen: 'unix:///run/wid/agent.sock',
 *   attestors: [createUnixAttestor()],
 *   identities, // a WorkloadIdentitySource
 * });
 * await server.listen();
 */
export type { PeerCredentials, PeerCredentialsAttestor, WorkloadAttestor, WorkloadAttributes } from './attestor.js';
export { isPeerCredentialsAttestor } from './attestor.js';
export type { WorkloadApiServerErrorCode, WorkloadIdentityErrorCode } from './errors.js';
export {
  ERR_WID_WORKLOAD_INVALID_TOKEN,
  ERR_WID_WORKLOAD_NO_IDENTITY,
  WORKLOAD_API_SERVER_ERROR_CODES,
  WorkloadApiServerError,
  WorkloadIdentityError,
} from './errors.js';
export type {
  JwtBundleSet,
  JwtSvidRequest,
  ValidatedJwtSvid,
  WorkloadIdentitySource,
  WorkloadJwtSvid,
  WorkloadX509Svid,
  X509BundleSet,
  X509Context,
} from './identity-source.js';
export type { Logger } from './logger.js';
export type { WorkloadApiServer, WorkloadApiServerOptions } from './server.js';
export { createWorkloadApiServer } from './server.js';
