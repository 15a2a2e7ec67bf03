// Where a resource came from, and how to raise an error that names the resource, the field path and the line.
import { RuleEngineError, type RuleEngineErrorCode } from '../errors.js';
import { formatPath, type Locate, type PathSeg } from './source.js';

export interface FailExtra {
  readonly expressionColumn?: number;
  readonly input?: string;
  readonly attribute?: string;
  readonly limit?: number;
  readonly cause?: unknown;
}

export class Site {
  /** `metadata.name` once known, else `#<n>`. */
  resource: string;
  named = false;

  constructor(
    position: number,
    readonly source: string | undefined,
    readonly locate: Locate | undefined,
  ) {
    this.resource = `#${position}`;
  }

  setName(name: string): void {
    this.resource = name;
    this.named = true;
  }

  label(): string {
    return this.named ? `workload_identity ${JSON.stringify(this.resource)}` : `workload_identity ${this.resource}`;
  }

  fail(code: RuleEngineErrorCode, path: readonly PathSeg[], message: string, extra: FailExtra = {}): never {
    const pos = this.locate?.(path);
    const p = formatPath(path);
    const at: string[] = [];
    if (pos !== undefined)
      at.push(`${this.source === undefined ? 'line ' : `${this.source}:`}${pos.line}:${pos.column}`);
    else if (this.source !== undefined) at.push(this.source);
    if (extra.expressionColumn !== undefined) at.push(`expression column ${extra.expressionColumn}`);
    const suffix = at.length === 0 ? '' : ` (${at.join(', ')})`;
    throw new RuleEngineError(code, `${this.label()}${p === '' ? '' : ` ${p}`}: ${message}${suffix}`, {
      resource: this.resource,
      path: p,
      source: this.source,
      line: pos?.line,
      column: pos?.column,
      expressionColumn: extra.expressionColumn,
      input: extra.input,
      attribute: extra.attribute,
      limit: extra.limit,
      cause: extra.cause,
    });
  }
}
