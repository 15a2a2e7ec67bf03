// Compiles one validated resource: rules to closures, templates to renderers, durations to seconds. Everything that
// can be known at load is checked here, so the hot path only evaluates.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { SpiffeId, SpiffeIdError, type TrustDomain } from '@wid/spiffe-id';
import type { AttributeSchema } from '../attribute-schema.js';
import type { DenyDecision } from '../decision.js';
import { parseDuration } from '../duration.js';
import { RuleEngineError } from '../errors.js';
import type { ConditionOperator, JsonValue, WorkloadIdentityCondition, WorkloadIdentityResource } from '../resource.js';
import { type CompileCache, EvalFailure, type Resolution, resolveAttribute } from './attributes.js';
import {
  type CompiledExpr,
  compileAttributeRead,
  compileExpression,
  type EvalContext,
  ExpressionError,
  type Guard,
} from './expression.js';
import { isValidDnsSan } from './hostname.js';
import type { Site } from './site.js';
import type { PathSeg } from './source.js';
import { type CompiledTemplate, compileTemplate, TemplateSyntaxError } from './template.js';

export const MAX_X509_TTL_SECONDS = 14 * 24 * 3600;
export const MAX_JWT_TTL_SECONDS = 24 * 3600;
/** RFC 5280 upper bounds (ub-common-name, ub-organization-name, ub-organizational-unit-name). */
export const MAX_SUBJECT_FIELD_LENGTH = 64;

const OP_EQ = 0;
const OP_NOT_EQ = 1;
const OP_IN = 2;
const OP_NOT_IN = 3;

// Conditions and rules are plain data evaluated by one function each (conditionActual, conditionHolds, ruleHolds):
// with one closure per resource and kind, the call sites of a set of 10,000 resources would see many different
// functions and V8 would stop inlining them.
export interface CompiledCondition {
  readonly attribute: string;
  readonly operator: ConditionOperator;
  readonly values: readonly string[];
  /** Reads the attribute (through the request cache); throws an EvalFailure. */
  readonly read: (ctx: EvalContext) => unknown;
  /** The attribute's slot in the request cache. */
  readonly slot: number;
  readonly op: number;
  readonly one: string;
  readonly set: ReadonlySet<string> | undefined;
}

export interface CompiledRule {
  readonly kind: 'conditions' | 'expression';
  readonly conditions: readonly CompiledCondition[];
  readonly expression: CompiledExpr | undefined;
  /** `attribute == literal` tests any one of which, false, makes the rule false (see the rule index). */
  readonly guards: readonly Guard[];
}

/** A scalar attribute value as conditions compare it: strings as-is, ints in decimal, bools as true/false. */
export function scalarString(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v === true ? 'true' : 'false';
}

/** The attribute as a condition compares it. Throws an EvalFailure when it cannot be read. */
export function conditionActual(c: CompiledCondition, ctx: EvalContext): string {
  const hit = ctx.cache[c.slot];
  return scalarString(hit === undefined || hit instanceof EvalFailure ? c.read(ctx) : hit);
}

export function conditionHolds(c: CompiledCondition, actual: string): boolean {
  switch (c.op) {
    case OP_EQ:
      return actual === c.one;
    case OP_NOT_EQ:
      return actual !== c.one;
    case OP_IN:
      return c.set!.has(actual);
    default:
      return !c.set!.has(actual);
  }
}

/**
 * True when the rule holds; throws an EvalFailure when it cannot be evaluated. The conditions of a rule are AND'ed in
 * no particular order: one that is false makes the rule false even when another cannot be read (three-valued logic:
 * false AND unset = false); otherwise the first that cannot be read is the rule's failure. An expression evaluates
 * left to right, and its first failure is the rule's failure.
 */
export function ruleHolds(rule: CompiledRule, ctx: EvalContext): boolean {
  const expr = rule.expression;
  if (expr !== undefined) return expr.fn(ctx) === true;
  const conditions = rule.conditions;
  let failure: unknown;
  for (let k = 0; k < conditions.length; k++) {
    const c = conditions[k]!;
    try {
      if (!conditionHolds(c, conditionActual(c, ctx))) return false;
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== undefined) throw failure;
  return true;
}

export interface CompiledSubject {
  readonly commonName: CompiledTemplate | undefined;
  readonly organization: CompiledTemplate | undefined;
  readonly organizationalUnit: CompiledTemplate | undefined;
}

export interface CompiledIdentity {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly revision: string;
  readonly resource: WorkloadIdentityResource;
  readonly rules: readonly CompiledRule[];
  readonly spiffeId: CompiledTemplate;
  /** The SPIFFE ID, built once, when spec.spiffe.id has no template expressions. */
  readonly fixedSpiffeId: SpiffeId | undefined;
  readonly hint: CompiledTemplate | undefined;
  readonly dnsSans: readonly CompiledTemplate[];
  readonly ipSans: readonly string[];
  readonly subject: CompiledSubject | undefined;
  readonly x509MaxTtlSeconds: number | undefined;
  readonly jwtMaxTtlSeconds: number | undefined;
  /** Renders jwt.extra_claims; returns a shared frozen object when nothing is templated. */
  readonly extraClaims: (ctx: EvalContext) => Readonly<Record<string, JsonValue>>;
  readonly trustDomain: TrustDomain;
  /** The (frozen, shared) denial when every rule evaluated cleanly to false: the common case, allocated once. */
  readonly noRuleMatched: DenyDecision;
}

const EMPTY_CLAIMS: Readonly<Record<string, JsonValue>> = Object.freeze({});

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A content hash of the resource (without metadata.revision): equal content, equal revision. */
export function revisionOf(resource: WorkloadIdentityResource): string {
  const { revision: _ignored, ...metadata } = resource.metadata;
  return createHash('sha256')
    .update(canonical({ ...resource, metadata }))
    .digest('hex')
    .slice(0, 16);
}

/** `workload.kubernetes.labels.app.kubernetes.io/name` (a map swallows the rest as its key) or `labels["k"]`. */
export function resolveConditionAttribute(schema: AttributeSchema, attribute: string): Resolution {
  const bracket = attribute.indexOf('[');
  if (bracket !== -1) {
    const rest = attribute.slice(bracket);
    let key: unknown;
    try {
      key = rest.endsWith(']') ? JSON.parse(rest.slice(1, -1)) : undefined;
    } catch {
      key = undefined;
    }
    if (typeof key !== 'string') {
      return {
        ok: false,
        segment: 0,
        message: `cannot read ${JSON.stringify(attribute)}: write a map key as labels["key"]`,
      };
    }
    return resolveAttribute(schema, attribute.slice(0, bracket).split('.'), key);
  }
  const segs = attribute.split('.');
  let node: AttributeSchema = schema;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (!Object.hasOwn(node, seg)) break;
    const next = node[seg]!;
    if (typeof next === 'string') {
      if (next === 'map' && i < segs.length - 1) {
        return resolveAttribute(schema, segs.slice(0, i + 1), segs.slice(i + 1).join('.'));
      }
      break;
    }
    node = next;
  }
  return resolveAttribute(schema, segs);
}

function compileCondition(
  site: Site,
  schema: AttributeSchema,
  slots: CompileCache,
  c: WorkloadIdentityCondition,
  path: PathSeg[],
): CompiledCondition {
  const r = resolveConditionAttribute(schema, c.attribute);
  if (!r.ok) {
    site.fail('ERR_WID_RULE_UNKNOWN_ATTRIBUTE', [...path, 'attribute'], r.message, { attribute: c.attribute });
  }
  const ref = r.ref;
  if (ref.type !== 'string' && ref.type !== 'int' && ref.type !== 'bool') {
    site.fail(
      'ERR_WID_RULE_EXPRESSION_TYPE',
      [...path, 'attribute'],
      `a condition compares a string, int or bool; ${ref.display} is a ${ref.type} (use an expression with contains())`,
      { attribute: ref.display },
    );
  }
  const operator: ConditionOperator = c.eq ? 'eq' : c.not_eq ? 'not_eq' : c.in ? 'in' : 'not_in';
  const values = c.eq ? [c.eq.value] : c.not_eq ? [c.not_eq.value] : c.in ? [...c.in.values] : [...c.not_in!.values];
  const op = operator === 'eq' ? OP_EQ : operator === 'not_eq' ? OP_NOT_EQ : operator === 'in' ? OP_IN : OP_NOT_IN;
  return {
    attribute: ref.display,
    operator,
    values: Object.freeze(values),
    read: compileAttributeRead(ref, slots),
    slot: slots.slotOf(ref),
    op,
    one: values[0] ?? '',
    set: op === OP_IN || op === OP_NOT_IN ? new Set(values) : undefined,
  };
}

function expressionFailure(site: Site, path: PathSeg[], e: ExpressionError, text: string): never {
  const near = text.slice(e.offset, e.offset + 24);
  site.fail(
    e instanceof TemplateSyntaxError ? 'ERR_WID_RULE_TEMPLATE_SYNTAX' : e.code,
    path,
    `${e.message}${near === '' ? '' : ` (at ${JSON.stringify(near)})`}`,
    { expressionColumn: e.offset + 1, attribute: e.attribute, cause: e },
  );
}

function compileRuleExpression(
  site: Site,
  schema: AttributeSchema,
  slots: CompileCache,
  text: string,
  path: PathSeg[],
): CompiledExpr {
  try {
    return compileExpression(text, schema, slots, 'bool');
  } catch (e) {
    if (e instanceof ExpressionError) expressionFailure(site, path, e, text);
    throw e;
  }
}

function template(
  site: Site,
  schema: AttributeSchema,
  slots: CompileCache,
  text: string,
  path: PathSeg[],
): CompiledTemplate {
  try {
    return compileTemplate(text, schema, slots);
  } catch (e) {
    if (e instanceof ExpressionError) expressionFailure(site, path, e, text);
    throw e;
  }
}

function ttl(site: Site, text: string | undefined, path: PathSeg[], max: number): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    if (e instanceof RuleEngineError) site.fail('ERR_WID_RULE_INVALID_DURATION', path, e.message, { input: text });
    throw e;
  }
  if (ms === 0) return undefined; // protobuf zero Duration: unset, the default cap applies
  if (ms < 0)
    site.fail('ERR_WID_RULE_INVALID_DURATION', path, `must be positive, got ${JSON.stringify(text)}`, { input: text });
  if (ms < 1000)
    site.fail('ERR_WID_RULE_INVALID_FIELD', path, `must be at least 1s, got ${JSON.stringify(text)}`, { input: text });
  const seconds = Math.floor(ms / 1000);
  if (seconds > max) {
    site.fail('ERR_WID_RULE_TTL_TOO_LONG', path, `${text} is longer than the limit of ${max / 3600}h`, {
      input: text,
      limit: max,
    });
  }
  return seconds;
}

function compileClaims(
  site: Site,
  schema: AttributeSchema,
  slots: CompileCache,
  v: JsonValue,
  path: PathSeg[],
): { dynamic: boolean; fn: (ctx: EvalContext) => JsonValue } {
  if (typeof v === 'string') {
    const t = template(site, schema, slots, v, path);
    return t.constant !== undefined ? { dynamic: false, fn: () => v } : { dynamic: true, fn: (ctx) => t.render(ctx) };
  }
  if (v === null || typeof v !== 'object') return { dynamic: false, fn: () => v };
  if (Array.isArray(v)) {
    const items = (v as readonly JsonValue[]).map((x, i) => compileClaims(site, schema, slots, x, [...path, i]));
    if (!items.some((c) => c.dynamic)) {
      const frozen = deepFreeze(v);
      return { dynamic: false, fn: () => frozen };
    }
    return { dynamic: true, fn: (ctx) => items.map((c) => c.fn(ctx)) };
  }
  const entries = Object.entries(v as Record<string, JsonValue>).map(
    ([k, x]) => [k, compileClaims(site, schema, slots, x, [...path, k])] as const,
  );
  if (!entries.some(([, c]) => c.dynamic)) {
    const frozen = deepFreeze(v);
    return { dynamic: false, fn: () => frozen };
  }
  return { dynamic: true, fn: (ctx) => Object.fromEntries(entries.map(([k, c]) => [k, c.fn(ctx)])) };
}

/** Compiles a validated resource. @throws {RuleEngineError} naming resource, path, line and expression column. */
export function compileResource(
  resource: WorkloadIdentityResource,
  site: Site,
  schema: AttributeSchema,
  trustDomain: TrustDomain,
  slots: CompileCache,
): CompiledIdentity {
  const rules: CompiledRule[] = (resource.spec.rules?.allow ?? []).map((rule, i) => {
    const path: PathSeg[] = ['spec', 'rules', 'allow', i];
    if (rule.expression !== undefined) {
      const expr = compileRuleExpression(site, schema, slots, rule.expression, [...path, 'expression']);
      return { kind: 'expression', conditions: [], expression: expr, guards: expr.guard ? [expr.guard] : [] };
    }
    const conditions = (rule.conditions ?? []).map((c, j) =>
      compileCondition(site, schema, slots, c, [...path, 'conditions', j]),
    );
    const guards = conditions.filter((c) => c.op === OP_EQ).map((c) => ({ slot: c.slot, key: c.one, read: c.read }));
    return { kind: 'conditions', conditions, expression: undefined, guards };
  });

  const sp = resource.spec.spiffe;
  const idPath: PathSeg[] = ['spec', 'spiffe', 'id'];
  const spiffeId = template(site, schema, slots, sp.id, idPath);
  let fixedSpiffeId: SpiffeId | undefined;
  try {
    const skeletonId = SpiffeId.fromPath(trustDomain, spiffeId.skeleton);
    if (spiffeId.constant !== undefined) fixedSpiffeId = skeletonId;
  } catch (e) {
    if (!(e instanceof SpiffeIdError)) throw e;
    site.fail('ERR_WID_RULE_INVALID_FIELD', idPath, `is not a valid SPIFFE ID path: ${e.message}`, {
      input: sp.id,
      cause: e,
    });
  }
  const hint =
    sp.hint === undefined || sp.hint === ''
      ? undefined
      : template(site, schema, slots, sp.hint, ['spec', 'spiffe', 'hint']);

  const x509 = sp.x509;
  const dnsSans = (x509?.dns_sans ?? []).map((text, i) => {
    const p: PathSeg[] = ['spec', 'spiffe', 'x509', 'dns_sans', i];
    const t = template(site, schema, slots, text, p);
    if (!isValidDnsSan(t.skeleton)) {
      site.fail('ERR_WID_RULE_INVALID_FIELD', p, `${JSON.stringify(text)} is not a valid DNS name`, { input: text });
    }
    return t;
  });
  const ipSans = (x509?.ip_sans ?? []).map((ip, i) => {
    if (isIP(ip) === 0) {
      site.fail(
        'ERR_WID_RULE_INVALID_FIELD',
        ['spec', 'spiffe', 'x509', 'ip_sans', i],
        `${JSON.stringify(ip)} is not an IP address`,
        {
          input: ip,
        },
      );
    }
    return ip;
  });
  Object.freeze(ipSans);
  let subject: CompiledSubject | undefined;
  const st = x509?.subject_template;
  if (st !== undefined) {
    const field = (key: 'common_name' | 'organization' | 'organizational_unit'): CompiledTemplate | undefined => {
      const text = st[key];
      if (text === undefined || text === '') return undefined;
      const p: PathSeg[] = ['spec', 'spiffe', 'x509', 'subject_template', key];
      const t = template(site, schema, slots, text, p);
      if (t.constant !== undefined && t.constant.length > MAX_SUBJECT_FIELD_LENGTH) {
        site.fail('ERR_WID_RULE_INVALID_FIELD', p, `is longer than ${MAX_SUBJECT_FIELD_LENGTH} characters`, {
          limit: MAX_SUBJECT_FIELD_LENGTH,
        });
      }
      return t;
    };
    const s = {
      commonName: field('common_name'),
      organization: field('organization'),
      organizationalUnit: field('organizational_unit'),
    };
    if (s.commonName || s.organization || s.organizationalUnit) subject = s;
  }
  const x509MaxTtlSeconds = ttl(
    site,
    x509?.maximum_ttl,
    ['spec', 'spiffe', 'x509', 'maximum_ttl'],
    MAX_X509_TTL_SECONDS,
  );
  const jwtMaxTtlSeconds = ttl(
    site,
    sp.jwt?.maximum_ttl,
    ['spec', 'spiffe', 'jwt', 'maximum_ttl'],
    MAX_JWT_TTL_SECONDS,
  );

  let extraClaims: (ctx: EvalContext) => Readonly<Record<string, JsonValue>> = () => EMPTY_CLAIMS;
  const claims = sp.jwt?.extra_claims;
  if (claims !== undefined && Object.keys(claims).length > 0) {
    const c = compileClaims(site, schema, slots, claims, ['spec', 'spiffe', 'jwt', 'extra_claims']);
    extraClaims = c.fn as (ctx: EvalContext) => Record<string, JsonValue>;
  }

  // validateResource built `resource` afresh (it never aliases the caller's input), so it can be frozen in place.
  const frozen = deepFreeze(resource);
  const revision = revisionOf(resource);
  const n = rules.length;
  const noRuleMatched: DenyDecision = Object.freeze({
    kind: 'deny',
    resource: resource.metadata.name,
    revision,
    code: 'ERR_WID_RULE_NO_RULE_MATCHED',
    reason: `${n === 1 ? 'the allow rule did not hold' : `none of the ${n} allow rules held`} for these attributes`,
    attribute: undefined,
    field: undefined,
    rule: undefined,
  });
  return {
    name: resource.metadata.name,
    labels: frozen.metadata.labels ?? Object.freeze({}),
    revision,
    resource: frozen,
    rules,
    spiffeId,
    fixedSpiffeId,
    hint,
    dnsSans,
    ipSans,
    subject,
    x509MaxTtlSeconds,
    jwtMaxTtlSeconds,
    extraClaims,
    trustDomain,
    noRuleMatched,
  };
}
