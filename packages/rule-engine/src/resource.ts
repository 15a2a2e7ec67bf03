// The WorkloadIdentity resource, as Teleport users already write it (kind `workload_identity`, version `v1`).
// Field names are the YAML/JSON names, so a resource object and its YAML file look the same.

/** A JSON value (the type of `jwt.extra_claims` leaves). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The operator of a condition. */
export type ConditionOperator = 'eq' | 'not_eq' | 'in' | 'not_in';

/**
 * One condition: `attribute` compared with exactly one operator. Values are compared as strings (bools as
 * `true`/`false`, integers in decimal); in YAML an unquoted `1000` or `true` is accepted and converted.
 */
export interface WorkloadIdentityCondition {
  /** An attribute path such as `workload.kubernetes.namespace` or `workload.kubernetes.labels.app`. */
  readonly attribute: string;
  readonly eq?: { readonly value: string };
  readonly not_eq?: { readonly value: string };
  readonly in?: { readonly values: readonly string[] };
  readonly not_in?: { readonly values: readonly string[] };
}

/** One allow rule: `conditions` (all must hold) XOR an `expression` (must be true). */
export interface WorkloadIdentityRule {
  readonly conditions?: readonly WorkloadIdentityCondition[];
  readonly expression?: string;
}

/** `spec.spiffe.x509.subject_template`: templates for the X.509-SVID subject distinguished name. */
export interface X509SubjectTemplate {
  readonly common_name?: string;
  readonly organization?: string;
  readonly organizational_unit?: string;
}

/**
 * A workload identity resource.
 *
 * @example
 * const resource: WorkloadIdentityResource = {
 *   kind: 'workload_identity',
 *   version: 'v1',
 *   metadata: { name: 'web', labels: { env: 'prod' } },
 *   spec: {
 *     rules: { allow: [{ conditions: [{ attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } }] }] },
 *     spiffe: { id: '/ns/{{ workload.kubernetes.namespace }}/sa/{{ workload.kubernetes.service_account }}' },
 *   },
 * };
 */
export interface WorkloadIdentityResource {
  readonly kind: 'workload_identity';
  readonly version: 'v1';
  /** Accepted for compatibility with `tctl get` output; must be empty. */
  readonly sub_kind?: string;
  readonly metadata: {
    /** Unique name; selection by name uses it. */
    readonly name: string;
    readonly description?: string;
    /** Labels for selection by label selectors. */
    readonly labels?: Readonly<Record<string, string>>;
    /** Accepted for compatibility with `tctl get` output; wid computes its own revision from the content. */
    readonly revision?: string;
    /** Accepted for compatibility with `tctl get` output; must be `default`. */
    readonly namespace?: string;
  };
  readonly spec: {
    /** Allow rules, OR'ed. No rules (or an empty list) = allowed for every workload. */
    readonly rules?: { readonly allow?: readonly WorkloadIdentityRule[] };
    readonly spiffe: {
      /** Path of the SPIFFE ID (a template), starting with `/`. The trust domain comes from the load options. */
      readonly id: string;
      /** Hint for the workload to tell SVIDs apart (a template). */
      readonly hint?: string;
      readonly x509?: {
        /** DNS SANs (templates); each must render a valid hostname, `*.` wildcard allowed. */
        readonly dns_sans?: readonly string[];
        /**
         * IP SANs (literal addresses). A wid extension used by the translation of tbot's legacy `svids` form; not part
         * of Teleport's v1 resource.
         */
        readonly ip_sans?: readonly string[];
        readonly subject_template?: X509SubjectTemplate;
        /** Go duration, at most 336h (14 days). Default cap 24h. */
        readonly maximum_ttl?: string;
      };
      readonly jwt?: {
        /** Extra claims; string leaves are templates. Nest at most 10 deep; registered claims are refused. */
        readonly extra_claims?: { readonly [key: string]: JsonValue };
        /** Go duration, at most 24h. */
        readonly maximum_ttl?: string;
      };
    };
  };
}
