import { WidError } from '@wid/spiffe-id';

/**
 * Every code @wid/workload-api-server throws or expects, with what the user should do (docs/errors.md is generated
 * from this). The two `ERR_WID_WORKLOAD_*` codes are thrown by a {@link WorkloadIdentitySource} to tell the server
 * which gRPC status to answer with.
 */
export const WORKLOAD_API_SERVER_ERROR_CODES = {
  ERR_WID_WORKLOAD_NO_IDENTITY:
    'The caller was attested but no workload identity rule grants it an identity (answered PermissionDenied): check the rules against the attributes logged for the call.',
  ERR_WID_WORKLOAD_INVALID_TOKEN:
    'The JWT-SVID given to ValidateJWTSVID is not valid for the audience (answered InvalidArgument with the reason): fetch a fresh token for the right audience.',
  ERR_WID_WORKLOAD_API_INVALID_OPTION:
    'Fix the createWorkloadApiServer option named in the error (`key`); the message says what is accepted.',
  ERR_WID_WORKLOAD_API_SOCKET_IN_USE:
    'Another server is listening on the socket path: stop it, or give this server a different `listen` path.',
  ERR_WID_WORKLOAD_API_SOCKET_NOT_A_SOCKET:
    'The socket path exists and is not a Unix socket: remove that file yourself or choose another `listen` path (wid never deletes it).',
  ERR_WID_WORKLOAD_API_LISTEN_FAILED:
    'The server could not listen on its address (see `cause`): check the directory exists or can be created, permissions, and that the TCP port is free.',
  ERR_WID_WORKLOAD_API_CLOSED: 'The server was closed; create a new one instead of calling listen() again.',
} as const;

/** A code in {@link WORKLOAD_API_SERVER_ERROR_CODES}. */
export type WorkloadApiServerErrorCode = keyof typeof WORKLOAD_API_SERVER_ERROR_CODES;

/** Codes a {@link WorkloadIdentitySource} throws to select the gRPC status of the answer. */
export type WorkloadIdentityErrorCode = 'ERR_WID_WORKLOAD_NO_IDENTITY' | 'ERR_WID_WORKLOAD_INVALID_TOKEN';

/**
 * `code` of the error a {@link WorkloadIdentitySource} throws when no identity is granted to the caller; the server
 * answers `PermissionDenied` (Workload Endpoint §6).
 *
 * @example
 * throw new WorkloadIdentityError(ERR_WID_WORKLOAD_NO_IDENTITY, 'no workload identity rule matches');
 */
export const ERR_WID_WORKLOAD_NO_IDENTITY = 'ERR_WID_WORKLOAD_NO_IDENTITY';

/**
 * `code` of the error `validateJwtSvid` throws for an invalid token; the server answers `InvalidArgument` with the
 * error's message as the reason (Workload API §6).
 *
 * @example
 * throw new WorkloadIdentityError(ERR_WID_WORKLOAD_INVALID_TOKEN, 'token has expired');
 */
export const ERR_WID_WORKLOAD_INVALID_TOKEN = 'ERR_WID_WORKLOAD_INVALID_TOKEN';

/**
 * Thrown by a {@link WorkloadIdentitySource} to say "no identity for this caller" or "this token is invalid". The
 * server matches on `code` only, so a source may throw any error carrying one of these codes (a `WidError` of its
 * own package, say); every other error becomes `Unavailable`.
 *
 * @example
 * if (ids.length === 0) throw new WorkloadIdentityError('ERR_WID_WORKLOAD_NO_IDENTITY', 'no rule matches uid 1000');
 */
export class WorkloadIdentityError extends WidError {
  declare readonly code: WorkloadIdentityErrorCode;

  constructor(code: WorkloadIdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Thrown by {@link createWorkloadApiServer} and the server's `listen()`. `key` names the offending option; `path` is
 * the socket path for socket errors.
 *
 * @example
 * try { await server.listen() } catch (e) {
 *   if (isWidError(e, 'ERR_WID_WORKLOAD_API_SOCKET_IN_USE')) console.error(`${e.path} is served by someone else`);
 * }
 */
export class WorkloadApiServerError extends WidError {
  declare readonly code: Exclude<WorkloadApiServerErrorCode, WorkloadIdentityErrorCode>;
  /** The option at fault (for `ERR_WID_WORKLOAD_API_INVALID_OPTION`). */
  readonly key: string | undefined;
  /** The socket path (for socket errors). */
  readonly path: string | undefined;

  constructor(
    code: Exclude<WorkloadApiServerErrorCode, WorkloadIdentityErrorCode>,
    message: string,
    fields: { key?: string; path?: string; cause?: unknown } = {},
  ) {
    super(code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.key = fields.key;
    this.path = fields.path;
  }
}
