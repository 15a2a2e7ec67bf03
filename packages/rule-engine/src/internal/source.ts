// Turns loader input (YAML/JSON text, objects, arrays of them) into resource values, each with a way to map a field
// path back to a line and column of the text it came from.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { RuleEngineError } from '../errors.js';

export type PathSeg = string | number;
export type Locate = (path: readonly PathSeg[]) => { line: number; column: number } | undefined;

export interface SourceItem {
  readonly value: unknown;
  /** Maps a path relative to this resource to a position in the text, when the resource came from text. */
  readonly locate: Locate | undefined;
  readonly source: string | undefined;
}

/** A named text (a file's contents and its name for error messages). */
export interface NamedText {
  readonly text: string;
  readonly source: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec.rules.allow[1].conditions[0].attribute`; keys that are not identifiers use `["a.b"]`. */
export function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function isNamedText(v: unknown): v is NamedText {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !Object.hasOwn(v, 'kind') &&
    typeof (v as { text?: unknown }).text === 'string' &&
    typeof (v as { source?: unknown }).source === 'string'
  );
}

function locator(root: YamlNode | null, lineCounter: LineCounter, base: readonly PathSeg[]): Locate {
  return (path) => {
    let node: unknown = root;
    let offset = root?.range?.[0];
    for (const seg of [...base, ...path]) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) break;
        offset = (pair.key as YamlNode).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (item === undefined) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
}

/** Parses YAML (or JSON) text into one value per document, each with a locator. */
export function parseDocuments(
  text: string,
  source: string | undefined,
): { value: unknown; root: YamlNode; lineCounter: LineCounter }[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const out: { value: unknown; root: YamlNode; lineCounter: LineCounter }[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      const where = pos === undefined ? '' : ` (${source === undefined ? '' : `${source}:`}${pos.line}:${pos.col})`;
      throw new RuleEngineError(
        'ERR_WID_RULE_YAML_SYNTAX',
        `${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}${where}`,
        {
          source,
          line: pos?.line,
          column: pos?.col,
          cause: err,
        },
      );
    }
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new RuleEngineError('ERR_WID_RULE_YAML_SYNTAX', `cannot read YAML: ${(e as Error).message}`, {
        source,
        cause: e,
      });
    }
    out.push({ value, root: doc.contents as YamlNode, lineCounter });
  }
  return out;
}

/** Parses YAML (or JSON, a subset) text: one resource per document, or per element of a top-level list. */
export function parseText(text: string, source: string | undefined): SourceItem[] {
  const items: SourceItem[] = [];
  for (const { value, root, lineCounter } of parseDocuments(text, source)) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        items.push({ value: v, locate: locator(root, lineCounter, [i]), source });
      });
    } else if (value !== null && value !== undefined) {
      items.push({ value, locate: locator(root, lineCounter, []), source });
    }
  }
  return items;
}

/** Parses text holding exactly one YAML document (an empty text is `undefined`). */
export function parseSingle(text: string, source: string | undefined): { value: unknown; locate: Locate | undefined } {
  const docs = parseDocuments(text, source);
  if (docs.length > 1) {
    throw new RuleEngineError('ERR_WID_RULE_YAML_SYNTAX', 'expected a single YAML document, found several', { source });
  }
  const d = docs[0];
  return d === undefined
    ? { value: undefined, locate: undefined }
    : { value: d.value, locate: locator(d.root, d.lineCounter, []) };
}

/** Everything `loadWorkloadIdentities` accepts. */
export type WorkloadIdentityInput = string | NamedText | object | readonly (string | NamedText | object)[];

export function toSourceItems(input: WorkloadIdentityInput): SourceItem[] {
  const list: readonly unknown[] = Array.isArray(input) ? input : [input];
  const items: SourceItem[] = [];
  for (const entry of list) {
    if (typeof entry === 'string') items.push(...parseText(entry, undefined));
    else if (isNamedText(entry)) items.push(...parseText(entry.text, entry.source));
    else items.push({ value: entry, locate: undefined, source: undefined });
  }
  return items;
}
