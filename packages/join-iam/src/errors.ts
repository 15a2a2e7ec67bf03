import { WidError } from '@wid/spiffe-id';

/** Every code @wid/join-iam throws, with what the user should do (docs/errors.md is generated from this). */
export const JOIN_IAM_ERROR_CODES = {
  ERR_WID_JOIN_IAM_BAD_OPTION: 'Fix the named option (its TSDoc lists the accepted values).',
  ERR_WID_JOIN_IAM_BAD_RULES:
    "Fix the join token's `allow` rules: a non-empty list of objects, each with `aws_account` (12 digits) and/or " +
    '`aws_arn` (an ARN glob using `*` and `?`), and no other keys (see `index` and `key`).',
  ERR_WID_JOIN_IAM_BAD_CHALLENGE:
    'Pass the challenge exactly as the server issued it (43 characters of unpadded base64).',
  ERR_WID_JOIN_IAM_NO_CREDENTIALS:
    'Give the agent AWS credentials (environment, shared config files, an instance profile via IMDSv2, IRSA web ' +
    'identity or EKS/ECS container credentials); the cause says why the provider chain found none.',
  ERR_WID_JOIN_IAM_SIGNING_FAILED: 'The request could not be signed with the credentials found; see the cause.',
  ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE:
    'The challenge was never issued by this verifier, was already used, or was evicted: ask for a fresh challenge ' +
    'and sign again (challenges are single-use).',
  ERR_WID_JOIN_IAM_CHALLENGE_EXPIRED: 'Ask for a fresh challenge and sign promptly; this one outlived its lifetime.',
  ERR_WID_JOIN_IAM_MALFORMED_REQUEST:
    'Send the request object produced by the join-iam client unchanged ({ method, path, headers, body }, strings only, ' +
    'each header once, no hop-by-hop headers).',
  ERR_WID_JOIN_IAM_HOST_NOT_ALLOWED:
    'Sign for an AWS STS endpoint (global, regional, FIPS, China or GovCloud); the `host` header named another host.',
  ERR_WID_JOIN_IAM_BAD_METHOD: 'The signed request must be a POST (sts:GetCallerIdentity).',
  ERR_WID_JOIN_IAM_BAD_PATH: 'The signed request must target path "/" with no query string.',
  ERR_WID_JOIN_IAM_BAD_BODY: 'The signed body must be exactly "Action=GetCallerIdentity&Version=2011-06-15".',
  ERR_WID_JOIN_IAM_CHALLENGE_MISSING: "Include the server's challenge in an `x-wid-challenge` header before signing.",
  ERR_WID_JOIN_IAM_CHALLENGE_MISMATCH:
    'The `x-wid-challenge` header holds another challenge; sign with the challenge of this join attempt.',
  ERR_WID_JOIN_IAM_CHALLENGE_NOT_SIGNED:
    'List `x-wid-challenge` (and `host`) in the SigV4 SignedHeaders, so the challenge is covered by the signature.',
  ERR_WID_JOIN_IAM_BAD_AUTHORIZATION:
    'The request needs a SigV4 `authorization` header (AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...).',
  ERR_WID_JOIN_IAM_STS_UNREACHABLE:
    'The server could not reach AWS STS (see `host` and the cause): check its network egress, DNS and proxy.',
  ERR_WID_JOIN_IAM_STS_TIMEOUT: 'AWS STS did not answer within `timeoutMs`; check egress, or raise the timeout.',
  ERR_WID_JOIN_IAM_STS_REJECTED:
    'AWS STS refused the signed request (see `status` and `stsCode`): a bad or tampered signature, expired ' +
    'credentials, or a clock skew over 15 minutes on the agent.',
  ERR_WID_JOIN_IAM_STS_RESPONSE_TOO_LARGE:
    'The STS answer exceeded `maxResponseBytes`; the host is probably not STS. Check allowedHosts and the network path.',
  ERR_WID_JOIN_IAM_STS_BAD_RESPONSE:
    'The STS answer had no valid Account and Arn (see the message); the host is probably not STS.',
  ERR_WID_JOIN_IAM_NOT_ALLOWED:
    "The caller's AWS account and ARN (see `account`, `arn`) match no `allow` rule of the join token; add a rule " +
    'or run the agent under an allowed role.',
  ERR_WID_JOIN_IAM_ABORTED: 'The caller aborted the operation through its AbortSignal; nothing to fix.',
} as const;

/** Union of every code in {@link JOIN_IAM_ERROR_CODES}. */
export type IamJoinErrorCode = keyof typeof JOIN_IAM_ERROR_CODES;

/** Structured fields of an {@link IamJoinError}; each is present only where it applies. */
export interface IamJoinErrorFields {
  /** For BAD_OPTION / BAD_RULES / MALFORMED_REQUEST: the offending key or header name. */
  readonly key?: string | undefined;
  /** For BAD_RULES / NOT_ALLOWED-related: index of the rule at fault. */
  readonly index?: number | undefined;
  /** The STS host concerned (HOST_NOT_ALLOWED, STS_*). */
  readonly host?: string | undefined;
  /** HTTP status STS answered with (STS_REJECTED). */
  readonly status?: number | undefined;
  /** STS error code, e.g. `SignatureDoesNotMatch` (STS_REJECTED), when the answer carried one. */
  readonly stsCode?: string | undefined;
  /** AWS account of the caller, once STS said it (NOT_ALLOWED). */
  readonly account?: string | undefined;
  /** ARN of the caller, once STS said it (NOT_ALLOWED). */
  readonly arn?: string | undefined;
  /** The offending value, shortened; never a credential or signature. */
  readonly input?: string | undefined;
}

/**
 * Thrown by everything in @wid/join-iam. Match on `code`; the fields say which host, rule and identity.
 *
 * @example
 * try { await verifier.verify({ challenge, request, allow }) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_JOIN_IAM_NOT_ALLOWED')) log.warn({ arn: (e as IamJoinError).arn }, 'join denied');
 * }
 */
export class IamJoinError extends WidError {
  declare readonly code: IamJoinErrorCode;
  /** Always `iam`: the join method that failed. */
  readonly joinMethod = 'iam';
  readonly key: string | undefined;
  readonly index: number | undefined;
  readonly host: string | undefined;
  readonly status: number | undefined;
  readonly stsCode: string | undefined;
  readonly account: string | undefined;
  readonly arn: string | undefined;
  readonly input: string | undefined;

  constructor(code: IamJoinErrorCode, message: string, fields: IamJoinErrorFields = {}, options?: { cause?: unknown }) {
    super(code, message, options);
    this.key = fields.key;
    this.index = fields.index;
    this.host = fields.host;
    this.status = fields.status;
    this.stsCode = fields.stsCode;
    this.account = fields.account;
    this.arn = fields.arn;
    this.input = fields.input;
  }
}

/** Shortens a value for an error field or message. */
export function shorten(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
