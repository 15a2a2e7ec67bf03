/**
 * @wid/workload-api-client: the Node SDK for workloads — fetch and watch X.509-SVIDs, JWT-SVIDs and bundles from a
 * SPIFFE Workload API endpoint (go-spiffe's `workloadapi` for Node). Results are validated @wid/svid-issuer values;
 * failures are typed `ERR_WID_CLIENT_*` errors carrying the gRPC status.
 *
 * @example
 * import { createWorkloadApiClient } from '@wid/workload-api-client';
 *
 * // Address from SPIFFE_ENDPOINT_SOCKET, e.g. unix:///run/spiffe/agent.sock
 * await using client = createWorkloadApiClient();
 * const { svids, bundles } = await client.fetchX509Context();
 * const token = await client.fetchJwtSvid({ audience: 'https://api.example.org' });
 */

export { SPIFFE_ENDPOINT_SOCKET } from './endpoint-address.js';
export type { ClientErrorCode, WorkloadApiClientErrorFields } from './errors.js';
export { CLIENT_ERROR_CODES, WorkloadApiClientError } from './errors.js';
export type {
  CallOptions,
  FetchJwtSvidOptions,
  WatchBackoffOptions,
  WatchOptions,
  WorkloadApiClient,
  WorkloadApiClientLogger,
  WorkloadApiClientOptions,
  WorkloadApiClientTimers,
} from './workload-api-client.js';
export { createWorkloadApiClient } from './workload-api-client.js';
export type { X509Context } from './x509-context.js';
