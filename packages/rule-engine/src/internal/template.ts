// `{{ expr }}` templates: literal text with embedded expressions, compiled once. Rendering fails (an EvalFailure,
// which denies the identity) on an unset attribute or an empty string: a template never renders an empty segment.
import type { AttributeSchema } from '../attribute-schema.js';
import { type CompileCache, EvalFailure } from './attributes.js';
import {
  type CompiledExpr,
  compileExpression,
  type EvalContext,
  ExpressionError,
  MAX_VALUE_LENGTH,
} from './expression.js';

export interface CompiledTemplate {
  readonly text: string;
  /** The rendered value when the template has no `{{ }}`. */
  readonly constant: string | undefined;
  /** The template with every expression replaced by `x`: validating it catches problems in the literal text. */
  readonly skeleton: string;
  readonly expressions: readonly CompiledExpr[];
  /** Renders the template; throws an {@link EvalFailure}. */
  render(ctx: EvalContext): string;
}

/** Offset of the `}}` closing the expression that starts at `from`, skipping string literals; -1 if none. */
function findClose(text: string, from: number): number {
  let j = from;
  while (j < text.length) {
    const ch = text[j];
    if (ch === '"') {
      j++;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      j++;
      continue;
    }
    if (ch === '`') {
      const k = text.indexOf('`', j + 1);
      if (k === -1) return -1;
      j = k + 1;
      continue;
    }
    if (ch === '}' && text[j + 1] === '}') return j;
    j++;
  }
  return -1;
}

/**
 * Compiles a template. Expressions must be strings, ints or bools.
 * @throws {ExpressionError} offsets are into `text`; template syntax problems use ERR_WID_RULE_EXPRESSION_SYNTAX and
 * are re-coded by the caller.
 */
export function compileTemplate(text: string, schema: AttributeSchema, slots: CompileCache): CompiledTemplate {
  const parts: (string | CompiledExpr)[] = [];
  let skeleton = '';
  const expressions: CompiledExpr[] = [];
  let i = 0;
  for (;;) {
    const open = text.indexOf('{{', i);
    if (open === -1) {
      if (i < text.length) parts.push(text.slice(i));
      skeleton += text.slice(i);
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    skeleton += `${text.slice(i, open)}x`;
    const close = findClose(text, open + 2);
    if (close === -1) throw new TemplateSyntaxError('"{{" is not closed by "}}"', open);
    if (text.slice(open + 2, close).trim() === '') throw new TemplateSyntaxError('empty "{{ }}"', open);
    const expr = compileExpression(text, schema, slots, 'scalar', open + 2, close);
    parts.push(expr);
    expressions.push(expr);
    i = close + 2;
  }
  if (expressions.length === 0) {
    return { text, constant: text, skeleton, expressions, render: () => text };
  }
  return {
    text,
    constant: undefined,
    skeleton,
    expressions,
    render(ctx) {
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') {
          out += part;
          continue;
        }
        const v = part.fn(ctx);
        if (typeof v === 'string') {
          if (v === '') {
            throw new EvalFailure(
              'ERR_WID_RULE_TEMPLATE_EMPTY',
              `{{ ${part.text} }} rendered an empty string`,
              part.attributes.length === 1 ? part.attributes[0] : undefined,
            );
          }
          out += v;
        } else if (typeof v === 'number' || typeof v === 'boolean') {
          out += String(v);
        } else {
          throw new EvalFailure(
            'ERR_WID_RULE_ATTRIBUTE_TYPE',
            `{{ ${part.text} }} did not produce a string, int or bool`,
          );
        }
        if (out.length > MAX_VALUE_LENGTH) {
          throw new EvalFailure(
            'ERR_WID_RULE_VALUE_TOO_LONG',
            `the rendered value is longer than ${MAX_VALUE_LENGTH} characters`,
          );
        }
      }
      return out;
    },
  };
}

export class TemplateSyntaxError extends ExpressionError {
  constructor(message: string, offset: number) {
    super('ERR_WID_RULE_EXPRESSION_SYNTAX', message, offset);
  }
}
