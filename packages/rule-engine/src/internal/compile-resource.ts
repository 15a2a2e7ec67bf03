// Compiles one validated resource: rules to closures, templates to renderers, durations to seconds. Everything that
// can be known at load is checked here, so the hot path only evaluates.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { SpiffeId, SpiffeIdError, type TrustDomain } from '@wid/spiffe-id';
import type { AttributeSchema } from '../attribute-schema.js';
import { parseDuration } from '../duration.js';
import { RuleEngineError } from '../errors.js';
import type { JsonValue, WorkloadIdentityCondition, WorkloadIdentityResource } from '../resource.js';
import { type Resolution, resolveAttribute } from './attributes.js';
import {
  type CompiledExpr,
  compileAttributeRead,
  compileExpression,
  type EvalContext,
  ExpressionError,
} from './expression.js';
import { isValidDnsSan } from './hostname.js';
import type { Site } from './site.js';
import type { PathSeg } from './source.js';
import { type CompiledTemplate, compileTemplate, TemplateSyntaxError } from './template.js';

export const MAX_X509_TTL_SECONDS = 14 * 24 * 3600;
export const MAX_JWT_TTL_SECONDS = 24 * 3600;
/** RFC 5280 upper bounds (ub-common-name, ub-organization-name, ub-organizational-unit-name). */
export const MAX_SUBJECT_FIELD_LENGTH = 64;

export type ConditionOperator = 'eq' | 'not_eq' | 'in' | 'not_in';

export interface CompiledCondition {
  readonly attribute: string;
  readonly operator: ConditionOperator;
  readonly values: readonly string[];
  /** Reads the attribute as a string (bools `true`/`false`, ints decimal); throws an EvalFailure. */
  readonly read: (ctx: EvalContext) => string;
  readonly test: (actual: string) => boolean;
}

export interface CompiledRule {
  readonly kind: 'conditions' | 'expression';
  readonly conditions: readonly CompiledCondition[];
  readonly expression: CompiledExpr | undefined;
  /** True when the rule holds; throws an EvalFailure when it cannot be evaluated. */
  readonly holds: (ctx: EvalContext) => boolean;
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
  const read = compileAttributeRead(ref);
  const type = ref.type;
  const readString: (ctx: EvalContext) => string =
    type === 'string'
      ? (read as (ctx: EvalContext) => string)
      : type === 'int'
        ? (ctx) => String(read(ctx))
        : (ctx) => (read(ctx) === true ? 'true' : 'false');
  const operator: ConditionOperator = c.eq ? 'eq' : c.not_eq ? 'not_eq' : c.in ? 'in' : 'not_in';
  const values = c.eq ? [c.eq.value] : c.not_eq ? [c.not_eq.value] : c.in ? [...c.in.values] : [...c.not_in!.values];
  let test: (actual: string) => boolean;
  const one = values[0];
  if (operator === 'eq') test = (a) => a === one;
  else if (operator === 'not_eq') test = (a) => a !== one;
  else {
    const set = new Set(values);
    test = operator === 'in' ? (a) => set.has(a) : (a) => !set.has(a);
  }
  return { attribute: ref.display, operator, values: Object.freeze(values), read: readString, test };
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

function compileRuleExpression(site: Site, schema: AttributeSchema, text: string, path: PathSeg[]): CompiledExpr {
  try {
    return compileExpression(text, schema, 'bool');
  } catch (e) {
    if (e instanceof ExpressionError) expressionFailure(site, path, e, text);
    throw e;
  }
}

function template(site: Site, schema: AttributeSchema, text: string, path: PathSeg[]): CompiledTemplate {
  try {
    return compileTemplate(text, schema);
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
  v: JsonValue,
  path: PathSeg[],
): { dynamic: boolean; fn: (ctx: EvalContext) => JsonValue } {
  if (typeof v === 'string') {
    const t = template(site, schema, v, path);
    return t.constant !== undefined ? { dynamic: false, fn: () => v } : { dynamic: true, fn: (ctx) => t.render(ctx) };
  }
  if (v === null || typeof v !== 'object') return { dynamic: false, fn: () => v };
  if (Array.isArray(v)) {
    const items = (v as readonly JsonValue[]).map((x, i) => compileClaims(site, schema, x, [...path, i]));
    if (!items.some((c) => c.dynamic)) {
      const frozen = deepFreeze(v);
      return { dynamic: false, fn: () => frozen };
    }
    return { dynamic: true, fn: (ctx) => items.map((c) => c.fn(ctx)) };
  }
  const entries = Object.entries(v as Record<string, JsonValue>).map(
    ([k, x]) => [k, compileClaims(site, schema, x, [...path, k])] as const,
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
): CompiledIdentity {
  const rules: CompiledRule[] = (resource.spec.rules?.allow ?? []).map((rule, i) => {
    const path: PathSeg[] = ['spec', 'rules', 'allow', i];
    if (rule.expression !== undefined) {
      const expr = compileRuleExpression(site, schema, rule.expression, [...path, 'expression']);
      const fn = expr.fn;
      return { kind: 'expression', conditions: [], expression: expr, holds: (ctx) => fn(ctx) === true };
    }
    const conditions = (rule.conditions ?? []).map((c, j) =>
      compileCondition(site, schema, c, [...path, 'conditions', j]),
    );
    const n = conditions.length;
    return {
      kind: 'conditions',
      conditions,
      expression: undefined,
      holds: (ctx) => {
        for (let k = 0; k < n; k++) {
          const c = conditions[k]!;
          if (!c.test(c.read(ctx))) return false;
        }
        return true;
      },
    };
  });

  const sp = resource.spec.spiffe;
  const idPath: PathSeg[] = ['spec', 'spiffe', 'id'];
  const spiffeId = template(site, schema, sp.id, idPath);
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
    sp.hint === undefined || sp.hint === '' ? undefined : template(site, schema, sp.hint, ['spec', 'spiffe', 'hint']);

  const x509 = sp.x509;
  const dnsSans = (x509?.dns_sans ?? []).map((text, i) => {
    const p: PathSeg[] = ['spec', 'spiffe', 'x509', 'dns_sans', i];
    const t = template(site, schema, text, p);
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
  let subject: CompiledSubject | undefined;
  const st = x509?.subject_template;
  if (st !== undefined) {
    const field = (key: 'common_name' | 'organization' | 'organizational_unit'): CompiledTemplate | undefined => {
      const text = st[key];
      if (text === undefined || text === '') return undefined;
      const p: PathSeg[] = ['spec', 'spiffe', 'x509', 'subject_template', key];
      const t = template(site, schema, text, p);
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
    const c = compileClaims(site, schema, claims, ['spec', 'spiffe', 'jwt', 'extra_claims']);
    extraClaims = c.fn as (ctx: EvalContext) => Record<string, JsonValue>;
  }

  const frozen = deepFreeze(structuredClone(resource));
  return {
    name: resource.metadata.name,
    labels: frozen.metadata.labels ?? Object.freeze({}),
    revision: revisionOf(resource),
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
  };
}
