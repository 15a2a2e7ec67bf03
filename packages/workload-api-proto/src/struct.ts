import type { ProtoListValue, ProtoStruct, ProtoValue } from './messages.js';

function toValue(value: unknown, seen: Set<object>): ProtoValue | undefined {
  if (value === null) return { kind: 'nullValue', nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'string':
      return { kind: 'stringValue', stringValue: value };
    case 'number':
      // Struct has no integer type; JSON has no NaN/Infinity, so they travel as null like JSON.stringify does.
      return Number.isFinite(value) ? { kind: 'numberValue', numberValue: value } : toValue(null, seen);
    case 'bigint':
      // Exact only up to 2^53; beyond that a string keeps every digit (the same trade-off as JSON numbers).
      return Number.isSafeInteger(Number(value))
        ? { kind: 'numberValue', numberValue: Number(value) }
        : { kind: 'stringValue', stringValue: value.toString() };
    case 'boolean':
      return { kind: 'boolValue', boolValue: value };
    case 'object': {
      if (seen.has(value)) throw new TypeError('cannot convert a cyclic structure to google.protobuf.Struct');
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          const list: ProtoListValue = { values: value.map((v) => toValue(v, seen) ?? toValue(null, seen)!) };
          return { kind: 'listValue', listValue: list };
        }
        if (value instanceof Date) return { kind: 'stringValue', stringValue: value.toISOString() };
        return { kind: 'structValue', structValue: toStruct(value as Record<string, unknown>, seen) };
      } finally {
        seen.delete(value);
      }
    }
    default:
      // undefined, functions, symbols: dropped, as JSON.stringify drops them.
      return undefined;
  }
}

function toStruct(obj: Record<string, unknown>, seen: Set<object>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, v] of Object.entries(obj)) {
    const converted = toValue(v, seen);
    if (converted !== undefined) fields[key] = converted;
  }
  return { fields };
}

/**
 * Converts a JSON-like object (e.g. JWT claims) to the `google.protobuf.Struct` shape proto-loader encodes.
 * Follows JSON semantics: `undefined`/functions are dropped, non-finite numbers become null, dates become ISO strings.
 *
 * @example
 * toProtoStruct({ sub: 'spiffe://example.org/web', aud: ['x'], exp: 1700000000 });
 */
export function toProtoStruct(obj: Readonly<Record<string, unknown>>): ProtoStruct {
  return toStruct(obj as Record<string, unknown>, new Set());
}

function fromValue(value: ProtoValue | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  const kind =
    value.kind ??
    (['stringValue', 'numberValue', 'boolValue', 'structValue', 'listValue', 'nullValue'] as const).find(
      (k) => value[k] !== undefined && value[k] !== null,
    );
  switch (kind) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return value.structValue ? fromProtoStruct(value.structValue) : {};
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

/**
 * Converts a decoded `google.protobuf.Struct` back to a plain JSON object.
 *
 * @example
 * const claims = fromProtoStruct(response.claims); // { sub: 'spiffe://example.org/web', aud: ['x'], ... }
 */
export function fromProtoStruct(struct: ProtoStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!struct?.fields) return out;
  for (const [key, v] of Object.entries(struct.fields)) out[key] = fromValue(v);
  return out;
}
