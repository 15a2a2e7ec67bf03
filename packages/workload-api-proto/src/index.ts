/**
 * @wid/workload-api-proto: the SPIFFE Workload API protobuf definition (`proto/workload.proto`, shipped in the
 * package), its gRPC service description loaded lazily with @grpc/proto-loader, TypeScript types of every message,
 * the security header constants, and the Workload Endpoint address parser. Shared by @wid/workload-api-server and
 * @wid/workload-api-client; it contains no server or client logic.
 *
 * @example
 * import { credentials } from '@grpc/grpc-js';
 * import { createWorkloadApiMetadata, loadWorkloadApiDefinition, parseEndpointAddress } from '@wid/workload-api-proto';
 *
 * const { target } = parseEndpointAddress(process.env.SPIFFE_ENDPOINT_SOCKET ?? 'unix:///tmp/agent.sock');
 * const { Client } = loadWorkloadApiDefinition();
 * const client = new Client(target, credentials.createInsecure());
 * client.FetchX509SVID({}, createWorkloadApiMetadata()).on('data', (res) => console.log(res.svids[0]?.spiffe_id));
 */
export { SECURITY_HEADER_KEY, SECURITY_HEADER_VALUE, WORKLOAD_API_SERVICE_NAME } from './constants.js';
export type {
  SpiffeWorkloadApiServiceDefinition,
  WorkloadApiClient,
  WorkloadApiClientConstructor,
  WorkloadApiDefinition,
} from './definition.js';
export {
  createWorkloadApiMetadata,
  loadWorkloadApiDefinition,
  WORKLOAD_PROTO_LOADER_OPTIONS,
  workloadProtoPath,
} from './definition.js';
export type { EndpointAddress, TcpEndpointAddress, UnixEndpointAddress } from './endpoint-address.js';
export { parseEndpointAddress } from './endpoint-address.js';
export type { WorkloadApiProtoErrorCode } from './errors.js';
export { WORKLOAD_API_PROTO_ERROR_CODES, WorkloadEndpointAddressError } from './errors.js';
export type {
  JWTBundlesRequest,
  JWTBundlesResponse,
  JWTSVID,
  JWTSVIDRequest,
  JWTSVIDResponse,
  ProtoListValue,
  ProtoStruct,
  ProtoValue,
  ValidateJWTSVIDRequest,
  ValidateJWTSVIDResponse,
  WITBundlesRequest,
  WITBundlesResponse,
  WITSVID,
  WITSVIDRequest,
  WITSVIDResponse,
  X509BundlesRequest,
  X509BundlesResponse,
  X509SVID,
  X509SVIDRequest,
  X509SVIDResponse,
} from './messages.js';
export { fromProtoStruct, toProtoStruct } from './struct.js';
