/**
 * @wid/workload-api-server/testing: test doubles for packages that plug into or talk to the Workload API server.
 *
 * @example
 * import { FakeWorkloadIdentitySource } from '@wid/workload-api-server/testing';
 * const identities = new FakeWorkloadIdentitySource({ x509Context });
 */
export type { FakeSourceCall, FakeWorkloadIdentitySourceOptions } from './fake-identity-source.js';
export { FakeWorkloadIdentitySource } from './fake-identity-source.js';
