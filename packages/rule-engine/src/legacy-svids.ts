// tbot's older `spiffe-workload-api` service form:
//   svids: [{ path, hint, sans: { dns, ip }, rules: [{ unix: { pid, uid, gid }, kubernetes: { namespace,
//             service_account, pod_name } }] }]
// translated into workload_identity resources with the same meaning: rules OR'ed, the fields of a rule AND'ed, and a
// rule naming an attestor that did not attest fails.
import { RuleEngineError, type RuleEngineErrorCode } from './errors.js';
import { formatPath, type Locate, type PathSeg, parseSingle } from './internal/source.js';
import type { WorkloadIdentityCondition, WorkloadIdentityResource, WorkloadIdentityRule } from './resource.js';

/** One entry of tbot's legacy `svids` list. */
export interface LegacySvid {
  /** SPIFFE ID path, e.g. `/svc/web` (literal, not a template). */
  readonly path: string;
  readonly hint?: string;
  readonly sans?: { readonly dns?: readonly string[]; readonly ip?: readonly string[] };
  /** OR'ed; no rules = every workload. */
  readonly rules?: readonly LegacySvidRule[];
}

/** One legacy rule: every field given must match (AND), and naming an attestor requires it to have attested. */
export interface LegacySvidRule {
  readonly unix?: { readonly pid?: number; readonly uid?: number; readonly gid?: number };
  readonly kubernetes?: { readonly namespace?: string; readonly service_account?: string; readonly pod_name?: string };
}

/** Options of {@link translateLegacySvids}. */
export interface LegacyTranslationOptions {
  /** Resource names are `<namePrefix><index>`. Default `legacy-svid-`. */
  readonly namePrefix?: string;
  /** Labels given to every translated resource (to select them by label). Default none. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Name of the text (a file name) for error messages. */
  readonly source?: string;
}

type Obj = Record<string, unknown>;

class LegacyReader {
  constructor(
    private readonly locate: Locate | undefined,
    private readonly source: string | undefined,
  ) {}

  fail(code: RuleEngineErrorCode, path: readonly PathSeg[], message: string): never {
    const pos = this.locate?.(path);
    const p = formatPath(path);
    const at =
      pos === undefined ? '' : ` (${this.source === undefined ? 'line ' : `${this.source}:`}${pos.line}:${pos.column})`;
    throw new RuleEngineError(code, `legacy tbot ${p === '' ? 'svids' : p}: ${message}${at}`, {
      path: p,
      source: this.source,
      line: pos?.line,
      column: pos?.column,
    });
  }

  map(v: unknown, path: PathSeg[], allowed: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      this.fail('ERR_WID_RULE_INVALID_FIELD', path, 'must be a map');
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        this.fail(
          'ERR_WID_RULE_UNKNOWN_FIELD',
          [...path, k],
          `unknown field ${JSON.stringify(k)}; allowed here: ${allowed.join(', ')}`,
        );
      }
    }
    return v as Obj;
  }

  list(v: unknown, path: PathSeg[]): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail('ERR_WID_RULE_INVALID_FIELD', path, 'must be a list');
    return v;
  }

  /** A literal string: the legacy form has no templates, so `{{` would change its meaning. */
  literal(v: unknown, path: PathSeg[], required: boolean): string | undefined {
    if (v === undefined || v === null || v === '') {
      if (required) this.fail('ERR_WID_RULE_MISSING_FIELD', path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') this.fail('ERR_WID_RULE_INVALID_FIELD', path, 'must be a string');
    if (v.includes('{{'))
      this.fail('ERR_WID_RULE_INVALID_FIELD', path, 'the legacy svids form has no templates; remove "{{"');
    return v;
  }

  id(v: unknown, path: PathSeg[]): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.fail('ERR_WID_RULE_INVALID_FIELD', path, 'must be a non-negative integer');
    }
    return v;
  }
}

function eq(attribute: string, value: string): WorkloadIdentityCondition {
  return { attribute, eq: { value } };
}

function translateRule(r: LegacyReader, v: unknown, path: PathSeg[]): WorkloadIdentityRule {
  const rule = r.map(v, path, ['unix', 'kubernetes']);
  const conditions: WorkloadIdentityCondition[] = [];
  if (rule['unix'] !== undefined && rule['unix'] !== null) {
    const p = [...path, 'unix'];
    const u = r.map(rule['unix'], p, ['pid', 'uid', 'gid']);
    // Naming the attestor requires it: `attested` reads false (not an error) when the block is absent.
    conditions.push(eq('workload.unix.attested', 'true'));
    for (const key of ['pid', 'uid', 'gid'] as const) {
      const n = r.id(u[key], [...p, key]);
      if (n !== undefined) conditions.push(eq(`workload.unix.${key}`, String(n)));
    }
  }
  if (rule['kubernetes'] !== undefined && rule['kubernetes'] !== null) {
    const p = [...path, 'kubernetes'];
    const k = r.map(rule['kubernetes'], p, ['namespace', 'service_account', 'pod_name']);
    conditions.push(eq('workload.kubernetes.attested', 'true'));
    for (const key of ['namespace', 'service_account', 'pod_name'] as const) {
      const s = r.literal(k[key], [...p, key], false);
      if (s !== undefined) conditions.push(eq(`workload.kubernetes.${key}`, s));
    }
  }
  // tbot: a rule with no fields matches every workload.
  return conditions.length === 0 ? { expression: 'true' } : { conditions };
}

/**
 * Translates tbot's legacy `svids` list (the value of `svids:`, a `{ svids: [...] }` object, or YAML text of either)
 * into workload_identity resources with identical semantics, ready for `loadWorkloadIdentities`. Resource `i` is
 * named `<namePrefix><i>`; select them by name.
 *
 * Semantics kept from tbot: rules are OR'ed; the fields of a rule are AND'ed; a rule with no fields matches every
 * workload; a rule naming an attestor (`unix:` or `kubernetes:`) fails when that attestor did not attest. (Stricter
 * than tbot in one corner: an *empty* `unix: {}` or `kubernetes: {}` also requires that attestor.)
 *
 * @throws {RuleEngineError} naming the path (`svids[0].rules[1].unix.uid`) and, from text, the line.
 * @example
 * const resources = translateLegacySvids([{ path: '/svc/web', rules: [{ unix: { uid: 1000 } }] }]);
 * const set = loadWorkloadIdentities(resources, { trustDomain: 'example.org' });
 * decide(set, attributes, { names: ['legacy-svid-0'] });
 */
export function translateLegacySvids(
  input: unknown,
  options: LegacyTranslationOptions = {},
): WorkloadIdentityResource[] {
  let value = input;
  let locate: Locate | undefined;
  if (typeof input === 'string') ({ value, locate } = parseSingle(input, options.source));
  const r = new LegacyReader(locate, options.source);
  let base: PathSeg[] = [];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    r.map(value, [], ['svids']);
    value = (value as Obj)['svids'];
    base = ['svids'];
  } else if (!Array.isArray(value)) {
    r.fail('ERR_WID_RULE_INVALID_FIELD', [], 'expected a list of svids (or a map with an svids key)');
  }
  const prefix = options.namePrefix ?? 'legacy-svid-';
  const labels = options.labels === undefined ? undefined : { ...options.labels };
  return r.list(value, base).map((entry, i) => {
    const path: PathSeg[] = [...base, i];
    const svid = r.map(entry, path, ['path', 'hint', 'sans', 'rules']);
    const id = r.literal(svid['path'], [...path, 'path'], true)!;
    if (!id.startsWith('/')) r.fail('ERR_WID_RULE_INVALID_FIELD', [...path, 'path'], 'must start with "/"');
    const hint = r.literal(svid['hint'], [...path, 'hint'], false);
    let dns: string[] = [];
    let ip: string[] = [];
    if (svid['sans'] !== undefined && svid['sans'] !== null) {
      const sans = r.map(svid['sans'], [...path, 'sans'], ['dns', 'ip']);
      dns = r
        .list(sans['dns'], [...path, 'sans', 'dns'])
        .map((d, k) => r.literal(d, [...path, 'sans', 'dns', k], true)!);
      ip = r.list(sans['ip'], [...path, 'sans', 'ip']).map((d, k) => r.literal(d, [...path, 'sans', 'ip', k], true)!);
    }
    const allow = r
      .list(svid['rules'], [...path, 'rules'])
      .map((rule, k) => translateRule(r, rule, [...path, 'rules', k]));
    const x509 =
      dns.length > 0 || ip.length > 0
        ? { ...(dns.length > 0 ? { dns_sans: dns } : {}), ...(ip.length > 0 ? { ip_sans: ip } : {}) }
        : undefined;
    const resource: WorkloadIdentityResource = {
      kind: 'workload_identity',
      version: 'v1',
      metadata: { name: `${prefix}${i}`, ...(labels === undefined ? {} : { labels }) },
      spec: {
        ...(allow.length > 0 ? { rules: { allow } } : {}),
        spiffe: { id, ...(hint === undefined ? {} : { hint }), ...(x509 === undefined ? {} : { x509 }) },
      },
    };
    return resource;
  });
}
