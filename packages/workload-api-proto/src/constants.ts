/**
 * The metadata key every Workload API request must carry (Workload Endpoint §5). gRPC metadata keys are lowercase.
 *
 * @example
 * const md = new Metadata();
 * md.set(SECURITY_HEADER_KEY, SECURITY_HEADER_VALUE);
 */
export const SECURITY_HEADER_KEY = 'workload.spiffe.io';

/**
 * The exact value the security header must have (case-sensitive, Workload Endpoint §5).
 *
 * @example
 * metadata.get(SECURITY_HEADER_KEY).includes(SECURITY_HEADER_VALUE);
 */
export const SECURITY_HEADER_VALUE = 'true';

/**
 * The gRPC service name; with no proto package the wire paths are `/SpiffeWorkloadAPI/<Method>`.
 *
 * @example
 * `/${WORKLOAD_API_SERVICE_NAME}/FetchX509SVID`;
 */
export const WORKLOAD_API_SERVICE_NAME = 'SpiffeWorkloadAPI';
