import { internalsOf } from './decide.js';
import type { DecideRequest, Decision } from './decision.js';
import type { DenialCode, RuleEngineErrorCode } from './errors.js';
import { evaluateIdentity, notFound, requestContext, selectCompiled } from './internal/evaluate.js';
import { normalizeRequest } from './internal/request.js';
import type { ConditionOperator } from './resource.js';
import type { WorkloadIdentitySet } from './workload-identity-set.js';

/** Whether a rule or condition held, did not hold, or could not be evaluated (which never grants). */
export type ExplainOutcome = 'held' | 'not_held' | 'error';

/** Why something could not be evaluated. */
export interface ExplainError {
  readonly code: DenialCode;
  readonly message: string;
  readonly attribute: string | undefined;
}

/** One condition of a `conditions` rule, with the actual value it compared. */
export interface ConditionExplanation {
  readonly attribute: string;
  readonly operator: ConditionOperator;
  readonly values: readonly string[];
  /** The attribute's value as compared (a string), or undefined when it could not be read. */
  readonly actual: string | undefined;
  readonly outcome: ExplainOutcome;
  readonly error: ExplainError | undefined;
}

/** One step of an expression's evaluation: an attribute read, or a comparison / boolean function with its operands. */
export type ExplainStep =
  | { readonly kind: 'read'; readonly attribute: string; readonly value: unknown }
  | { readonly kind: 'test'; readonly text: string; readonly result: boolean; readonly operands: readonly unknown[] };

/** One allow rule. */
export interface RuleExplanation {
  readonly index: number;
  readonly kind: 'conditions' | 'expression';
  readonly outcome: ExplainOutcome;
  readonly error: ExplainError | undefined;
  /** Every condition, evaluated (even after one failed) so that all actual values show. */
  readonly conditions: readonly ConditionExplanation[];
  /** The expression text, for expression rules. */
  readonly expression: string | undefined;
  /** Expression steps in evaluation order (`&&`/`||` short-circuit, so some parts may not appear). */
  readonly steps: readonly ExplainStep[];
}

/** One selected resource: its decision and every rule's evaluation. */
export interface ResourceExplanation {
  readonly resource: string;
  readonly decision: Decision;
  /** Empty when the resource has no rules (allowed for every workload) or does not exist. */
  readonly rules: readonly RuleExplanation[];
}

/** The answer to "why didn't my workload get an ID?". */
export interface Explanation {
  /** The same decisions `decide` returns for this input (without throwing on the identity cap). */
  readonly decisions: readonly Decision[];
  readonly resources: readonly ResourceExplanation[];
  /** A request-level error `decide` would throw (the identity cap), when there is one. */
  readonly error: { readonly code: RuleEngineErrorCode; readonly message: string } | undefined;
  /** The explanation rendered for people. */
  readonly text: string;
  toString(): string;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'unset';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const MARK: Record<ExplainOutcome, string> = { held: '[held]    ', not_held: '[not held]', error: '[error]   ' };

function renderText(resources: readonly ResourceExplanation[], error: Explanation['error']): string {
  const lines: string[] = [];
  lines.push(`${resources.length} workload identit${resources.length === 1 ? 'y' : 'ies'} selected`);
  for (const r of resources) {
    const d = r.decision;
    const head = `workload_identity ${JSON.stringify(r.resource)}${d.revision === undefined ? '' : ` (revision ${d.revision})`}`;
    if (d.kind === 'issue') {
      const why = d.matchedRule === undefined ? 'no rules: every workload is allowed' : `rule ${d.matchedRule} held`;
      lines.push(`${head}: ISSUED ${d.spiffeId.toString()} (${why}; ttl ${d.ttlSeconds}s)`);
      if (d.hint !== undefined) lines.push(`  hint ${show(d.hint)}`);
      if (d.dnsSans.length > 0) lines.push(`  dns_sans ${d.dnsSans.map(show).join(', ')}`);
    } else {
      lines.push(`${head}: DENIED ${d.code}: ${d.reason}`);
    }
    for (const rule of r.rules) {
      lines.push(
        `  rule ${rule.index} (${rule.kind}): ${rule.outcome.replace('_', ' ')}${rule.error === undefined ? '' : `: ${rule.error.code}: ${rule.error.message}`}`,
      );
      for (const c of rule.conditions) {
        const expected =
          c.operator === 'eq' || c.operator === 'not_eq' ? show(c.values[0]) : `[${c.values.map(show).join(', ')}]`;
        const actual = c.error === undefined ? `actual ${show(c.actual)}` : `${c.error.code}: ${c.error.message}`;
        lines.push(`    ${MARK[c.outcome]} ${c.attribute} ${c.operator} ${expected} (${actual})`);
      }
      if (rule.expression !== undefined) {
        lines.push(`    expression: ${rule.expression.replace(/\s+/g, ' ')}`);
        for (const s of rule.steps) {
          if (s.kind === 'read') lines.push(`      read ${s.attribute} = ${show(s.value)}`);
          else
            lines.push(
              `      ${s.text.replace(/\s+/g, ' ')} -> ${s.result} (operands ${s.operands.map(show).join(', ')})`,
            );
        }
      }
    }
  }
  if (error !== undefined) lines.push(`request error ${error.code}: ${error.message}`);
  return lines.join('\n');
}

/**
 * Runs exactly the evaluation of {@link decide} and reports it for people: for each selected resource, each rule and
 * each condition, whether it held and the actual attribute value compared; for expressions, every attribute read and
 * comparison. The answer to "why didn't my workload get an ID?". Slower than `decide` (it evaluates every rule and
 * condition); use it for diagnostics, not on the hot path.
 *
 * @throws {RuleEngineError} `ERR_WID_RULE_NO_SELECTOR` / `ERR_WID_RULE_INVALID_REQUEST` for a bad request. The identity
 * cap is reported in `error` instead of thrown.
 * @example
 * const x = explain(set, attributes, { names: ['web'] });
 * console.log(x.text);
 * // workload_identity "web" (revision 3f1c...): DENIED ERR_WID_RULE_NO_RULE_MATCHED: the allow rule held ...
 * //   rule 0 (conditions): not held
 * //     [not held] workload.kubernetes.namespace eq "default" (actual "kube-system")
 */
export function explain(set: WorkloadIdentitySet, attributes: unknown, request: DecideRequest): Explanation {
  const internals = internalsOf(set);
  const req = normalizeRequest(request, internals.maxIdentities);
  const ctx = requestContext(attributes, internals.slotCount);
  const resources: ResourceExplanation[] = [];
  let issued = 0;
  for (const s of selectCompiled(internals, req)) {
    if (typeof s === 'string') {
      resources.push({ resource: s, decision: notFound(s), rules: [] });
      continue;
    }
    const rules: RuleExplanation[] = [];
    const decision = evaluateIdentity(s, ctx, req, rules);
    if (decision.kind === 'issue') issued++;
    resources.push({ resource: s.name, decision, rules });
  }
  const error =
    issued > req.maxIdentities
      ? {
          code: 'ERR_WID_RULE_TOO_MANY_IDENTITIES' as const,
          message: `${issued} identities would be issued, more than the limit of ${req.maxIdentities}; decide() throws`,
        }
      : undefined;
  const text = renderText(resources, error);
  return { decisions: resources.map((r) => r.decision), resources, error, text, toString: () => text };
}
