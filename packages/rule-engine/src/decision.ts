import type { SpiffeId } from '@wid/spiffe-id';
import type { DenialCode } from './errors.js';
import type { JsonValue } from './resource.js';

/**
 * Default TTL when the request names none: 1 hour.
 * @example decide(set, attrs, { names: ['web'] })[0]; // ttlSeconds: DEFAULT_TTL_SECONDS (clamped to maximum_ttl)
 */
export const DEFAULT_TTL_SECONDS = 3600;
/**
 * Cap when the resource sets no `maximum_ttl`: 24 hours.
 * @example decide(set, attrs, { names: ['web'], ttlSeconds: 7 * 86400 })[0]; // ttlSeconds: 86400
 */
export const DEFAULT_MAX_TTL_SECONDS = 24 * 3600;
/**
 * Default cap on how many identities one request may receive.
 * @example loadWorkloadIdentities(text, { trustDomain: 'example.org', maxIdentities: DEFAULT_MAX_IDENTITIES * 2 });
 */
export const DEFAULT_MAX_IDENTITIES = 10;

/** The rendered X.509 subject template (only the fields the resource sets). */
export interface X509Subject {
  readonly commonName?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
}

/** The workload earns this identity, with these parameters. */
export interface IssueDecision {
  readonly kind: 'issue';
  /** `metadata.name` of the resource. */
  readonly resource: string;
  /** Content hash of the resource: equal content, equal revision (use with `spiffeId` as a cache key). */
  readonly revision: string;
  readonly spiffeId: SpiffeId;
  readonly hint: string | undefined;
  readonly dnsSans: readonly string[];
  /** Literal IP SANs (from the legacy `svids` translation). */
  readonly ipSans: readonly string[];
  readonly subject: X509Subject | undefined;
  /** Requested TTL, or 1 h, clamped to the resource's maximum_ttl for the requested SVID type, or 24 h. */
  readonly ttlSeconds: number;
  /** Rendered `jwt.extra_claims` (`{}` when none). */
  readonly extraClaims: Readonly<Record<string, JsonValue>>;
  /** Index of the first allow rule that held, or undefined when the resource has no rules. */
  readonly matchedRule: number | undefined;
}

/** The workload does not earn this identity, and why. */
export interface DenyDecision {
  readonly kind: 'deny';
  /** `metadata.name` of the resource (or the requested name that does not exist). */
  readonly resource: string;
  readonly revision: string | undefined;
  /** Stable machine-readable reason. */
  readonly code: DenialCode;
  /** The reason for people: names the rule, field and attribute involved. */
  readonly reason: string;
  /** The attribute that was unset or of the wrong type, when one was. */
  readonly attribute: string | undefined;
  /** The template field that failed (e.g. `spec.spiffe.id`), when rendering failed. */
  readonly field: string | undefined;
  /** The rule whose failure is the reason, when a single rule's failure is. */
  readonly rule: number | undefined;
}

/** One outcome per selected resource. Narrow on `kind`. */
export type Decision = IssueDecision | DenyDecision;

/**
 * Which identities to decide, and with what parameters. Exactly one of `names` and `labelSelectors` must select
 * something: as in tbot, selecting nothing is an error (`ERR_WID_RULE_NO_SELECTOR`), not "everything".
 */
export interface DecideRequest {
  /** Resource names, decided in this order. A name with no resource gets an `ERR_WID_RULE_IDENTITY_NOT_FOUND` denial. */
  readonly names?: readonly string[];
  /**
   * Label selector: every key must match; a resource matches a key when its label value is one of the listed values.
   * `*` as a value matches any value of that key (the key must be present); `{ '*': ['*'] }` matches every resource.
   */
  readonly labelSelectors?: Readonly<Record<string, readonly string[]>>;
  /** Requested TTL in seconds (positive integer); default 1 h; clamped to the resource's maximum. */
  readonly ttlSeconds?: number;
  /** Which `maximum_ttl` applies: `x509` (default) or `jwt`. */
  readonly svidType?: 'x509' | 'jwt';
  /** Overrides the set's cap on identities issued for this request (positive integer). */
  readonly maxIdentities?: number;
}
