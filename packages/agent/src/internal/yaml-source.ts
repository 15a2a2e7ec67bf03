// The configuration as plain values plus a way back from a key path to the line and column it was written at, so
// every error can name the key and its line.
import { type Document, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { AgentError, type AgentErrorCode } from '../errors.js';

export type PathSeg = string | number;

export interface Position {
  readonly line: number;
  readonly column: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `services[0].attestors.kubernetes.kubelet`; keys that are not identifiers are quoted: `labels["a.b/c"]`. */
export function formatKey(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** One parsed YAML document with positions. */
export class YamlSource {
  readonly value: unknown;

  private constructor(
    readonly text: string,
    readonly source: string | undefined,
    private readonly doc: Document.Parsed | undefined,
    private readonly lineCounter: LineCounter,
  ) {
    this.value = doc === undefined ? undefined : doc.toJS({ maxAliasCount: 100 });
  }

  static parse(text: string, source: string | undefined): YamlSource {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
    if (!Array.isArray(docs)) return new YamlSource(text, source, undefined, lineCounter); // empty stream
    for (const doc of docs) {
      const err = doc.errors[0];
      if (err !== undefined) {
        const pos = err.linePos?.[0];
        const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        throw new AgentError(
          'ERR_WID_AGENT_CONFIG_SYNTAX',
          `${where(source, pos === undefined ? undefined : { line: pos.line, column: pos.col })}${first}`,
          { source, line: pos?.line, column: pos?.col, cause: err },
        );
      }
    }
    if (docs.length > 1) {
      const second = docs[1]!;
      const pos = second.range === undefined ? undefined : lineCounter.linePos(second.range[0]);
      throw new AgentError(
        'ERR_WID_AGENT_CONFIG_SYNTAX',
        `${where(source, pos === undefined ? undefined : { line: pos.line, column: pos.col })}a configuration file holds one YAML document; remove the \`---\` separator`,
        { source, line: pos?.line, column: pos?.col },
      );
    }
    try {
      return new YamlSource(text, source, docs[0], lineCounter);
    } catch (cause) {
      throw new AgentError('ERR_WID_AGENT_CONFIG_SYNTAX', `${where(source, undefined)}${(cause as Error).message}`, {
        source,
        cause,
      });
    }
  }

  /** The YAML node at `path` (the deepest existing one along it) and whether the full path exists. */
  node(path: readonly PathSeg[]): { node: YamlNode | undefined; keyOffset: number | undefined; found: boolean } {
    let node: unknown = this.doc?.contents ?? undefined;
    let keyOffset = (node as YamlNode | undefined)?.range?.[0];
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) return { node: node as YamlNode, keyOffset, found: false };
        keyOffset = (pair.key as YamlNode).range?.[0] ?? keyOffset;
        node = pair.value;
        if (node === null) return { node: undefined, keyOffset, found: true };
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (item === undefined) return { node: node as YamlNode, keyOffset, found: false };
        keyOffset = item.range?.[0] ?? keyOffset;
        node = item;
      } else {
        return { node: node as YamlNode | undefined, keyOffset, found: false };
      }
    }
    return { node: node as YamlNode | undefined, keyOffset, found: true };
  }

  /** Line and column of the key at `path` (or of the deepest part of it that exists). */
  locate(path: readonly PathSeg[]): Position | undefined {
    const { keyOffset } = this.node(path);
    if (keyOffset === undefined) return undefined;
    const pos = this.lineCounter.linePos(keyOffset);
    return { line: pos.line, column: pos.col };
  }

  /**
   * The text of the value at `path`, padded with newlines and spaces so that it parses on its own with the same
   * lines and columns as in the whole file (so errors of the rule engine point into this file).
   */
  excerpt(path: readonly PathSeg[]): string | undefined {
    const { node, found } = this.node(path);
    const range = node?.range;
    if (!found || range === undefined || range === null) return undefined;
    const pos = this.lineCounter.linePos(range[0]);
    return `${'\n'.repeat(pos.line - 1)}${' '.repeat(pos.col - 1)}${this.text.slice(range[0], range[1])}`;
  }

  fail(code: AgentErrorCode, path: readonly PathSeg[], message: string, cause?: unknown): never {
    const pos = this.locate(path);
    const key = formatKey(path);
    throw new AgentError(code, `${where(this.source, pos)}${key === '' ? '' : `${key}: `}${message}`, {
      key: key === '' ? undefined : key,
      line: pos?.line,
      column: pos?.column,
      source: this.source,
      cause,
    });
  }
}

/** `agent.yaml:12:5: ` or `line 12:5: ` or ''. */
export function where(source: string | undefined, pos: Position | undefined): string {
  if (pos === undefined) return source === undefined ? '' : `${source}: `;
  return `${source === undefined ? 'line ' : `${source}:`}${pos.line}:${pos.column}: `;
}
