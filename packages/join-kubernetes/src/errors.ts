import { WidError } from '@wid/spiffe-id';

/** Every code @wid/join-kubernetes throws, with what the user should do (docs/errors.md is generated from this). */
export const JOIN_KUBERNETES_ERROR_CODES = {
  ERR_WID_JOIN_KUBERNETES_BAD_OPTION: 'Fix the named option (its TSDoc lists the accepted values).',
  ERR_WID_JOIN_KUBERNETES_BAD_RULES:
    'Fix the join token\'s `allow` rules: a non-empty list of `{ service_account: "<namespace>:<name>" }` (see `index`).',
  ERR_WID_JOIN_KUBERNETES_TOKEN_UNREADABLE:
    'Mount a projected service-account token (audience = the trust domain, expirationSeconds 600) and point ' +
    'KUBERNETES_TOKEN_PATH at it, or fix the file permissions (see `path` and the cause).',
  ERR_WID_JOIN_KUBERNETES_TOKEN_EMPTY: 'The token file is empty; check the projected volume is mounted and populated.',
  ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN: 'Send the service-account JWT exactly as read from the token file.',
  ERR_WID_JOIN_KUBERNETES_UNSUPPORTED_ALG:
    "The token is signed with an algorithm wid does not accept (only RS*, PS*, ES*); check the cluster's signing key.",
  ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID:
    "No key of the configured JWKS (or the OIDC issuer's current JWKS) has this `kid`: update `static_jwks` after a " +
    'key rotation, or check the token comes from this cluster.',
  ERR_WID_JOIN_KUBERNETES_BAD_SIGNATURE:
    'The token signature does not verify: it was forged or altered, or comes from another cluster.',
  ERR_WID_JOIN_KUBERNETES_WRONG_ISSUER:
    "The token was issued by another cluster (see `expected`/`actual`); fix `issuer` or use this cluster's token.",
  ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE:
    'Request the projected token with the audience the server expects (the cluster / trust domain name, see `expected`).',
  ERR_WID_JOIN_KUBERNETES_MISSING_EXPIRY: 'Use a projected (bound) service-account token: legacy tokens have no `exp`.',
  ERR_WID_JOIN_KUBERNETES_MISSING_ISSUED_AT: 'Use a projected (bound) service-account token: the token has no `iat`.',
  ERR_WID_JOIN_KUBERNETES_EXPIRED:
    'The token expired; the client re-reads the file on each join, so check the kubelet refreshes it and the clocks agree.',
  ERR_WID_JOIN_KUBERNETES_NOT_YET_VALID:
    "The token's `nbf` is in the future; check the clocks of the cluster and the server.",
  ERR_WID_JOIN_KUBERNETES_ISSUED_IN_FUTURE:
    "The token's `iat` is in the future; check the clocks of the cluster and the server.",
  ERR_WID_JOIN_KUBERNETES_LIFETIME_TOO_LONG:
    'Project the token with a short lifetime (expirationSeconds: 600; at most maxTokenLifetimeSeconds, ≤ 1800). ' +
    'The default automounted token lives too long to be a join credential.',
  ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND:
    'Use a token bound to a pod (a projected volume token), not one created for a secret or by TokenRequest without a pod.',
  ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT:
    'The token subject is not `system:serviceaccount:<namespace>:<name>` or disagrees with its kubernetes.io claims; it is not a service-account token.',
  ERR_WID_JOIN_KUBERNETES_NOT_ALLOWED:
    'The service account (see `namespace`, `serviceAccount`) matches no `allow` rule of the join token; add a rule or run the agent under an allowed account.',
  ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED:
    'The OIDC discovery document could not be used (see `url`, `status` and the message): check the issuer URL, that ' +
    'it is reachable over https, and that its `issuer` equals the configured one.',
  ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED:
    "The issuer's JWKS could not be fetched or parsed (see `url`, `status`); check the issuer.",
  ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED:
    "The TokenReview call failed (see `url`, `status`): check the API server address and CA, and grant the server's " +
    'service account the system:auth-delegator ClusterRole (create tokenreviews).',
  ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_REJECTED:
    'The API server says the token is not valid (see the message); use a current token from this cluster.',
  ERR_WID_JOIN_KUBERNETES_ABORTED: 'The caller aborted the operation through its AbortSignal; nothing to fix.',
} as const;

/** Union of every code in {@link JOIN_KUBERNETES_ERROR_CODES}. */
export type KubernetesJoinErrorCode = keyof typeof JOIN_KUBERNETES_ERROR_CODES;

/** Structured fields of a {@link KubernetesJoinError}; each is present only where it applies. */
export interface KubernetesJoinErrorFields {
  /** For BAD_OPTION / BAD_RULES: the offending key. */
  readonly key?: string | undefined;
  /** For BAD_RULES: index of the rule at fault. */
  readonly index?: number | undefined;
  /** A file involved (TOKEN_UNREADABLE). */
  readonly path?: string | undefined;
  /** A URL involved (OIDC, JWKS, TokenReview). */
  readonly url?: string | undefined;
  /** HTTP status received. */
  readonly status?: number | undefined;
  /** The `kid` of the token (UNKNOWN_KID). */
  readonly kid?: string | undefined;
  /** What was expected (issuer, audience, lifetime). */
  readonly expected?: string | number | undefined;
  /** What the token had. */
  readonly actual?: string | number | undefined;
  /** Namespace of the service account, once known. */
  readonly namespace?: string | undefined;
  /** Name of the service account, once known. */
  readonly serviceAccount?: string | undefined;
}

/**
 * Thrown by everything in @wid/join-kubernetes. Match on `code`; the fields say which value was wrong.
 *
 * @example
 * try { await verifier.verify(token, { allow }) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE')) log.warn({ aud: (e as KubernetesJoinError).actual });
 * }
 */
export class KubernetesJoinError extends WidError {
  declare readonly code: KubernetesJoinErrorCode;
  /** Always `kubernetes`: the join method that failed. */
  readonly joinMethod = 'kubernetes';
  readonly key: string | undefined;
  readonly index: number | undefined;
  readonly path: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly kid: string | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;

  constructor(
    code: KubernetesJoinErrorCode,
    message: string,
    fields: KubernetesJoinErrorFields = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.key = fields.key;
    this.index = fields.index;
    this.path = fields.path;
    this.url = fields.url;
    this.status = fields.status;
    this.kid = fields.kid;
    this.expected = fields.expected;
    this.actual = fields.actual;
    this.namespace = fields.namespace;
    this.serviceAccount = fields.serviceAccount;
  }
}
