import { WidError } from '@wid/spiffe-id';

/** Every code @wid/workload-api-proto throws, with what the user should do (docs/errors.md is generated from this). */
export const WORKLOAD_API_PROTO_ERROR_CODES = {
  ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI:
    'Set the Workload Endpoint address (SPIFFE_ENDPOINT_SOCKET) to a URI such as unix:///run/spiffe/agent.sock or tcp://127.0.0.1:8081.',
  ERR_WID_WORKLOAD_ENDPOINT_BAD_SCHEME: 'Use the "unix" or "tcp" scheme for the Workload Endpoint address.',
  ERR_WID_WORKLOAD_ENDPOINT_UNIX_AUTHORITY:
    'Write the socket as unix:///absolute/path or unix:/absolute/path; a unix URI must not name a host (unix://host/...).',
  ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE:
    'Give the socket an absolute path (unix:///absolute/path); relative paths such as unix:relative are not allowed.',
  ERR_WID_WORKLOAD_ENDPOINT_UNIX_NO_PATH: 'Add the absolute socket path to the unix URI (unix:///path/to/socket).',
  ERR_WID_WORKLOAD_ENDPOINT_USERINFO: 'Remove the user info (user@) from the Workload Endpoint address.',
  ERR_WID_WORKLOAD_ENDPOINT_QUERY: 'Remove the query (?...) from the Workload Endpoint address.',
  ERR_WID_WORKLOAD_ENDPOINT_FRAGMENT: 'Remove the fragment (#...) from the Workload Endpoint address.',
  ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_HOST: 'Add an IP address and port to the tcp URI (tcp://127.0.0.1:8081).',
  ERR_WID_WORKLOAD_ENDPOINT_TCP_NOT_IP:
    'Use an IP literal for the tcp host (tcp://127.0.0.1:8081 or tcp://[::1]:8081); host names are not allowed.',
  ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_PORT: 'Add a port (1-65535) to the tcp URI (tcp://127.0.0.1:8081).',
  ERR_WID_WORKLOAD_ENDPOINT_TCP_PATH: 'Remove the path from the tcp URI; it must be exactly tcp://<IP>:<port>.',
} as const;

/** A code of {@link WorkloadEndpointAddressError}. */
export type WorkloadApiProtoErrorCode = keyof typeof WORKLOAD_API_PROTO_ERROR_CODES;

/**
 * Thrown by {@link parseEndpointAddress} when a Workload Endpoint address breaks Workload Endpoint §4.
 * `input` is the address as given.
 *
 * @example
 * try { parseEndpointAddress('unix:relative') } catch (e) {
 *   if (isWidError(e, 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE')) ...
 * }
 */
export class WorkloadEndpointAddressError extends WidError {
  declare readonly code: WorkloadApiProtoErrorCode;
  /** The address that failed validation. */
  readonly input: string;

  constructor(code: WorkloadApiProtoErrorCode, message: string, input: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.input = input;
  }
}
