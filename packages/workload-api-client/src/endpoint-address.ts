import { type EndpointAddress, parseEndpointAddress } from '@wid/workload-api-proto';
import { WorkloadApiClientError } from './errors.js';

/** The environment variable holding the Workload Endpoint address (Workload Endpoint §4). */
export const SPIFFE_ENDPOINT_SOCKET = 'SPIFFE_ENDPOINT_SOCKET';

/**
 * The explicit `address`, else `env.SPIFFE_ENDPOINT_SOCKET`, parsed per Workload Endpoint §4 (an empty variable counts
 * as unset, as go-spiffe does).
 */
export function resolveEndpointAddress(
  address: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): EndpointAddress {
  const raw = address ?? env[SPIFFE_ENDPOINT_SOCKET];
  if (raw === undefined || raw === '') {
    throw new WorkloadApiClientError(
      'ERR_WID_CLIENT_ADDRESS_MISSING',
      `workload endpoint socket address is not configured: pass \`address\` or set ${SPIFFE_ENDPOINT_SOCKET}`,
      { option: 'address' },
    );
  }
  try {
    return parseEndpointAddress(raw);
  } catch (cause) {
    const from = address === undefined ? SPIFFE_ENDPOINT_SOCKET : '`address`';
    throw new WorkloadApiClientError(
      'ERR_WID_CLIENT_ADDRESS_INVALID',
      `invalid workload endpoint socket address from ${from}: ${(cause as Error).message}`,
      { address: raw, option: address === undefined ? SPIFFE_ENDPOINT_SOCKET : 'address', cause },
    );
  }
}
