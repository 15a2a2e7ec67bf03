// The evaluation of one resource for one set of attributes: rules, then templates, then parameters. Shared by decide
// (fast path, no report) and explain (same code, with a report of every rule and condition). Never throws: every
// failure is a denial, and a failure nobody anticipated is ERR_WID_RULE_EVALUATION_FAILED (fail closed).
import { SpiffeId, SpiffeIdError } from '@wid/spiffe-id';
import {
  DEFAULT_MAX_TTL_SECONDS,
  DEFAULT_TTL_SECONDS,
  type DenyDecision,
  type IssueDecision,
  type X509Subject,
} from '../decision.js';
import type { DenialCode } from '../errors.js';
import type { ConditionExplanation, ExplainStep, RuleExplanation } from '../explain.js';
import type { SetInternals } from '../workload-identity-set.js';
import { EvalFailure } from './attributes.js';
import {
  type CompiledIdentity,
  type CompiledRule,
  conditionActual,
  conditionHolds,
  MAX_SUBJECT_FIELD_LENGTH,
  ruleHolds,
} from './compile-resource.js';
import type { EvalContext, TraceEntry } from './expression.js';
import { isValidDnsSan } from './hostname.js';
import type { NormalizedRequest } from './request.js';
import type { CompiledTemplate } from './template.js';

export type Selected = CompiledIdentity | string;

const EMPTY: string[] = [];
Object.freeze(EMPTY);

/** The selected resources in decision order; a string is a requested name that does not exist. */
export function selectCompiled(internals: SetInternals, req: NormalizedRequest): Selected[] {
  if (req.names !== undefined) return req.names.map((n) => internals.byName.get(n) ?? n);
  return internals.index.select(req.selector!).map((pos) => internals.identities[pos]!);
}

function deny(
  id: CompiledIdentity | undefined,
  resource: string,
  code: DenialCode,
  reason: string,
  extra: { attribute?: string | undefined; field?: string | undefined; rule?: number | undefined } = {},
): DenyDecision {
  return {
    kind: 'deny',
    resource,
    revision: id?.revision,
    code,
    reason,
    attribute: extra.attribute,
    field: extra.field,
    rule: extra.rule,
  };
}

export function notFound(name: string): DenyDecision {
  return deny(
    undefined,
    name,
    'ERR_WID_RULE_IDENTITY_NOT_FOUND',
    `no workload_identity is named ${JSON.stringify(name)}`,
  );
}

function unexpected(e: unknown): EvalFailure {
  const message = e instanceof Error ? e.message : String(e);
  return new EvalFailure('ERR_WID_RULE_EVALUATION_FAILED', `evaluation failed unexpectedly: ${message}`);
}

function asFailure(e: unknown): EvalFailure {
  return e instanceof EvalFailure ? e : unexpected(e);
}

function publicStep(t: TraceEntry): ExplainStep {
  return t.kind === 'read'
    ? { kind: 'read', attribute: t.attribute, value: t.value }
    : { kind: 'test', text: t.text, result: t.result, operands: t.operands };
}

/** Evaluates one rule with a full report (explain). The outcome matches `ruleHolds` exactly. */
function explainRule(rule: CompiledRule, index: number, base: EvalContext): RuleExplanation {
  if (rule.kind === 'expression') {
    const trace: TraceEntry[] = [];
    const ctx: EvalContext = { attrs: base.attrs, trace, cache: base.cache };
    let outcome: RuleExplanation['outcome'];
    let error: EvalFailure | undefined;
    try {
      outcome = ruleHolds(rule, ctx) ? 'held' : 'not_held';
    } catch (e) {
      error = asFailure(e);
      outcome = 'error';
    }
    return {
      index,
      kind: 'expression',
      outcome,
      error: error && { code: error.code, message: error.message, attribute: error.attribute },
      conditions: [],
      expression: rule.expression!.text,
      steps: trace.map(publicStep),
    };
  }
  const ctx = base;
  const conditions: ConditionExplanation[] = rule.conditions.map((c) => {
    try {
      const actual = conditionActual(c, ctx);
      const held = conditionHolds(c, actual);
      return {
        attribute: c.attribute,
        operator: c.operator,
        values: c.values,
        actual,
        outcome: held ? 'held' : 'not_held',
        error: undefined,
      };
    } catch (e) {
      const f = asFailure(e);
      return {
        attribute: c.attribute,
        operator: c.operator,
        values: c.values,
        actual: undefined,
        outcome: 'error',
        error: { code: f.code, message: f.message, attribute: f.attribute },
      };
    }
  });
  // As ruleHolds: a false condition makes the rule false; otherwise the first unreadable one is its failure.
  const falseOne = conditions.some((c) => c.outcome === 'not_held');
  const failed = falseOne ? undefined : conditions.find((c) => c.outcome === 'error');
  return {
    index,
    kind: 'conditions',
    outcome: falseOne ? 'not_held' : failed === undefined ? 'held' : 'error',
    error: failed?.error,
    conditions,
    expression: undefined,
    steps: [],
  };
}

interface RuleResult {
  matched: number | undefined;
  anyFalse: boolean;
  failures: [number, EvalFailure][] | undefined;
}

/** Evaluates every rule with a report (explain); the outcome is the one the fast path reaches. */
function explainRules(id: CompiledIdentity, ctx: EvalContext, report: RuleExplanation[]): RuleResult {
  const result: RuleResult = { matched: undefined, anyFalse: false, failures: undefined };
  id.rules.forEach((rule, i) => {
    const r = explainRule(rule, i, ctx);
    report.push(r);
    if (r.outcome === 'held') result.matched ??= i;
    else if (result.matched === undefined) {
      if (r.outcome === 'not_held') result.anyFalse = true;
      else {
        result.failures ??= [];
        result.failures.push([i, new EvalFailure(r.error!.code, r.error!.message, r.error!.attribute)]);
      }
    }
  });
  return result;
}

function ruleDenial(
  id: CompiledIdentity,
  anyFalse: boolean,
  failures: [number, EvalFailure][] | undefined,
): DenyDecision {
  if (failures === undefined) return id.noRuleMatched;
  const errors = failures.map(([i, f]) => `rule ${i}: ${f.message}`).join('; ');
  const [rule, first] = failures[0]!;
  if (!anyFalse) {
    // Every rule failed to evaluate: the first failure (typically an unset attribute) is the reason.
    return deny(id, id.name, first.code, errors, {
      attribute: first.attribute,
      rule: failures.length === 1 ? rule : undefined,
    });
  }
  return deny(id, id.name, 'ERR_WID_RULE_NO_RULE_MATCHED', `${id.noRuleMatched.reason}; ${errors}`, {
    attribute: first.attribute,
  });
}

function renderSubjectField(t: CompiledTemplate | undefined, ctx: EvalContext, key: string): string | undefined {
  if (t === undefined) return undefined;
  const v = t.render(ctx);
  if (v.length > MAX_SUBJECT_FIELD_LENGTH) {
    throw new EvalFailure(
      'ERR_WID_RULE_INVALID_SUBJECT',
      `subject ${key} ${JSON.stringify(v.slice(0, 80))} is longer than ${MAX_SUBJECT_FIELD_LENGTH} characters`,
    );
  }
  return v;
}

/** Renders the issuance for a resource whose rules held. Throws an EvalFailure tagged with the failing field. */
function render(
  id: CompiledIdentity,
  ctx: EvalContext,
  req: NormalizedRequest,
  matchedRule: number | undefined,
  fieldRef: { field: string },
): IssueDecision {
  fieldRef.field = 'spec.spiffe.id';
  let spiffeId = id.fixedSpiffeId;
  if (spiffeId === undefined) {
    const path = id.spiffeId.render(ctx);
    try {
      spiffeId = SpiffeId.fromPath(id.trustDomain, path);
    } catch (e) {
      if (!(e instanceof SpiffeIdError)) throw e;
      throw new EvalFailure(
        'ERR_WID_RULE_INVALID_SPIFFE_ID',
        `rendered ${JSON.stringify(path.slice(0, 200))}, which is not a valid SPIFFE ID path: ${e.message}`,
      );
    }
  }
  fieldRef.field = 'spec.spiffe.hint';
  const hint = id.hint?.render(ctx);
  let dnsSans: string[] = [];
  for (let i = 0; i < id.dnsSans.length; i++) {
    fieldRef.field = `spec.spiffe.x509.dns_sans[${i}]`;
    const t = id.dnsSans[i]!;
    const v = t.render(ctx);
    if (t.constant === undefined && !isValidDnsSan(v, t.text.startsWith('*.'))) {
      // A wildcard is allowed only from the literal template text (`*.{{ ... }}`), never from a rendered value.
      const wildcard = v.includes('*') && !t.text.startsWith('*.') && isValidDnsSan(v);
      throw new EvalFailure(
        'ERR_WID_RULE_INVALID_DNS_SAN',
        wildcard
          ? `rendered ${JSON.stringify(v.slice(0, 300))}: a wildcard may only come from the literal template text (start it with "*."), not from an attribute value`
          : `rendered ${JSON.stringify(v.slice(0, 300))}, which is not a valid DNS name`,
      );
    }
    if (!dnsSans.includes(v)) dnsSans.push(v);
  }
  if (dnsSans.length === 0) dnsSans = EMPTY;
  let subject: X509Subject | undefined;
  const st = id.subject;
  if (st !== undefined) {
    fieldRef.field = 'spec.spiffe.x509.subject_template';
    const s: { commonName?: string; organization?: string; organizationalUnit?: string } = {};
    const cn = renderSubjectField(st.commonName, ctx, 'common_name');
    if (cn !== undefined) s.commonName = cn;
    const o = renderSubjectField(st.organization, ctx, 'organization');
    if (o !== undefined) s.organization = o;
    const ou = renderSubjectField(st.organizationalUnit, ctx, 'organizational_unit');
    if (ou !== undefined) s.organizationalUnit = ou;
    subject = s;
  }
  fieldRef.field = 'spec.spiffe.jwt.extra_claims';
  const extraClaims = id.extraClaims(ctx);
  const cap = (req.svidType === 'jwt' ? id.jwtMaxTtlSeconds : id.x509MaxTtlSeconds) ?? DEFAULT_MAX_TTL_SECONDS;
  const ttlSeconds = Math.min(req.ttlSeconds ?? DEFAULT_TTL_SECONDS, cap);
  return {
    kind: 'issue',
    resource: id.name,
    revision: id.revision,
    spiffeId,
    hint,
    dnsSans,
    ipSans: id.ipSans,
    subject,
    ttlSeconds,
    extraClaims,
    matchedRule,
  };
}

/** A fresh evaluation context for one request: attributes plus an empty attribute cache. */
export function requestContext(attrs: unknown, slotCount: number): EvalContext {
  return { attrs, trace: undefined, cache: new Array(slotCount) };
}

/** Decides one resource. `ctx` comes from {@link requestContext}; `report` (explain) receives one entry per rule. */
export function evaluateIdentity(
  id: CompiledIdentity,
  ctx: EvalContext,
  req: NormalizedRequest,
  report?: RuleExplanation[],
): IssueDecision | DenyDecision {
  let matched: number | undefined;
  const rules = id.rules;
  if (rules.length > 0) {
    if (report !== undefined) {
      const r = explainRules(id, ctx, report);
      if (r.matched === undefined) return ruleDenial(id, r.anyFalse, r.failures);
      matched = r.matched;
    } else {
      // The hot path: OR over rules, a rule that fails to evaluate is recorded and never grants.
      let anyFalse = false;
      let failures: [number, EvalFailure][] | undefined;
      for (let i = 0; i < rules.length; i++) {
        try {
          if (ruleHolds(rules[i]!, ctx)) {
            matched = i;
            break;
          }
          anyFalse = true;
        } catch (e) {
          failures ??= [];
          failures.push([i, asFailure(e)]);
        }
      }
      if (matched === undefined) return ruleDenial(id, anyFalse, failures);
    }
  }
  const fieldRef = { field: '' };
  try {
    return render(id, ctx, req, matched, fieldRef);
  } catch (e) {
    const f = asFailure(e);
    return deny(id, id.name, f.code, `${fieldRef.field}: ${f.message}`, {
      attribute: f.attribute,
      field: fieldRef.field,
    });
  }
}
