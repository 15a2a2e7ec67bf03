import type { DecideRequest, Decision } from './decision.js';
import { RuleEngineError } from './errors.js';
import { evaluateIdentity, notFound, selectCompiled } from './internal/evaluate.js';
import { normalizeRequest } from './internal/request.js';
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
  const out: Decision[] = [];
  let issued = 0;
  for (const s of selectCompiled(internals, req)) {
    if (typeof s === 'string') {
      out.push(notFound(s));
      continue;
    }
    const d = evaluateIdentity(s, attributes, req);
    if (d.kind === 'issue' && ++issued > req.maxIdentities) {
      throw new RuleEngineError(
        'ERR_WID_RULE_TOO_MANY_IDENTITIES',
        `more than ${req.maxIdentities} identities would be issued for this request; use more specific label selectors or raise maxIdentities`,
        { limit: req.maxIdentities },
      );
    }
    out.push(d);
  }
  return out;
}
