// Attribute path resolution (load time, against the schema) and reading (evaluation time, against untrusted input).
import type { AttributeSchema, AttributeType } from '../attribute-schema.js';
import type { DenialCode } from '../errors.js';
import { SafeRegex } from './regex.js';

/**
 * An evaluation failure: becomes a denial, never escapes `decide`. Deliberately not an Error: it is thrown and caught
 * on the evaluation path and needs no stack trace.
 */
export class EvalFailure {
  constructor(
    readonly code: DenialCode,
    readonly message: string,
    readonly attribute?: string,
  ) {}
}

/** A resolved attribute path. */
export interface AttributeRef {
  /** How people write it: `workload.kubernetes.labels.app`, `workload.kubernetes.labels["app.kubernetes.io/name"]`. */
  readonly display: string;
  /** Path from the root of the attributes object, including a static map key. */
  readonly segments: readonly string[];
  /** Type of the value read. A static map key reads a `string`. */
  readonly type: AttributeType;
  /** Number of segments of the enclosing attestor block (`workload.kubernetes` = 2), or -1. */
  readonly blockDepth: number;
  /** True for an attestor block's own `attested` flag, which reads `false` rather than failing. */
  readonly attestedFlag: boolean;
}

export type Resolution =
  | { readonly ok: true; readonly ref: AttributeRef }
  | { readonly ok: false; readonly message: string; readonly segment: number };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `labels.app` when the key is an identifier, `labels["a.b/c"]` otherwise. */
export function displayKey(base: string, key: string): string {
  return IDENT.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function isAttestorBlock(node: AttributeSchema): boolean {
  return Object.hasOwn(node, 'attested') && node['attested'] === 'bool';
}

/**
 * Resolves `segments` against the schema. When the path reaches a `map`, one more segment is that map's key; when
 * `mapKey` is given it is appended as the key (bracket syntax).
 */
export function resolveAttribute(schema: AttributeSchema, segments: readonly string[], mapKey?: string): Resolution {
  let node: AttributeSchema = schema;
  let blockDepth = -1;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (!Object.hasOwn(node, seg)) {
      const so = segments.slice(0, i).join('.');
      const known = Object.keys(node).join(', ');
      return {
        ok: false,
        segment: i,
        message: `unknown attribute ${JSON.stringify(segments.join('.'))}: ${so === '' ? 'the root' : so} has no ${JSON.stringify(seg)} (known: ${known})`,
      };
    }
    const next = node[seg]!;
    if (typeof next === 'string') {
      const path = segments.slice(0, i + 1).join('.');
      const rest = segments.length - i - 1;
      if (next === 'map' && (rest === 1 || (rest === 0 && mapKey !== undefined))) {
        const key = rest === 1 ? segments[i + 1]! : mapKey!;
        if (rest === 1 && mapKey !== undefined) {
          return { ok: false, segment: i + 1, message: `${displayKey(path, key)} is a string; it cannot be indexed` };
        }
        return {
          ok: true,
          ref: {
            display: displayKey(path, key),
            segments: [...segments.slice(0, i + 1), key],
            type: 'string',
            blockDepth,
            attestedFlag: false,
          },
        };
      }
      if (rest > 0) {
        return {
          ok: false,
          segment: i + 1,
          message: `${path} is of type ${next}; it has no field ${JSON.stringify(segments[i + 1])}`,
        };
      }
      if (mapKey !== undefined) {
        return { ok: false, segment: i, message: `${path} is of type ${next}; only maps can be indexed` };
      }
      return {
        ok: true,
        ref: {
          display: path,
          segments: [...segments],
          type: next,
          blockDepth,
          attestedFlag: seg === 'attested' && i === blockDepth,
        },
      };
    }
    node = next;
    if (isAttestorBlock(node)) blockDepth = i + 1;
  }
  const path = segments.join('.');
  return {
    ok: false,
    segment: Math.max(0, segments.length - 1),
    message: `${path === '' ? 'the root' : path} is a group of attributes, not an attribute (it has ${Object.keys(node).join(', ')})`,
  };
}

/** Own enumerable-or-not data property of a plain object, never walking the prototype chain. */
export function own(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'number') return Number.isInteger(v) ? `the number ${v}` : `the non-integer ${v}`;
  return `a ${typeof v}`;
}

export function checkType(type: AttributeType, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'map':
      return isPlainMap(v);
    case 'string[]':
    case 'int[]':
      return Array.isArray(v);
  }
}

export function typeFailure(display: string, type: AttributeType, v: unknown): EvalFailure {
  return new EvalFailure(
    'ERR_WID_RULE_ATTRIBUTE_TYPE',
    `${display} should be ${type === 'int' ? 'an int' : `a ${type}`} but the attestor produced ${describeValue(v)}`,
    display,
  );
}

export function unsetFailure(display: string, attestor?: string): EvalFailure {
  return new EvalFailure(
    'ERR_WID_RULE_ATTRIBUTE_UNSET',
    attestor === undefined
      ? `${display} is unset for this workload`
      : `${display} is unset: the ${attestor} attestor did not attest this workload`,
    display,
  );
}

/**
 * State shared by the compilation of one set. Numbers every distinct attribute path the set reads, so that one
 * request reads each attribute once, however many resources test it (10,000 resources that all compare
 * `workload.kubernetes.namespace` read it once); and shares compiled regexps between resources.
 */
export class CompileCache {
  private readonly slots = new Map<string, number>();
  private readonly regexps = new Map<string, SafeRegex>();

  /** The compiled pattern, shared (SafeRegex is not re-entrant, and evaluation never re-enters it). */
  regex(pattern: string): SafeRegex {
    let re = this.regexps.get(pattern);
    if (re === undefined) {
      re = SafeRegex.compile(pattern);
      this.regexps.set(pattern, re);
    }
    return re;
  }

  get size(): number {
    return this.slots.size;
  }

  slotOf(ref: AttributeRef): number {
    const key = JSON.stringify(ref.segments);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(key, slot);
    }
    return slot;
  }
}

/** What a request's attribute cache holds in a slot: the value, or the failure to read it. */
export interface AttributeCache {
  readonly attrs: unknown;
  readonly cache: unknown[];
}

/** A reader that reads through the request's cache (`ctx.cache[slot]`), remembering failures too. */
export function makeCachedReader(ref: AttributeRef, slots: CompileCache): (ctx: AttributeCache) => unknown {
  const read = makeReader(ref);
  const slot = slots.slotOf(ref);
  return (ctx) => {
    const cache = ctx.cache;
    const hit = cache[slot];
    if (hit !== undefined) {
      if (hit instanceof EvalFailure) throw hit;
      return hit;
    }
    try {
      const v = read(ctx.attrs);
      cache[slot] = v;
      return v;
    } catch (e) {
      if (e instanceof EvalFailure) cache[slot] = e;
      throw e;
    }
  };
}

/** Builds the reader of one attribute: returns a value of `ref.type` or throws an {@link EvalFailure}. */
export function makeReader(ref: AttributeRef): (attrs: unknown) => unknown {
  const segs = ref.segments;
  const n = segs.length;
  const bd = ref.blockDepth;
  const attestor = bd > 0 ? segs[bd - 1] : undefined;
  if (ref.attestedFlag) {
    return (attrs) => {
      let cur = attrs;
      for (let i = 0; i < n; i++) {
        cur = own(cur, segs[i]!);
        if (cur === undefined) return false;
      }
      return cur === true;
    };
  }
  const { display, type } = ref;
  return (attrs) => {
    let cur = attrs;
    for (let i = 0; i < n; i++) {
      if (i === bd && own(cur, 'attested') !== true) throw unsetFailure(display, attestor);
      cur = own(cur, segs[i]!);
      if (cur === undefined || cur === null) {
        throw i < bd ? unsetFailure(display, attestor) : unsetFailure(display);
      }
    }
    if (!checkType(type, cur)) throw typeFailure(display, type, cur);
    return cur;
  };
}
