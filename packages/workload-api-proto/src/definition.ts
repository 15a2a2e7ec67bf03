import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type MethodDefinition,
  type requestCallback,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { SECURITY_HEADER_KEY, SECURITY_HEADER_VALUE, WORKLOAD_API_SERVICE_NAME } from './constants.js';
import type {
  JWTBundlesRequest,
  JWTBundlesResponse,
  JWTSVIDRequest,
  JWTSVIDResponse,
  ValidateJWTSVIDRequest,
  ValidateJWTSVIDResponse,
  WITBundlesRequest,
  WITBundlesResponse,
  WITSVIDRequest,
  WITSVIDResponse,
  X509BundlesRequest,
  X509BundlesResponse,
  X509SVIDRequest,
  X509SVIDResponse,
} from './messages.js';

/**
 * The @grpc/proto-loader options the definition is loaded with. Server and client must decode alike, so both use
 * these (through {@link loadWorkloadApiDefinition}).
 *
 * @example
 * loadSync(workloadProtoPath(), WORKLOAD_PROTO_LOADER_OPTIONS);
 */
export const WORKLOAD_PROTO_LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** The gRPC service definition of `SpiffeWorkloadAPI`, with each method's message types. */
export interface SpiffeWorkloadApiServiceDefinition extends ServiceDefinition {
  readonly FetchX509SVID: MethodDefinition<X509SVIDRequest, X509SVIDResponse>;
  readonly FetchX509Bundles: MethodDefinition<X509BundlesRequest, X509BundlesResponse>;
  readonly FetchJWTSVID: MethodDefinition<JWTSVIDRequest, JWTSVIDResponse>;
  readonly FetchJWTBundles: MethodDefinition<JWTBundlesRequest, JWTBundlesResponse>;
  readonly ValidateJWTSVID: MethodDefinition<ValidateJWTSVIDRequest, ValidateJWTSVIDResponse>;
  readonly FetchWITSVID: MethodDefinition<WITSVIDRequest, WITSVIDResponse>;
  readonly FetchWITBundles: MethodDefinition<WITBundlesRequest, WITBundlesResponse>;
}

type Unary<Req, Res> = {
  (
    request: Partial<Req>,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: requestCallback<Res>,
  ): ClientUnaryCall;
  (request: Partial<Req>, metadata: Metadata, callback: requestCallback<Res>): ClientUnaryCall;
};
type ServerStream<Req, Res> = (
  request: Partial<Req>,
  metadata: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

/** A generic grpc-js client of `SpiffeWorkloadAPI` (callers must add the security header: {@link createWorkloadApiMetadata}). */
export interface WorkloadApiClient extends Client {
  FetchX509SVID: ServerStream<X509SVIDRequest, X509SVIDResponse>;
  FetchX509Bundles: ServerStream<X509BundlesRequest, X509BundlesResponse>;
  FetchJWTSVID: Unary<JWTSVIDRequest, JWTSVIDResponse>;
  FetchJWTBundles: ServerStream<JWTBundlesRequest, JWTBundlesResponse>;
  ValidateJWTSVID: Unary<ValidateJWTSVIDRequest, ValidateJWTSVIDResponse>;
  FetchWITSVID: ServerStream<WITSVIDRequest, WITSVIDResponse>;
  FetchWITBundles: ServerStream<WITBundlesRequest, WITBundlesResponse>;
}

/** Constructor of {@link WorkloadApiClient} (`new Client(target, credentials.createInsecure(), options)`). */
export type WorkloadApiClientConstructor = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ClientOptions,
) => WorkloadApiClient;

/** Everything {@link loadWorkloadApiDefinition} produces. */
export interface WorkloadApiDefinition {
  /** The raw proto-loader package definition (all messages, keyed by fully-qualified name). */
  readonly packageDefinition: PackageDefinition;
  /** The service definition to pass to `server.addService`. */
  readonly service: SpiffeWorkloadApiServiceDefinition;
  /** A client constructor for the service. */
  readonly Client: WorkloadApiClientConstructor;
}

/**
 * Absolute path of the shipped `workload.proto` (for tools that want the file itself, e.g. other-language codegen).
 *
 * @example
 * readFileSync(workloadProtoPath(), 'utf8');
 */
export function workloadProtoPath(): string {
  // src/ and dist/ are both one level below the package root, where proto/ lives.
  return fileURLToPath(new URL('../proto/workload.proto', import.meta.url));
}

let cached: WorkloadApiDefinition | undefined;

/**
 * Loads (once, on first call; nothing happens at import) the Workload API definition with
 * {@link WORKLOAD_PROTO_LOADER_OPTIONS}. `google/protobuf/struct.proto` comes from the copy protobufjs bundles.
 *
 * @example
 * import { credentials, Server } from '@grpc/grpc-js';
 * const { service, Client } = loadWorkloadApiDefinition();
 * const client = new Client('unix:///run/spiffe/agent.sock', credentials.createInsecure());
 */
export function loadWorkloadApiDefinition(): WorkloadApiDefinition {
  if (cached !== undefined) return cached;
  const protoFile = workloadProtoPath();
  const packageDefinition = loadSync('workload.proto', {
    ...WORKLOAD_PROTO_LOADER_OPTIONS,
    includeDirs: [dirname(protoFile)],
  });
  const grpcObject: GrpcObject = loadPackageDefinition(packageDefinition);
  const Client = grpcObject[WORKLOAD_API_SERVICE_NAME] as ServiceClientConstructor;
  cached = Object.freeze({
    packageDefinition,
    service: Client.service as SpiffeWorkloadApiServiceDefinition,
    Client: Client as unknown as WorkloadApiClientConstructor,
  });
  return cached;
}

/**
 * Fresh call metadata carrying the mandatory security header `workload.spiffe.io: true` (Workload Endpoint §5).
 *
 * @example
 * client.FetchX509SVID({}, createWorkloadApiMetadata());
 */
export function createWorkloadApiMetadata(): Metadata {
  const metadata = new Metadata();
  metadata.set(SECURITY_HEADER_KEY, SECURITY_HEADER_VALUE);
  return metadata;
}
