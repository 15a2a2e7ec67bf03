import type { DecideRequest, Decision } from './decision.js';
import { RuleEngineError } from './errors.js';
import { evaluateIdentity, notFound, requestContext } from './internal/evaluate.js';
import { normalizeRequest } from './internal/request.js';
import { RULE_INDEX_THRESHOLD } from './internal/rule-index.js';
import { SET_INTERNALS, type SetInternals, WorkloadIdentitySet } from './workload-identity-set.js';

/** @internal */
export function internalsOf(set: WorkloadIdentitySet): SetInternals {
  if (!(set instanceof WorkloadIdentitySet)) {
    throw new RuleEngineError(
      'ERR_WID_RULE_INVALID_REQUEST',
      'pass the WorkloadIdentitySet returned by loadWorkloadIdentities',
    );
  }
  return set[SET_INTERNALS];
}

/**
 * Decides which of the selected identities the workload with these `attributes` earns: for each selected resource,
 * in order, either an issuance (SPIFFE ID, hint, DNS SANs, subject, TTL, extra claims, resource name and revision) or
 * a denial with a stable `code` and a reason. Pure: no I/O, no clock. Evaluation problems (an unset attribute, a
 * template that renders an invalid ID) are denials, never exceptions, and never grant.
 *
 * `attributes` is untrusted: only own properties are read, along the paths of the attribute schema.
 *
 * @throws {RuleEngineError} only for a bad request: `ERR_WID_RULE_NO_SELECTOR`, `ERR_WID_RULE_INVALID_REQUEST`, or
 * `ERR_WID_RULE_TOO_MANY_IDENTITIES` when more identities would be issued than `maxIdentities` (default 10).
 * @example
 * const decisions = decide(set, { workload: { kubernetes: { attested: true, namespace: 'default', service_account: 'web' } } }, {
 *   labelSelectors: { env: ['prod'] },
 * });
 * for (const d of decisions) {
 *   if (d.kind === 'issue') console.log(d.spiffeId.toString(), d.ttlSeconds);
 *   else console.log(d.resource, d.code, d.reason);
 * }
 */
export function decide(set: WorkloadIdentitySet, attributes: unknown, request: DecideRequest): Decision[] {
  const internals = internalsOf(set);
  const req = normalizeRequest(request, internals.maxIdentities);
  const ctx = requestContext(attributes, internals.slotCount);
  const out: Decision[] = [];
  let issued = 0;
  const add = (d: Decision): void => {
    if (d.kind === 'issue' && ++issued > req.maxIdentities) {
      throw new RuleEngineError(
        'ERR_WID_RULE_TOO_MANY_IDENTITIES',
        `more than ${req.maxIdentities} identities would be issued for this request; use more specific label selectors or raise maxIdentities`,
        { limit: req.maxIdentities },
      );
    }
    out.push(d);
  };
  if (req.names !== undefined) {
    for (const name of req.names) {
      const id = internals.byName.get(name);
      add(id === undefined ? notFound(name) : evaluateIdentity(id, ctx, req));
    }
    return out;
  }
  const positions = internals.index.select(req.selector!);
  // Many resources selected: skip those whose every rule is known false from one indexed attribute comparison.
  const must = positions.length >= RULE_INDEX_THRESHOLD ? internals.rules.mustEvaluate(ctx) : undefined;
  const identities = internals.identities;
  for (const pos of positions) {
    const id = identities[pos]!;
    add(must === undefined || must[pos] === 1 ? evaluateIdentity(id, ctx, req) : id.noRuleMatched);
  }
  return out;
}
