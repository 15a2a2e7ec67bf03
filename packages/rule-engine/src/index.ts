/**
 * @wid/rule-engine: the policy core of wid. Which SPIFFE IDs a set of attestation attributes earns, and with what
 * parameters. It reads the WorkloadIdentity resources Teleport users already write (kind `workload_identity`,
 * version `v1`) and tbot's older `svids` form; compiles rules, conditions, expressions and `{{ }}` templates once;
 * and decides (or explains) per request. Pure code: no I/O, no clock.
 *
 * @example
 * import { decide, explain, loadWorkloadIdentities } from '@wid/rule-engine';
 * const set = loadWorkloadIdentities(yamlText, { trustDomain: 'example.org' });
 * const attributes = { workload: { unix: { attested: true, uid: 1000, pid: 42, gid: 1000 } } };
 * const decisions = decide(set, attributes, { labelSelectors: { env: ['prod'] } });
 * const issued = decisions.filter((d) => d.kind === 'issue');
 * if (issued.length === 0) console.log(explain(set, attributes, { labelSelectors: { env: ['prod'] } }).text);
 */
export type { AttributeSchema, AttributeType } from './attribute-schema.js';
export { ATTRIBUTE_SCHEMA } from './attribute-schema.js';
export { decide } from './decide.js';
export type { DecideRequest, Decision, DenyDecision, IssueDecision, X509Subject } from './decision.js';
export { DEFAULT_MAX_IDENTITIES, DEFAULT_MAX_TTL_SECONDS, DEFAULT_TTL_SECONDS } from './decision.js';
export { parseDuration } from './duration.js';
export type { DenialCode, RuleEngineErrorCode, RuleEngineErrorFields } from './errors.js';
export { DENIAL_CODES, RULE_ENGINE_ERROR_CODES, RuleEngineError } from './errors.js';
export type {
  ConditionExplanation,
  ExplainError,
  ExplainOutcome,
  ExplainStep,
  Explanation,
  ResourceExplanation,
  RuleExplanation,
} from './explain.js';
export { explain } from './explain.js';
export type { LegacySvid, LegacySvidRule, LegacyTranslationOptions } from './legacy-svids.js';
export { translateLegacySvids } from './legacy-svids.js';
export type {
  ConditionOperator,
  JsonValue,
  WorkloadIdentityCondition,
  WorkloadIdentityResource,
  WorkloadIdentityRule,
  X509SubjectTemplate,
} from './resource.js';
export type { LoadOptions, NamedText, WorkloadIdentity, WorkloadIdentityInput } from './workload-identity-set.js';
export { loadWorkloadIdentities, WorkloadIdentitySet } from './workload-identity-set.js';
