// Structural validation of one workload_identity v1 resource: types, required fields, unknown keys (errors, naming
// the key), and normalisation (condition values to strings, null = absent). Semantic compilation is compile-resource.
import type {
  JsonValue,
  WorkloadIdentityCondition,
  WorkloadIdentityResource,
  WorkloadIdentityRule,
  X509SubjectTemplate,
} from '../resource.js';
import type { Site } from './site.js';
import type { PathSeg } from './source.js';

export const MAX_CLAIM_DEPTH = 10;
/** JWT registered claims (RFC 7519 §4.1): the issuer sets them; a resource may not. */
export const RESERVED_CLAIMS: readonly string[] = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'];
const MAX_NAME_LENGTH = 253;

type Obj = Record<string, unknown>;

function absent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `the bool ${v}`;
  return `a ${typeof v}`;
}

class Validator {
  constructor(readonly site: Site) {}

  map(v: unknown, path: PathSeg[], what: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, `must be ${what} (a map), got ${kindOf(v)}`);
    }
    return v as Obj;
  }

  keys(obj: Obj, allowed: readonly string[], path: PathSeg[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.site.fail(
          'ERR_WID_RULE_UNKNOWN_FIELD',
          [...path, key],
          `unknown field ${JSON.stringify(key)}; allowed here: ${allowed.join(', ')}`,
          { input: key },
        );
      }
    }
  }

  string(v: unknown, path: PathSeg[]): string {
    if (typeof v !== 'string') {
      this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, `must be a string, got ${kindOf(v)}`);
    }
    return v;
  }

  optString(v: unknown, path: PathSeg[]): string | undefined {
    return absent(v) ? undefined : this.string(v, path);
  }

  requiredString(obj: Obj, key: string, path: PathSeg[]): string {
    const v = obj[key];
    if (absent(v) || v === '') this.site.fail('ERR_WID_RULE_MISSING_FIELD', [...path, key], 'is required');
    return this.string(v, [...path, key]);
  }

  list(v: unknown, path: PathSeg[]): unknown[] {
    if (!Array.isArray(v)) this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, `must be a list, got ${kindOf(v)}`);
    return v;
  }

  stringList(v: unknown, path: PathSeg[]): string[] | undefined {
    if (absent(v)) return undefined;
    return this.list(v, path).map((item, i) => {
      const s = this.string(item, [...path, i]);
      if (s === '') this.site.fail('ERR_WID_RULE_INVALID_FIELD', [...path, i], 'must not be empty');
      return s;
    });
  }

  /** A condition value: string, or an integer / bool written without quotes (converted as the spec says). */
  scalar(v: unknown, path: PathSeg[]): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    if (typeof v === 'bigint') return v.toString();
    return this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, `must be a string, integer or bool, got ${kindOf(v)}`);
  }

  json(v: unknown, path: PathSeg[], depth: number): JsonValue {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, 'must be a finite number');
      return v;
    }
    if (typeof v === 'object') {
      if (depth >= MAX_CLAIM_DEPTH) {
        this.site.fail(
          'ERR_WID_RULE_CLAIMS_TOO_DEEP',
          path,
          `extra_claims nest more than ${MAX_CLAIM_DEPTH} levels deep`,
          {
            limit: MAX_CLAIM_DEPTH,
          },
        );
      }
      if (Array.isArray(v)) return v.map((x, i) => this.json(x, [...path, i], depth + 1));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.json(x, [...path, k], depth + 1)]));
    }
    return this.site.fail('ERR_WID_RULE_INVALID_FIELD', path, `is not a JSON value (${kindOf(v)})`);
  }
}

function validateCondition(val: Validator, v: unknown, path: PathSeg[]): WorkloadIdentityCondition {
  const c = val.map(v, path, 'a condition');
  val.keys(c, ['attribute', 'eq', 'not_eq', 'in', 'not_in'], path);
  const attribute = val.requiredString(c, 'attribute', path);
  const ops = (['eq', 'not_eq', 'in', 'not_in'] as const).filter((k) => !absent(c[k]));
  if (ops.length !== 1) {
    val.site.fail(
      ops.length === 0 ? 'ERR_WID_RULE_MISSING_FIELD' : 'ERR_WID_RULE_INVALID_FIELD',
      ops.length === 0 ? path : [...path, ops[1]!],
      ops.length === 0
        ? 'a condition needs one operator: eq, not_eq, in or not_in'
        : `a condition has exactly one operator; found ${ops.join(' and ')}`,
    );
  }
  const op = ops[0]!;
  const opPath = [...path, op];
  const body = val.map(c[op], opPath, `the ${op} operator`);
  if (op === 'eq' || op === 'not_eq') {
    val.keys(body, ['value'], opPath);
    if (absent(body['value'])) val.site.fail('ERR_WID_RULE_MISSING_FIELD', [...opPath, 'value'], 'is required');
    return { attribute, [op]: { value: val.scalar(body['value'], [...opPath, 'value']) } };
  }
  val.keys(body, ['values'], opPath);
  if (absent(body['values'])) val.site.fail('ERR_WID_RULE_MISSING_FIELD', [...opPath, 'values'], 'is required');
  const values = val.list(body['values'], [...opPath, 'values']).map((x, i) => val.scalar(x, [...opPath, 'values', i]));
  return { attribute, [op]: { values } };
}

function validateRule(val: Validator, v: unknown, path: PathSeg[]): WorkloadIdentityRule {
  const r = val.map(v, path, 'a rule');
  val.keys(r, ['conditions', 'expression'], path);
  const hasConditions = !absent(r['conditions']) && !(Array.isArray(r['conditions']) && r['conditions'].length === 0);
  const expression = val.optString(r['expression'], [...path, 'expression']);
  const hasExpression = expression !== undefined && expression.trim() !== '';
  if (hasConditions && hasExpression) {
    val.site.fail('ERR_WID_RULE_AMBIGUOUS_RULE', path, 'a rule has either conditions or an expression, not both');
  }
  if (!hasConditions && !hasExpression) {
    val.site.fail(
      'ERR_WID_RULE_EMPTY_RULE',
      path,
      'an empty rule would allow everything; give it conditions or an expression',
    );
  }
  if (hasExpression) return { expression };
  const conditions = val
    .list(r['conditions'], [...path, 'conditions'])
    .map((c, i) => validateCondition(val, c, [...path, 'conditions', i]));
  return { conditions };
}

/** Reads `metadata.name` early, so that every later error can name the resource. */
export function peekName(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const md = (v as Obj)['metadata'];
  if (md === null || typeof md !== 'object') return undefined;
  const name = (md as Obj)['name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Validates and normalises one resource. @throws {RuleEngineError} naming resource, path and line. */
export function validateResource(v: unknown, site: Site): WorkloadIdentityResource {
  const val = new Validator(site);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    site.fail('ERR_WID_RULE_INVALID_RESOURCE', [], `a resource must be a map, got ${kindOf(v)}`);
  }
  const root = v as Obj;
  const early = peekName(root);
  if (early !== undefined) site.setName(early);
  if (root['kind'] !== 'workload_identity') {
    site.fail(
      'ERR_WID_RULE_INVALID_RESOURCE',
      absent(root['kind']) ? [] : ['kind'],
      `kind must be "workload_identity", got ${absent(root['kind']) ? 'no kind' : JSON.stringify(root['kind'])}`,
    );
  }
  if (root['version'] !== 'v1') {
    site.fail(
      'ERR_WID_RULE_INVALID_RESOURCE',
      absent(root['version']) ? [] : ['version'],
      `version must be "v1", got ${absent(root['version']) ? 'no version' : JSON.stringify(root['version'])}`,
    );
  }
  val.keys(root, ['kind', 'version', 'sub_kind', 'metadata', 'spec'], []);
  const subKind = val.optString(root['sub_kind'], ['sub_kind']);
  if (subKind !== undefined && subKind !== '') {
    site.fail('ERR_WID_RULE_INVALID_FIELD', ['sub_kind'], 'workload_identity has no sub kinds; remove sub_kind');
  }

  // metadata
  if (absent(root['metadata'])) site.fail('ERR_WID_RULE_MISSING_FIELD', ['metadata'], 'is required');
  const md = val.map(root['metadata'], ['metadata'], 'metadata');
  if (Object.hasOwn(md, 'expires')) {
    site.fail(
      'ERR_WID_RULE_INVALID_FIELD',
      ['metadata', 'expires'],
      'expiring resources are not supported (wid does not read the clock while deciding); remove metadata.expires',
    );
  }
  val.keys(md, ['name', 'description', 'labels', 'revision', 'namespace'], ['metadata']);
  const name = val.requiredString(md, 'name', ['metadata']);
  if (name.length > MAX_NAME_LENGTH || /[\s/\p{Cc}]/u.test(name)) {
    site.fail(
      'ERR_WID_RULE_INVALID_FIELD',
      ['metadata', 'name'],
      `name ${JSON.stringify(name.slice(0, 64))} must be at most ${MAX_NAME_LENGTH} characters with no whitespace, "/" or control characters`,
      { input: name.slice(0, 64) },
    );
  }
  site.setName(name);
  const description = val.optString(md['description'], ['metadata', 'description']);
  const revision = val.optString(md['revision'], ['metadata', 'revision']);
  const namespace = val.optString(md['namespace'], ['metadata', 'namespace']);
  if (namespace !== undefined && namespace !== 'default') {
    site.fail('ERR_WID_RULE_INVALID_FIELD', ['metadata', 'namespace'], 'namespace must be "default" (or absent)');
  }
  let labels: Record<string, string> | undefined;
  if (!absent(md['labels'])) {
    const l = val.map(md['labels'], ['metadata', 'labels'], 'labels');
    labels = Object.fromEntries(
      Object.entries(l).map(([k, x]) => {
        if (k === '') site.fail('ERR_WID_RULE_INVALID_FIELD', ['metadata', 'labels'], 'a label key must not be empty');
        if (typeof x !== 'string') {
          site.fail(
            'ERR_WID_RULE_INVALID_FIELD',
            ['metadata', 'labels', k],
            `a label value must be a string, got ${kindOf(x)} (quote it in YAML)`,
          );
        }
        return [k, x];
      }),
    );
  }

  // spec
  if (absent(root['spec'])) site.fail('ERR_WID_RULE_MISSING_FIELD', ['spec'], 'is required');
  const spec = val.map(root['spec'], ['spec'], 'spec');
  val.keys(spec, ['rules', 'spiffe'], ['spec']);

  let allow: WorkloadIdentityRule[] | undefined;
  if (!absent(spec['rules'])) {
    const rules = val.map(spec['rules'], ['spec', 'rules'], 'rules');
    val.keys(rules, ['allow'], ['spec', 'rules']);
    if (!absent(rules['allow'])) {
      allow = val
        .list(rules['allow'], ['spec', 'rules', 'allow'])
        .map((r, i) => validateRule(val, r, ['spec', 'rules', 'allow', i]));
    }
  }

  if (absent(spec['spiffe'])) site.fail('ERR_WID_RULE_MISSING_FIELD', ['spec', 'spiffe'], 'is required');
  const sp = val.map(spec['spiffe'], ['spec', 'spiffe'], 'spiffe');
  val.keys(sp, ['id', 'hint', 'x509', 'jwt'], ['spec', 'spiffe']);
  const id = val.requiredString(sp, 'id', ['spec', 'spiffe']);
  if (!id.startsWith('/')) {
    site.fail(
      'ERR_WID_RULE_INVALID_FIELD',
      ['spec', 'spiffe', 'id'],
      `must start with "/", got ${JSON.stringify(id)}`,
      {
        input: id,
      },
    );
  }
  const hint = val.optString(sp['hint'], ['spec', 'spiffe', 'hint']);

  let x509: NonNullable<WorkloadIdentityResource['spec']['spiffe']['x509']> | undefined;
  if (!absent(sp['x509'])) {
    const p: PathSeg[] = ['spec', 'spiffe', 'x509'];
    const x = val.map(sp['x509'], p, 'x509');
    val.keys(x, ['dns_sans', 'ip_sans', 'subject_template', 'maximum_ttl'], p);
    let subject: X509SubjectTemplate | undefined;
    if (!absent(x['subject_template'])) {
      const sp2 = [...p, 'subject_template'];
      const s = val.map(x['subject_template'], sp2, 'subject_template');
      val.keys(s, ['common_name', 'organization', 'organizational_unit'], sp2);
      subject = {
        common_name: val.optString(s['common_name'], [...sp2, 'common_name']),
        organization: val.optString(s['organization'], [...sp2, 'organization']),
        organizational_unit: val.optString(s['organizational_unit'], [...sp2, 'organizational_unit']),
      };
    }
    x509 = {
      dns_sans: val.stringList(x['dns_sans'], [...p, 'dns_sans']),
      ip_sans: val.stringList(x['ip_sans'], [...p, 'ip_sans']),
      subject_template: subject,
      maximum_ttl: absent(x['maximum_ttl']) ? undefined : durationString(val, x['maximum_ttl'], [...p, 'maximum_ttl']),
    };
  }

  let jwt: NonNullable<WorkloadIdentityResource['spec']['spiffe']['jwt']> | undefined;
  if (!absent(sp['jwt'])) {
    const p: PathSeg[] = ['spec', 'spiffe', 'jwt'];
    const j = val.map(sp['jwt'], p, 'jwt');
    val.keys(j, ['extra_claims', 'maximum_ttl'], p);
    let claims: Record<string, JsonValue> | undefined;
    if (!absent(j['extra_claims'])) {
      const cp: PathSeg[] = [...p, 'extra_claims'];
      const c = val.map(j['extra_claims'], cp, 'extra_claims');
      for (const k of Object.keys(c)) {
        if (RESERVED_CLAIMS.includes(k)) {
          site.fail(
            'ERR_WID_RULE_RESERVED_CLAIM',
            [...cp, k],
            `${JSON.stringify(k)} is a registered claim set by the issuer`,
            {
              input: k,
            },
          );
        }
      }
      claims = val.json(c, cp, 0) as Record<string, JsonValue>;
    }
    jwt = {
      extra_claims: claims,
      maximum_ttl: absent(j['maximum_ttl']) ? undefined : durationString(val, j['maximum_ttl'], [...p, 'maximum_ttl']),
    };
  }

  return {
    kind: 'workload_identity',
    version: 'v1',
    metadata: prune({ name, description, labels, revision, namespace }),
    spec: prune({
      rules: allow === undefined ? undefined : { allow },
      spiffe: prune({
        id,
        hint,
        x509:
          x509 === undefined
            ? undefined
            : prune({ ...x509, subject_template: x509.subject_template && prune(x509.subject_template) }),
        jwt: jwt === undefined ? undefined : prune(jwt),
      }),
    }),
  } as WorkloadIdentityResource;
}

function durationString(val: Validator, v: unknown, path: PathSeg[]): string {
  if (typeof v !== 'string') {
    val.site.fail(
      'ERR_WID_RULE_INVALID_DURATION',
      path,
      `must be a duration string such as "24h" or "90m", got ${kindOf(v)}`,
    );
  }
  return v;
}

/** Drops undefined members, so normalised resources compare and hash stably. */
function prune<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
