import { WidError } from '@wid/spiffe-id';

/**
 * Every code @wid/workload-api-client throws, with what the user should do (docs/errors.md is generated from this).
 * Codes are append-only: users match on them.
 */
export const CLIENT_ERROR_CODES = {
  ERR_WID_CLIENT_ADDRESS_MISSING:
    'Pass `address` (e.g. unix:///run/spiffe/agent.sock) or set SPIFFE_ENDPOINT_SOCKET in the environment.',
  ERR_WID_CLIENT_ADDRESS_INVALID:
    'Use unix:///absolute/path, unix:/absolute/path or tcp://<IP>:<port> (Workload Endpoint §4); see `cause`.',
  ERR_WID_CLIENT_INVALID_OPTION: 'Fix the option named in `option`; the message says what is accepted.',
  ERR_WID_CLIENT_INVALID_ARGUMENT:
    'The Workload API rejected the request (gRPC InvalidArgument: missing security header or field, invalid token); do not retry, fix the request.',
  ERR_WID_CLIENT_PERMISSION_DENIED:
    'The Workload API has no identity for this process (gRPC PermissionDenied); check the workload identity rules and the attested attributes.',
  ERR_WID_CLIENT_UNAVAILABLE:
    'The Workload API is not reachable or is temporarily failing (gRPC Unavailable); check that the agent runs and the socket path is right, then retry.',
  ERR_WID_CLIENT_UNIMPLEMENTED:
    'The Workload API does not implement this method (gRPC Unimplemented); upgrade the agent.',
  ERR_WID_CLIENT_DEADLINE_EXCEEDED:
    'The call took longer than its deadline (gRPC DeadlineExceeded); retry or raise it.',
  ERR_WID_CLIENT_RPC_FAILED:
    'The call failed with the gRPC status in `grpcCode`; see `grpcDetails` and the agent logs.',
  ERR_WID_CLIENT_MALFORMED_RESPONSE:
    'The Workload API sent a response that does not hold valid SVIDs or bundles; see `field` and `cause`, and report it to the agent operator.',
  ERR_WID_CLIENT_ABORTED: 'The call was aborted through its AbortSignal; `cause` is the signal reason.',
  ERR_WID_CLIENT_CLOSED: 'The client was closed; create a new client to make more calls.',
} as const;

/** Union of every code @wid/workload-api-client throws. */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

/** Structured fields of a {@link WorkloadApiClientError}. */
export interface WorkloadApiClientErrorFields {
  /** The gRPC status code of the failed call (e.g. 3 = InvalidArgument, 7 = PermissionDenied, 14 = Unavailable). */
  readonly grpcCode?: number;
  /** The gRPC status details (the server's message), when the call failed with a status. */
  readonly grpcDetails?: string;
  /** The Workload API method, e.g. `FetchX509SVID`. */
  readonly method?: string;
  /** The endpoint address the client talks to. */
  readonly address?: string;
  /** For malformed responses: which part of the response was at fault, e.g. `svids[0].x509_svid`. */
  readonly field?: string;
  /** For invalid options: the option's name. */
  readonly option?: string;
  readonly cause?: unknown;
}

/**
 * Thrown (or reported to `onError` by watches) for every client failure. Match on `code`; gRPC failures also carry
 * the status code as `grpcCode`.
 *
 * @example
 * try { await client.fetchX509Context(); } catch (e) {
 *   if (isWidError(e, 'ERR_WID_CLIENT_PERMISSION_DENIED')) console.error('no identity for this process');
 * }
 */
export class WorkloadApiClientError extends WidError {
  declare readonly code: ClientErrorCode;
  readonly grpcCode: number | undefined;
  readonly grpcDetails: string | undefined;
  readonly method: string | undefined;
  readonly address: string | undefined;
  readonly field: string | undefined;
  readonly option: string | undefined;

  constructor(code: ClientErrorCode, message: string, fields: WorkloadApiClientErrorFields = {}) {
    super(code, message, { cause: fields.cause });
    this.grpcCode = fields.grpcCode;
    this.grpcDetails = fields.grpcDetails;
    this.method = fields.method;
    this.address = fields.address;
    this.field = fields.field;
    this.option = fields.option;
  }
}
