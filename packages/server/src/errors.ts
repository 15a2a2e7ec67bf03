import { WidError } from '@wid/spiffe-id';

/**
 * Every code @wid/server throws, with what the user should do (docs/errors.md is generated from this).
 * `ERR_WID_WORKLOAD_NO_IDENTITY` and `ERR_WID_WORKLOAD_INVALID_TOKEN` are the codes @wid/workload-api-server maps to
 * PermissionDenied / InvalidArgument; the SVID cache throws them on purpose.
 */
export const SERVER_ERROR_CODES = {
  ERR_WID_SERVER_INVALID_OPTION:
    'Fix the option named in the error (`key`) of createIssuanceService, createDirectoryStorage, openCertificateAuthority or createWorkloadIdentityCache; the message says what is accepted.',
  ERR_WID_SERVER_INVALID_REQUEST:
    'Fix the issuance request field named in the error (`key`): a selector with names or labels, a public key or audiences.',
  ERR_WID_SERVER_SIGNING_FAILED:
    'The CA could not sign (see `cause`, e.g. an expired CA): check the CA storage and clock, and the logs of the CA.',
  ERR_WID_SERVER_INVALID_JWT_SVID:
    'The JWT-SVID does not validate against the trust bundle for that audience (see `cause`): fetch a fresh token for the right audience.',
  ERR_WID_SERVER_STORAGE_KEY:
    'Storage keys are file names made of letters, digits, ".", "_" and "-" (no "/", not "." or ".."): use such a key.',
  ERR_WID_SERVER_STORAGE_IO:
    'Reading or writing the storage directory failed (see `cause` and `path`): check the directory exists, its owner and permissions, and free disk space.',
  ERR_WID_SERVER_STORAGE_INSECURE:
    'The storage directory or a file in it is readable or writable by group/others, or owned by another user: chmod 0700 the directory and 0600 its files.',
  ERR_WID_SERVER_CA_STATE:
    'The CA state in storage cannot be read or belongs to another trust domain (see `cause`): restore it from backup, or move it away to create a new CA (workloads must then fetch the new bundle).',
  ERR_WID_SERVER_CLOSED: 'The component was closed; create a new one.',
  ERR_WID_WORKLOAD_NO_IDENTITY:
    'No workload identity rule grants the caller an identity: compare the rules with the attributes in the audit log, or run `wid-agent explain`.',
  ERR_WID_WORKLOAD_INVALID_TOKEN:
    'The JWT-SVID given for validation is invalid for the audience (the message says why): fetch a fresh token for the right audience.',
} as const;

/** A code in {@link SERVER_ERROR_CODES}. */
export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;

/** Structured fields of a {@link ServerError}. */
export interface ServerErrorFields {
  /** The option or request field at fault. */
  readonly key?: string;
  /** The storage path involved. */
  readonly path?: string;
  /** The SPIFFE ID involved. */
  readonly spiffeId?: string;
  /** The trust domain involved. */
  readonly trustDomain?: string;
  /** Denials behind an `ERR_WID_WORKLOAD_NO_IDENTITY` (resource, code and reason each). */
  readonly denials?: readonly { readonly resource: string; readonly code: string; readonly reason: string }[];
  readonly cause?: unknown;
}

/**
 * The error every @wid/server component throws. Match on `code`.
 *
 * @example
 * try { await issuance.validateJwtSvid(token, 'api') } catch (e) {
 *   if (isWidError(e, 'ERR_WID_SERVER_INVALID_JWT_SVID')) reject(e.message);
 * }
 */
export class ServerError extends WidError {
  declare readonly code: ServerErrorCode;
  readonly key: string | undefined;
  readonly path: string | undefined;
  readonly spiffeId: string | undefined;
  readonly trustDomain: string | undefined;
  readonly denials: ServerErrorFields['denials'];

  constructor(code: ServerErrorCode, message: string, fields: ServerErrorFields = {}) {
    super(code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.key = fields.key;
    this.path = fields.path;
    this.spiffeId = fields.spiffeId;
    this.trustDomain = fields.trustDomain;
    this.denials = fields.denials;
  }
}
