import { WidError } from '@wid/spiffe-id';

// Codes are append-only: users and the server's audit log match on them.

/**
 * Every code @wid/rule-engine uses, with what the user should do (docs/errors.md is generated from this).
 *
 * @example
 * RULE_ENGINE_ERROR_CODES.ERR_WID_RULE_ATTRIBUTE_UNSET; // 'The rule or template read an attribute ...'
 * Load-time and request codes are thrown as {@link RuleEngineError}; evaluation codes (see {@link DENIAL_CODES}) are
 * never thrown: they are the `code` of a denial returned by `decide`.
 */
export const RULE_ENGINE_ERROR_CODES = {
  // --- load time: thrown by loadWorkloadIdentities / translateLegacySvids ---
  ERR_WID_RULE_YAML_SYNTAX: 'Fix the YAML/JSON syntax at the reported line and column.',
  ERR_WID_RULE_INVALID_RESOURCE:
    'The document is not a workload_identity resource: give it `kind: workload_identity` and `version: v1`.',
  ERR_WID_RULE_MISSING_FIELD:
    'Add the required field named in the error (metadata.name and spec.spiffe.id are required).',
  ERR_WID_RULE_UNKNOWN_FIELD:
    'Remove or correct the misspelt key; only the fields of workload_identity v1 are accepted.',
  ERR_WID_RULE_INVALID_FIELD: 'Give the field a value of the type and form the error names.',
  ERR_WID_RULE_DUPLICATE_NAME: 'Give every workload_identity a unique metadata.name.',
  ERR_WID_RULE_EMPTY_RULE: 'Give each entry of spec.rules.allow either `conditions` (non-empty) or an `expression`.',
  ERR_WID_RULE_AMBIGUOUS_RULE: 'Split the rule in two: a rule has `conditions` or an `expression`, not both.',
  ERR_WID_RULE_UNKNOWN_ATTRIBUTE:
    'Use an attribute from the attribute table (workload.unix.*, workload.kubernetes.*, workload.systemd.*, join.*, user.*).',
  ERR_WID_RULE_EXPRESSION_SYNTAX:
    'Fix the expression at the reported column (operators: && || ! == != and parentheses).',
  ERR_WID_RULE_EXPRESSION_TYPE:
    'Compare values of the same type (uid is an integer: write `workload.unix.uid == 1000`, not "1000").',
  ERR_WID_RULE_UNKNOWN_FUNCTION:
    'Use one of strings.upper, strings.lower, strings.replaceall, regexp.match, regexp.replace, contains, contains_any, contains_all, is_empty, ifelse.',
  ERR_WID_RULE_UNSUPPORTED_REGEX:
    'Rewrite the pattern in the supported RE2 subset (no backreferences, lookarounds or flags; at most 1000 characters).',
  ERR_WID_RULE_TEMPLATE_SYNTAX: 'Close every `{{` with `}}` and put one expression between them.',
  ERR_WID_RULE_INVALID_DURATION: 'Write the duration as a Go duration such as 90s, 30m, 1h30m or 24h.',
  ERR_WID_RULE_TTL_TOO_LONG: 'Lower maximum_ttl: at most 336h (14 days) for x509 and 24h for jwt.',
  ERR_WID_RULE_CLAIMS_TOO_DEEP: 'Flatten jwt.extra_claims: objects and arrays nest at most 10 levels deep.',
  ERR_WID_RULE_RESERVED_CLAIM:
    'Remove the registered JWT claim (iss, sub, aud, exp, nbf, iat, jti) from extra_claims; the issuer sets it.',
  ERR_WID_RULE_INVALID_OPTION: 'Fix the option named in the error (trustDomain must be a valid trust domain).',
  // --- request time: thrown by decide / explain when the request itself is wrong ---
  ERR_WID_RULE_NO_SELECTOR: 'Select identities by `names` or by `labelSelectors`; selecting nothing is an error.',
  ERR_WID_RULE_INVALID_REQUEST:
    'Fix the request field named in the error (names XOR labelSelectors, positive ttlSeconds).',
  ERR_WID_RULE_TOO_MANY_IDENTITIES:
    'Use more specific label selectors, or raise maxIdentities, so one request receives fewer identities.',
  // --- evaluation: the `code` of a denial returned by decide (never thrown) ---
  ERR_WID_RULE_NO_RULE_MATCHED:
    'None of spec.rules.allow held for these attributes; run explain() to see each condition and the actual value.',
  ERR_WID_RULE_ATTRIBUTE_UNSET:
    'The rule or template read an attribute the workload does not have (often: its attestor did not attest); check the attestor or the rule.',
  ERR_WID_RULE_ATTRIBUTE_TYPE:
    'An attestor produced a value of the wrong type for this attribute; check the attestor that set it.',
  ERR_WID_RULE_VALUE_TOO_LONG:
    'A value passed to a regexp or string function, or a rendered template, exceeded the size limit; constrain the input.',
  ERR_WID_RULE_TEMPLATE_EMPTY:
    'A template expression rendered an empty string; make sure the attribute is set and non-empty, or change the template.',
  ERR_WID_RULE_INVALID_SPIFFE_ID:
    'The rendered spiffe.id is not a valid SPIFFE ID path; fix the template or the attribute.',
  ERR_WID_RULE_INVALID_DNS_SAN: 'A rendered dns_sans entry is not a valid hostname; fix the template or the attribute.',
  ERR_WID_RULE_INVALID_SUBJECT:
    'A rendered subject_template field is longer than 64 characters (RFC 5280 upper bound); shorten it.',
  ERR_WID_RULE_IDENTITY_NOT_FOUND: 'No workload_identity has the requested name; load it or fix the name.',
  ERR_WID_RULE_EVALUATION_FAILED:
    'An unexpected evaluation failure denied the identity; report it with explain() output.',
  ERR_WID_RULE_REGEX_TOO_COSTLY:
    'A regexp.replace pattern rescans its input for every match (e.g. `x*y|x`); rewrite it so the higher-priority alternative cannot run past a match, or constrain the input.',
} as const;

/** Every code of @wid/rule-engine. */
export type RuleEngineErrorCode = keyof typeof RULE_ENGINE_ERROR_CODES;

/**
 * The codes a denial can carry (evaluation outcomes, not exceptions).
 *
 * @example
 * if (d.kind === 'deny' && d.code === 'ERR_WID_RULE_ATTRIBUTE_UNSET') console.log(`${d.attribute} is unset`);
 */
export const DENIAL_CODES = [
  'ERR_WID_RULE_NO_RULE_MATCHED',
  'ERR_WID_RULE_ATTRIBUTE_UNSET',
  'ERR_WID_RULE_ATTRIBUTE_TYPE',
  'ERR_WID_RULE_VALUE_TOO_LONG',
  'ERR_WID_RULE_TEMPLATE_EMPTY',
  'ERR_WID_RULE_INVALID_SPIFFE_ID',
  'ERR_WID_RULE_INVALID_DNS_SAN',
  'ERR_WID_RULE_INVALID_SUBJECT',
  'ERR_WID_RULE_IDENTITY_NOT_FOUND',
  'ERR_WID_RULE_EVALUATION_FAILED',
  'ERR_WID_RULE_REGEX_TOO_COSTLY',
] as const;

/** The `code` of a denial. */
export type DenialCode = (typeof DENIAL_CODES)[number];

/** Where and about what a {@link RuleEngineError} was raised. Every field is optional; set what is known. */
export interface RuleEngineErrorFields {
  /** `metadata.name` of the resource at fault, or `#<n>` (1-based position) when it has no name yet. */
  readonly resource?: string;
  /** Field path inside the resource, e.g. `spec.rules.allow[1].conditions[0].attribute`. */
  readonly path?: string;
  /** Name of the text the resource came from (a file name), when the caller gave one. */
  readonly source?: string;
  /** 1-based line of the field in the source text (only when parsed from text). */
  readonly line?: number;
  /** 1-based column of the field in the source text (only when parsed from text). */
  readonly column?: number;
  /** 1-based column inside the expression or template text, for expression and template errors. */
  readonly expressionColumn?: number;
  /** The offending value, shortened. */
  readonly input?: string;
  /** The attribute involved, e.g. `workload.unix.uid`. */
  readonly attribute?: string;
  /** The limit that was exceeded (identities, depth, seconds...). */
  readonly limit?: number;
  readonly cause?: unknown;
}

/**
 * Thrown when resources fail to load (syntax, schema, unknown attribute, bad expression) or a request is malformed.
 * Never thrown for an evaluation outcome: those are denials. Match on `code`.
 *
 * @example
 * try { loadWorkloadIdentities(text, { trustDomain: 'example.org' }) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE')) console.error(e.message); // names resource, path and line
 * }
 */
export class RuleEngineError extends WidError {
  declare readonly code: RuleEngineErrorCode;
  readonly resource: string | undefined;
  readonly path: string | undefined;
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly expressionColumn: number | undefined;
  readonly input: string | undefined;
  readonly attribute: string | undefined;
  readonly limit: number | undefined;

  constructor(code: RuleEngineErrorCode, message: string, fields: RuleEngineErrorFields = {}) {
    super(code, message, { cause: fields.cause });
    this.resource = fields.resource;
    this.path = fields.path;
    this.source = fields.source;
    this.line = fields.line;
    this.column = fields.column;
    this.expressionColumn = fields.expressionColumn;
    this.input = fields.input;
    this.attribute = fields.attribute;
    this.limit = fields.limit;
  }
}
