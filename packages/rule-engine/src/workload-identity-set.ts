import { SpiffeIdError, TrustDomain } from '@wid/spiffe-id';
import { ATTRIBUTE_SCHEMA, type AttributeSchema } from './attribute-schema.js';
import { DEFAULT_MAX_IDENTITIES, type DecideRequest } from './decision.js';
import { RuleEngineError } from './errors.js';
import { CompileCache } from './internal/attributes.js';
import { type CompiledIdentity, compileResource } from './internal/compile-resource.js';
import { LabelIndex } from './internal/label-index.js';
import { normalizeRequest } from './internal/request.js';
import { RuleIndex } from './internal/rule-index.js';
import { Site } from './internal/site.js';
import { toSourceItems, type WorkloadIdentityInput } from './internal/source.js';
import { validateResource } from './internal/validate-resource.js';
import type { WorkloadIdentityResource } from './resource.js';

export type { NamedText, WorkloadIdentityInput } from './internal/source.js';

/** Options of {@link loadWorkloadIdentities}. */
export interface LoadOptions {
  /** Trust domain of every SPIFFE ID the set issues (`example.org` or `spiffe://example.org`). Required. */
  readonly trustDomain: string | TrustDomain;
  /** How many identities one request may receive before `decide` throws `ERR_WID_RULE_TOO_MANY_IDENTITIES`. Default 10. */
  readonly maxIdentities?: number;
  /** The attribute schema rules are checked against. Default {@link ATTRIBUTE_SCHEMA}. */
  readonly attributeSchema?: AttributeSchema;
}

/** A loaded resource: its name, labels, content revision and the normalised resource (frozen). */
export interface WorkloadIdentity {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly revision: string;
  readonly resource: WorkloadIdentityResource;
}

/** @internal Compiled state, read by decide and explain. */
export const SET_INTERNALS: unique symbol = Symbol('wid.rule-engine.set');

/** @internal */
export interface SetInternals {
  readonly identities: readonly CompiledIdentity[];
  readonly byName: ReadonlyMap<string, CompiledIdentity>;
  readonly index: LabelIndex;
  readonly rules: RuleIndex;
  readonly maxIdentities: number;
  /** Number of distinct attribute paths the set reads (size of a request's attribute cache). */
  readonly slotCount: number;
}

/**
 * Compiled, validated workload identity resources with a label index, built once by {@link loadWorkloadIdentities}
 * and shared by every `decide` call. Immutable: to change the rules, load a new set.
 *
 * @example
 * const set = loadWorkloadIdentities(files, { trustDomain: 'example.org' });
 * set.size; set.names(); set.get('web')?.revision;
 * set.select({ labelSelectors: { env: ['prod'] } }).map((w) => w.name);
 */
export class WorkloadIdentitySet implements Iterable<WorkloadIdentity> {
  /** @internal */
  readonly [SET_INTERNALS]: SetInternals;
  readonly trustDomain: TrustDomain;
  /** Default cap on identities per request. */
  readonly maxIdentities: number;
  private readonly views: readonly WorkloadIdentity[];
  private readonly viewByName: ReadonlyMap<string, WorkloadIdentity>;

  /** @internal Use {@link loadWorkloadIdentities}. */
  constructor(
    identities: readonly CompiledIdentity[],
    trustDomain: TrustDomain,
    maxIdentities: number,
    slotCount: number,
  ) {
    this.trustDomain = trustDomain;
    this.maxIdentities = maxIdentities;
    this[SET_INTERNALS] = {
      identities,
      byName: new Map(identities.map((id) => [id.name, id])),
      index: new LabelIndex(identities.map((id) => id.labels)),
      rules: new RuleIndex(identities),
      maxIdentities,
      slotCount,
    };
    this.views = Object.freeze(
      identities.map((id) =>
        Object.freeze({ name: id.name, labels: id.labels, revision: id.revision, resource: id.resource }),
      ),
    );
    this.viewByName = new Map(this.views.map((v) => [v.name, v]));
    Object.freeze(this);
  }

  /** Number of resources. */
  get size(): number {
    return this.views.length;
  }

  /** The resource named `name`. */
  get(name: string): WorkloadIdentity | undefined {
    return this.viewByName.get(name);
  }

  /** Names in load order. */
  names(): string[] {
    return this.views.map((v) => v.name);
  }

  /**
   * The resources a request selects, before any rule is evaluated (names that do not exist are skipped).
   * @throws {RuleEngineError} `ERR_WID_RULE_NO_SELECTOR` / `ERR_WID_RULE_INVALID_REQUEST`.
   */
  select(request: DecideRequest): WorkloadIdentity[] {
    const internals = this[SET_INTERNALS];
    const req = normalizeRequest(request, this.maxIdentities);
    if (req.names !== undefined) {
      return req.names.flatMap((n) => {
        const view = this.viewByName.get(n);
        return view === undefined ? [] : [view];
      });
    }
    return internals.index.select(req.selector!).map((pos) => this.views[pos]!);
  }

  [Symbol.iterator](): Iterator<WorkloadIdentity> {
    return this.views[Symbol.iterator]();
  }
}

/**
 * Parses, validates and compiles workload identity resources: YAML or JSON text (several documents separated by
 * `---`, or a top-level list), resource objects, `{ text, source }` pairs (the source names the file in errors), or a
 * list of any of these. Everything is checked here, once: unknown keys, unknown attributes, expression syntax and
 * types, templates, regexps, durations. The hot path (`decide`) only evaluates.
 *
 * @throws {RuleEngineError} naming the resource, the field path, and (from text) the line and column.
 * @example
 * const set = loadWorkloadIdentities(`
 * kind: workload_identity
 * version: v1
 * metadata: { name: web, labels: { env: prod } }
 * spec:
 *   rules:
 *     allow:
 *       - conditions: [{ attribute: workload.kubernetes.namespace, eq: { value: default } }]
 *   spiffe:
 *     id: /ns/{{ workload.kubernetes.namespace }}/sa/{{ workload.kubernetes.service_account }}
 * `, { trustDomain: 'example.org' });
 * set.names(); // ['web']
 */
export function loadWorkloadIdentities(input: WorkloadIdentityInput, options: LoadOptions): WorkloadIdentitySet {
  if (options === null || typeof options !== 'object') {
    throw new RuleEngineError('ERR_WID_RULE_INVALID_OPTION', 'options are required: { trustDomain }');
  }
  let trustDomain: TrustDomain;
  if (options.trustDomain instanceof TrustDomain) trustDomain = options.trustDomain;
  else {
    try {
      trustDomain = TrustDomain.parse(options.trustDomain);
    } catch (e) {
      if (!(e instanceof SpiffeIdError)) throw e;
      throw new RuleEngineError('ERR_WID_RULE_INVALID_OPTION', `options.trustDomain is invalid: ${e.message}`, {
        input: String(options.trustDomain),
        cause: e,
      });
    }
  }
  const max = options.maxIdentities ?? DEFAULT_MAX_IDENTITIES;
  if (!Number.isSafeInteger(max) || max <= 0) {
    throw new RuleEngineError(
      'ERR_WID_RULE_INVALID_OPTION',
      `options.maxIdentities must be a positive integer, got ${max}`,
    );
  }
  const schema = options.attributeSchema ?? ATTRIBUTE_SCHEMA;
  const identities: CompiledIdentity[] = [];
  const seen = new Map<string, Site>();
  const slots = new CompileCache();
  toSourceItems(input).forEach((item, k) => {
    const site = new Site(k + 1, item.source, item.locate);
    const resource = validateResource(item.value, site);
    const previous = seen.get(resource.metadata.name);
    if (previous !== undefined) {
      const where = previous.locate?.(['metadata', 'name']);
      site.fail(
        'ERR_WID_RULE_DUPLICATE_NAME',
        ['metadata', 'name'],
        `another resource already has this name${where === undefined ? '' : ` (${previous.source ?? 'line'}${previous.source === undefined ? ' ' : ':'}${where.line})`}`,
      );
    }
    seen.set(resource.metadata.name, site);
    identities.push(compileResource(resource, site, schema, trustDomain, slots));
  });
  return new WorkloadIdentitySet(identities, trustDomain, max, slots.size);
}
