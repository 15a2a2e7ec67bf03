// The predicate language of `expression` rules and `{{ }}` templates: parsed once at load, type-checked against the
// attribute schema, compiled to closures. No eval, no property access outside the schema, no prototype walks.
//
//   or      := and ('||' and)*
//   and     := cmp ('&&' cmp)*
//   cmp     := unary (('==' | '!=') unary)*
//   unary   := '!' unary | '-' INT | postfix
//   postfix := primary ('[' or ']')*
//   primary := INT | STRING | 'true' | 'false' | '(' or ')' | IDENT ('.' IDENT)* ['(' [or (',' or)*] ')']
//
// Strings are Go-style: "double quoted" with escapes, or `raw`. Integers are decimal, safe-integer sized.
import type { AttributeSchema, AttributeType } from '../attribute-schema.js';
import type { RuleEngineErrorCode } from '../errors.js';
import {
  type AttributeRef,
  type CompileCache,
  checkType,
  displayKey,
  EvalFailure,
  isPlainMap,
  makeCachedReader,
  resolveAttribute,
  typeFailure,
  unsetFailure,
} from './attributes.js';
import { MAX_INPUT_LENGTH, RegexBudgetError, RegexSyntaxError, type SafeRegex } from './regex.js';

export const MAX_EXPRESSION_LENGTH = 4096;
/** Longest string a function may produce. */
export const MAX_VALUE_LENGTH = 65536;
const MAX_DEPTH = 64;

/** One step of an evaluation, recorded only when explaining. */
export type TraceEntry =
  | { readonly kind: 'read'; readonly attribute: string; readonly value: unknown }
  | { readonly kind: 'test'; readonly text: string; readonly result: boolean; readonly operands: readonly unknown[] };

export interface EvalContext {
  readonly attrs: unknown;
  readonly trace: TraceEntry[] | undefined;
  /** Per-request attribute cache, indexed by {@link CompileCache} slot. */
  readonly cache: unknown[];
}

/**
 * `attribute == literal` that must hold for a rule to hold, and whose falsity alone makes the rule false (whatever
 * else it contains): the leftmost conjunct of an expression, or an `eq` condition. `key` is the literal as a
 * condition compares it (ints in decimal, bools as true/false). Used to skip rules without evaluating them.
 */
export interface Guard {
  readonly slot: number;
  readonly key: string;
  readonly read: (ctx: EvalContext) => unknown;
}

export interface CompiledExpr {
  readonly type: AttributeType;
  readonly fn: (ctx: EvalContext) => unknown;
  /** Source text of the expression. */
  readonly text: string;
  /** Attributes the expression reads (display form), for explain output. */
  readonly attributes: readonly string[];
  /** The leftmost conjunct, when it is `attribute == literal`. */
  readonly guard: Guard | undefined;
}

type ExpressionErrorCode = Extract<
  RuleEngineErrorCode,
  | 'ERR_WID_RULE_EXPRESSION_SYNTAX'
  | 'ERR_WID_RULE_EXPRESSION_TYPE'
  | 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'
  | 'ERR_WID_RULE_UNKNOWN_FUNCTION'
  | 'ERR_WID_RULE_UNSUPPORTED_REGEX'
>;

/** A load-time problem in an expression; `offset` is 0-based in the text given to the compiler. */
export class ExpressionError extends Error {
  constructor(
    readonly code: ExpressionErrorCode,
    message: string,
    readonly offset: number,
    readonly attribute?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer

type Tok =
  | { k: 'ident'; v: string; s: number; e: number }
  | { k: 'int'; v: number; s: number; e: number }
  | { k: 'str'; v: string; s: number; e: number }
  | { k: 'op'; v: string; s: number; e: number }
  | { k: 'eof'; v: ''; s: number; e: number };

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}

function syntax(message: string, offset: number): never {
  throw new ExpressionError('ERR_WID_RULE_EXPRESSION_SYNTAX', message, offset);
}

function lex(text: string, start: number, end: number): Tok[] {
  const toks: Tok[] = [];
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    const s = i;
    if (isIdentStart(c)) {
      while (i < end && isIdentPart(text.charCodeAt(i))) i++;
      toks.push({ k: 'ident', v: text.slice(s, i), s, e: i });
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      while (i < end && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
      const digits = text.slice(s, i);
      if (i < end && (isIdentPart(text.charCodeAt(i)) || text[i] === '.')) {
        syntax(`invalid number ${JSON.stringify(text.slice(s, i + 1))}: only decimal integers are supported`, s);
      }
      if (digits.length > 1 && digits[0] === '0') syntax(`integer ${digits} has a leading zero`, s);
      const v = Number(digits);
      if (!Number.isSafeInteger(v)) syntax(`integer ${digits} is too large`, s);
      toks.push({ k: 'int', v, s, e: i });
      continue;
    }
    if (c === 0x22) {
      i++;
      let v = '';
      for (;;) {
        if (i >= end || text[i] === '\n') syntax('unterminated string literal', s);
        const ch = text[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch !== '\\') {
          v += ch;
          i++;
          continue;
        }
        const esc = text[i + 1];
        if (esc !== undefined && Object.hasOwn(SIMPLE_ESCAPES, esc)) {
          v += SIMPLE_ESCAPES[esc];
          i += 2;
          continue;
        }
        const hexLen = esc === 'x' ? 2 : esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
        const hex = text.slice(i + 2, i + 2 + hexLen);
        if (hexLen === 0 || i + 2 + hexLen > end || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLen) {
          syntax(`invalid escape \\${esc ?? ''} in string literal`, i);
        }
        const cp = Number.parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) syntax(`invalid code point \\${esc}${hex}`, i);
        v += String.fromCodePoint(cp);
        i += 2 + hexLen;
      }
      toks.push({ k: 'str', v, s, e: i });
      continue;
    }
    if (c === 0x60) {
      const close = text.indexOf('`', i + 1);
      if (close === -1 || close >= end) syntax('unterminated raw string literal', s);
      toks.push({ k: 'str', v: text.slice(i + 1, close), s, e: close + 1 });
      i = close + 1;
      continue;
    }
    const two = text.slice(i, Math.min(i + 2, end));
    if (two === '&&' || two === '||' || two === '==' || two === '!=') {
      toks.push({ k: 'op', v: two, s, e: i + 2 });
      i += 2;
      continue;
    }
    const ch = text[i]!;
    if ('!()[],.-'.includes(ch)) {
      toks.push({ k: 'op', v: ch, s, e: i + 1 });
      i++;
      continue;
    }
    const hint =
      ch === '&' ? ' (did you mean &&?)' : ch === '|' ? ' (did you mean ||?)' : ch === '=' ? ' (did you mean ==?)' : '';
    if (ch === "'") syntax(`single-quoted strings are not supported; use "double quotes"`, s);
    syntax(`unexpected character ${JSON.stringify(ch)}${hint}`, s);
  }
  toks.push({ k: 'eof', v: '', s: end, e: end });
  return toks;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

type Ast =
  | { t: 'lit'; v: string | number | boolean; s: number; e: number }
  | { t: 'path'; segs: string[]; s: number; e: number }
  | { t: 'index'; obj: Ast; key: Ast; s: number; e: number }
  | { t: 'call'; name: string; args: Ast[]; s: number; e: number }
  | { t: 'not'; x: Ast; s: number; e: number }
  | { t: 'and' | 'or' | 'eq' | 'ne'; l: Ast; r: Ast; s: number; e: number };

class Parser {
  private p = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.p]!;
  }
  private next(): Tok {
    return this.toks[this.p++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.k === 'op' && t.v === v;
  }
  private expectOp(v: string, what: string): Tok {
    const t = this.peek();
    if (t.k !== 'op' || t.v !== v) syntax(`expected ${JSON.stringify(v)} ${what}, found ${describe(t)}`, t.s);
    return this.next();
  }

  parseAll(): Ast {
    const first = this.peek();
    if (first.k === 'eof') syntax('empty expression', first.s);
    const ast = this.or();
    const t = this.peek();
    if (t.k !== 'eof') syntax(`unexpected ${describe(t)} after the end of the expression`, t.s);
    return ast;
  }

  private enter(at: number): void {
    if (++this.depth > MAX_DEPTH) syntax(`expression nests more than ${MAX_DEPTH} levels deep`, at);
  }

  private or(): Ast {
    this.enter(this.peek().s);
    let l = this.and();
    while (this.isOp('||')) {
      this.next();
      const r = this.and();
      l = { t: 'or', l, r, s: l.s, e: r.e };
    }
    this.depth--;
    return l;
  }

  private and(): Ast {
    let l = this.cmp();
    while (this.isOp('&&')) {
      this.next();
      const r = this.cmp();
      l = { t: 'and', l, r, s: l.s, e: r.e };
    }
    return l;
  }

  private cmp(): Ast {
    let l = this.unary();
    while (this.isOp('==') || this.isOp('!=')) {
      const op = this.next().v;
      const r = this.unary();
      l = { t: op === '==' ? 'eq' : 'ne', l, r, s: l.s, e: r.e };
    }
    return l;
  }

  private unary(): Ast {
    const t = this.peek();
    if (t.k === 'op' && t.v === '!') {
      this.next();
      this.enter(t.s);
      const x = this.unary();
      this.depth--;
      return { t: 'not', x, s: t.s, e: x.e };
    }
    if (t.k === 'op' && t.v === '-') {
      this.next();
      const n = this.next();
      if (n.k !== 'int' || n.s !== t.e) syntax('"-" must be followed directly by an integer', t.s);
      return { t: 'lit', v: n.v === 0 ? 0 : -n.v, s: t.s, e: n.e };
    }
    return this.postfix();
  }

  private postfix(): Ast {
    let x = this.primary();
    while (this.isOp('[')) {
      this.next();
      const key = this.or();
      const close = this.expectOp(']', 'to close the index');
      x = { t: 'index', obj: x, key, s: x.s, e: close.e };
    }
    return x;
  }

  private primary(): Ast {
    const t = this.next();
    switch (t.k) {
      case 'int':
      case 'str':
        return { t: 'lit', v: t.v, s: t.s, e: t.e };
      case 'ident': {
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', v: t.v === 'true', s: t.s, e: t.e };
        const segs = [t.v];
        let e = t.e;
        while (this.isOp('.')) {
          this.next();
          const id = this.next();
          if (id.k !== 'ident') syntax(`expected a name after ".", found ${describe(id)}`, id.s);
          segs.push(id.v);
          e = id.e;
        }
        if (this.isOp('(')) {
          this.next();
          this.enter(t.s);
          const args: Ast[] = [];
          if (!this.isOp(')')) {
            args.push(this.or());
            while (this.isOp(',')) {
              this.next();
              args.push(this.or());
            }
          }
          const close = this.expectOp(')', `to close the call of ${segs.join('.')}`);
          this.depth--;
          return { t: 'call', name: segs.join('.'), args, s: t.s, e: close.e };
        }
        return { t: 'path', segs, s: t.s, e };
      }
      case 'op':
        if (t.v === '(') {
          const x = this.or();
          this.expectOp(')', 'to close the parenthesis');
          return x;
        }
        return syntax(`unexpected ${describe(t)}`, t.s);
      case 'eof':
        return syntax('unexpected end of expression', t.s);
    }
  }
}

function describe(t: Tok): string {
  switch (t.k) {
    case 'eof':
      return 'the end of the expression';
    case 'str':
      return `string ${JSON.stringify(t.v)}`;
    case 'int':
      return `integer ${t.v}`;
    default:
      return JSON.stringify(t.v);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Type checking and compilation

type Fn = (ctx: EvalContext) => unknown;
interface C {
  type: AttributeType;
  fn: Fn;
  /** Set when the value is a literal (regexp patterns must be). */
  literal?: string | number | boolean;
  /** Set when the value is a plain attribute read (lets `attr == literal` compile to one closure). */
  attr?: { readonly slot: number; readonly read: (ctx: EvalContext) => unknown; readonly display: string };
  /** Set when this boolean's falsity is decided by one `attribute == literal` (see {@link Guard}). */
  guard?: Guard;
}

const SCALARS: readonly AttributeType[] = ['string', 'int', 'bool'];

function typeName(t: AttributeType): string {
  return t === 'int' ? 'an int' : t === 'map' ? 'a map' : t.endsWith('[]') ? `a list of ${t.slice(0, -2)}` : `a ${t}`;
}

function tooLong(what: string): EvalFailure {
  return new EvalFailure(
    'ERR_WID_RULE_VALUE_TOO_LONG',
    `${what} is longer than ${what.startsWith('the input') ? MAX_INPUT_LENGTH : MAX_VALUE_LENGTH} characters`,
  );
}

class Compiler {
  readonly attributes = new Set<string>();
  constructor(
    private readonly text: string,
    private readonly schema: AttributeSchema,
    private readonly slots: CompileCache,
  ) {}

  private src(a: Ast): string {
    return this.text.slice(a.s, a.e);
  }

  private typeError(message: string, a: Ast): never {
    throw new ExpressionError('ERR_WID_RULE_EXPRESSION_TYPE', message, a.s);
  }

  expect(c: C, type: AttributeType, a: Ast, role: string): void {
    if (c.type !== type)
      this.typeError(`${role} must be ${typeName(type)}, but ${this.src(a)} is ${typeName(c.type)}`, a);
  }

  compile(a: Ast): C {
    switch (a.t) {
      case 'lit': {
        const v = a.v;
        const type: AttributeType = typeof v === 'string' ? 'string' : typeof v === 'number' ? 'int' : 'bool';
        return { type, fn: () => v, literal: v };
      }
      case 'path':
        return this.attribute(a, a.segs, undefined);
      case 'index':
        return this.index(a);
      case 'not': {
        const x = this.compile(a.x);
        this.expect(x, 'bool', a.x, 'the operand of !');
        const f = x.fn;
        return { type: 'bool', fn: (ctx) => !f(ctx) };
      }
      case 'and':
      case 'or': {
        const l = this.compile(a.l);
        const r = this.compile(a.r);
        const op = a.t === 'and' ? '&&' : '||';
        this.expect(l, 'bool', a.l, `the left operand of ${op}`);
        this.expect(r, 'bool', a.r, `the right operand of ${op}`);
        const lf = l.fn;
        const rf = r.fn;
        // `&&` evaluates left to right and stops at the first false: the left operand's guard guards the whole.
        return a.t === 'and'
          ? { type: 'bool', fn: (ctx) => lf(ctx) === true && rf(ctx) === true, guard: l.guard }
          : { type: 'bool', fn: (ctx) => lf(ctx) === true || rf(ctx) === true };
      }
      case 'eq':
      case 'ne': {
        const l = this.compile(a.l);
        const r = this.compile(a.r);
        const op = a.t === 'eq' ? '==' : '!=';
        if (!SCALARS.includes(l.type))
          this.typeError(`${op} compares strings, ints or bools; ${this.src(a.l)} is ${typeName(l.type)}`, a.l);
        if (l.type !== r.type) {
          this.typeError(
            `cannot compare ${typeName(l.type)} with ${typeName(r.type)} in ${this.src(a)}${
              l.type === 'int' && r.type === 'string' ? ' (write the integer without quotes)' : ''
            }`,
            a,
          );
        }
        const lf = l.fn;
        const rf = r.fn;
        const text = this.src(a);
        const want = a.t === 'eq';
        const fused =
          l.attr !== undefined && r.literal !== undefined
            ? l
            : r.attr !== undefined && l.literal !== undefined
              ? r
              : undefined;
        if (fused !== undefined) {
          // attribute == literal, the common case: one closure that reads the request cache directly.
          const { slot, read, display } = fused.attr!;
          const lit = (fused === l ? r : l).literal!;
          const attrLeft = fused === l;
          return {
            type: 'bool',
            guard: want ? { slot, read, key: typeof lit === 'string' ? lit : String(lit) } : undefined,
            fn: (ctx) => {
              const hit = ctx.cache[slot];
              const v = hit === undefined || hit instanceof EvalFailure ? read(ctx) : hit;
              const result = (v === lit) === want;
              if (ctx.trace !== undefined) {
                ctx.trace.push({ kind: 'read', attribute: display, value: v });
                ctx.trace.push({ kind: 'test', text, result, operands: attrLeft ? [v, lit] : [lit, v] });
              }
              return result;
            },
          };
        }
        return {
          type: 'bool',
          fn: (ctx) => {
            const lv = lf(ctx);
            const rv = rf(ctx);
            const result = (lv === rv) === want;
            if (ctx.trace !== undefined) ctx.trace.push({ kind: 'test', text, result, operands: [lv, rv] });
            return result;
          },
        };
      }
      case 'call':
        return this.call(a);
    }
  }

  private attribute(a: Ast, segs: readonly string[], mapKey: string | undefined): C {
    const r = resolveAttribute(this.schema, segs, mapKey);
    if (!r.ok) {
      throw new ExpressionError('ERR_WID_RULE_UNKNOWN_ATTRIBUTE', r.message, a.s, segs.join('.'));
    }
    return this.read(r.ref);
  }

  private read(ref: AttributeRef): C {
    this.attributes.add(ref.display);
    const reader = makeCachedReader(ref, this.slots);
    const display = ref.display;
    return {
      type: ref.type,
      attr: { slot: this.slots.slotOf(ref), read: reader, display },
      fn: (ctx) => {
        const v = reader(ctx);
        if (ctx.trace !== undefined) ctx.trace.push({ kind: 'read', attribute: display, value: v });
        return v;
      },
    };
  }

  private index(a: Extract<Ast, { t: 'index' }>): C {
    // labels["app"] with a literal key resolves statically, exactly like labels.app.
    if (a.obj.t === 'path' && a.key.t === 'lit' && typeof a.key.v === 'string') {
      return this.attribute(a, a.obj.segs, a.key.v);
    }
    const obj = this.compile(a.obj);
    if (obj.type !== 'map')
      this.typeError(`only maps can be indexed; ${this.src(a.obj)} is ${typeName(obj.type)}`, a.obj);
    const key = this.compile(a.key);
    this.expect(key, 'string', a.key, 'a map key');
    const of = obj.fn;
    const kf = key.fn;
    const base = this.src(a.obj);
    return {
      type: 'string',
      fn: (ctx) => {
        const m = of(ctx) as Record<string, unknown>;
        const k = kf(ctx) as string;
        const display = displayKey(base, k);
        if (!Object.hasOwn(m, k) || m[k] === undefined || m[k] === null) throw unsetFailure(display);
        const v = m[k];
        if (typeof v !== 'string') throw typeFailure(display, 'string', v);
        if (ctx.trace !== undefined) ctx.trace.push({ kind: 'read', attribute: display, value: v });
        return v;
      },
    };
  }

  private arity(a: Extract<Ast, { t: 'call' }>, min: number, max: number): void {
    const n = a.args.length;
    if (n < min || n > max) {
      const want = min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min} to ${max}`;
      this.typeError(`${a.name} takes ${want} argument${min === 1 && max === 1 ? '' : 's'}, got ${n}`, a);
    }
  }

  private call(a: Extract<Ast, { t: 'call' }>): C {
    const name = a.name;
    switch (name) {
      case 'strings.upper':
      case 'strings.lower': {
        this.arity(a, 1, 1);
        const x = this.compile(a.args[0]!);
        this.expect(x, 'string', a.args[0]!, `the argument of ${name}`);
        const f = x.fn;
        const upper = name === 'strings.upper';
        return {
          type: 'string',
          fn: (ctx) => {
            const s = f(ctx) as string;
            const out = upper ? s.toUpperCase() : s.toLowerCase();
            if (out.length > MAX_VALUE_LENGTH) throw tooLong(`the result of ${name}`);
            return out;
          },
        };
      }
      case 'strings.replaceall': {
        this.arity(a, 3, 3);
        const [s, o, n] = a.args.map((x, k) => {
          const c = this.compile(x);
          this.expect(c, 'string', x, `argument ${k + 1} of ${name}`);
          return c.fn;
        }) as [Fn, Fn, Fn];
        return {
          type: 'string',
          fn: (ctx) => {
            const input = s(ctx) as string;
            const old = o(ctx) as string;
            const rep = n(ctx) as string;
            // Bound the output before building it: every occurrence (or every position, for an empty `old`) grows it.
            const count = old === '' ? input.length + 1 : input.split(old).length - 1;
            if (input.length + count * rep.length > MAX_VALUE_LENGTH) throw tooLong(`the result of ${name}`);
            return input.replaceAll(old, rep);
          },
        };
      }
      case 'regexp.match':
      case 'regexp.replace': {
        const replace = name === 'regexp.replace';
        this.arity(a, replace ? 3 : 2, replace ? 3 : 2);
        const input = this.compile(a.args[0]!);
        this.expect(input, 'string', a.args[0]!, `the input of ${name}`);
        const pat = this.compile(a.args[1]!);
        if (pat.literal === undefined || typeof pat.literal !== 'string') {
          this.typeError(`the pattern of ${name} must be a string literal (it is compiled once, at load)`, a.args[1]!);
        }
        let re: SafeRegex;
        try {
          re = this.slots.regex(pat.literal);
        } catch (e) {
          if (!(e instanceof RegexSyntaxError)) throw e;
          throw new ExpressionError(
            'ERR_WID_RULE_UNSUPPORTED_REGEX',
            `invalid or unsupported regular expression ${JSON.stringify(pat.literal)}: ${e.message} (at offset ${e.offset} of the pattern)`,
            a.args[1]!.s,
          );
        }
        const inf = input.fn;
        const text = this.src(a);
        if (!replace) {
          return {
            type: 'bool',
            fn: (ctx) => {
              const s = inf(ctx) as string;
              if (s.length > MAX_INPUT_LENGTH) throw tooLong(`the input of ${text}`);
              const result = re.test(s);
              if (ctx.trace !== undefined) ctx.trace.push({ kind: 'test', text, result, operands: [s] });
              return result;
            },
          };
        }
        const rep = this.compile(a.args[2]!);
        this.expect(rep, 'string', a.args[2]!, `the replacement of ${name}`);
        const rf = rep.fn;
        return {
          type: 'string',
          fn: (ctx) => {
            const s = inf(ctx) as string;
            const r = rf(ctx) as string;
            if (s.length > MAX_INPUT_LENGTH) throw tooLong(`the input of ${text}`);
            if (r.length > MAX_INPUT_LENGTH) throw tooLong(`the input (replacement) of ${text}`);
            let out: string;
            try {
              out = re.replaceAll(s, r);
            } catch (e) {
              if (!(e instanceof RegexBudgetError)) throw e;
              throw new EvalFailure(
                'ERR_WID_RULE_REGEX_TOO_COSTLY',
                `${text} exceeded its budget of ${e.budget} steps on an input of ${s.length} characters (the pattern rescans the input for each match)`,
              );
            }
            if (out.length > MAX_VALUE_LENGTH) throw tooLong(`the result of ${text}`);
            return out;
          },
        };
      }
      case 'contains':
      case 'contains_any':
      case 'contains_all': {
        this.arity(a, 2, name === 'contains' ? 2 : Number.POSITIVE_INFINITY);
        const coll = this.compile(a.args[0]!);
        const elem: AttributeType =
          coll.type === 'string' || coll.type === 'map'
            ? 'string'
            : coll.type === 'string[]'
              ? 'string'
              : coll.type === 'int[]'
                ? 'int'
                : this.typeError(
                    `${name} needs a list, map or string first; ${this.src(a.args[0]!)} is ${typeName(coll.type)}`,
                    a.args[0]!,
                  );
        const items = a.args.slice(1).map((x) => {
          const c = this.compile(x);
          this.expect(c, elem, x, `an item of ${name}`);
          return c.fn;
        });
        const cf = coll.fn;
        const has = containsFn(coll.type, this.src(a.args[0]!));
        const all = name === 'contains_all';
        const text = this.src(a);
        return {
          type: 'bool',
          fn: (ctx) => {
            const c = cf(ctx);
            let result = all;
            const operands: unknown[] = [c];
            for (const item of items) {
              const v = item(ctx);
              operands.push(v);
              if (has(c, v) !== all) {
                result = !all;
                break;
              }
            }
            if (ctx.trace !== undefined) ctx.trace.push({ kind: 'test', text, result, operands });
            return result;
          },
        };
      }
      case 'is_empty': {
        this.arity(a, 1, 1);
        const x = this.compile(a.args[0]!);
        if (x.type !== 'string' && x.type !== 'map' && !x.type.endsWith('[]')) {
          this.typeError(
            `is_empty needs a string, list or map; ${this.src(a.args[0]!)} is ${typeName(x.type)}`,
            a.args[0]!,
          );
        }
        const f = x.fn;
        const text = this.src(a);
        return {
          type: 'bool',
          fn: (ctx) => {
            const v = f(ctx);
            const result =
              typeof v === 'string' || Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0;
            if (ctx.trace !== undefined) ctx.trace.push({ kind: 'test', text, result, operands: [v] });
            return result;
          },
        };
      }
      case 'ifelse': {
        this.arity(a, 3, 3);
        const cond = this.compile(a.args[0]!);
        this.expect(cond, 'bool', a.args[0]!, 'the condition of ifelse');
        const yes = this.compile(a.args[1]!);
        const no = this.compile(a.args[2]!);
        if (yes.type !== no.type) {
          this.typeError(
            `both branches of ifelse must have one type; got ${typeName(yes.type)} and ${typeName(no.type)}`,
            a,
          );
        }
        const cf = cond.fn;
        const yf = yes.fn;
        const nf = no.fn;
        return { type: yes.type, fn: (ctx) => (cf(ctx) === true ? yf(ctx) : nf(ctx)) };
      }
      default:
        throw new ExpressionError(
          'ERR_WID_RULE_UNKNOWN_FUNCTION',
          `unknown function ${JSON.stringify(name)}; available: strings.upper, strings.lower, strings.replaceall, regexp.match, regexp.replace, contains, contains_any, contains_all, is_empty, ifelse`,
          a.s,
        );
    }
  }
}

/** Membership test for a collection of static type `type`; validates list elements (attestor output is untrusted). */
function containsFn(type: AttributeType, display: string): (c: unknown, v: unknown) => boolean {
  switch (type) {
    case 'string':
      return (c, v) => (c as string).includes(v as string);
    case 'map':
      return (c, v) => isPlainMap(c) && Object.hasOwn(c, v as string);
    default: {
      const elem: AttributeType = type === 'int[]' ? 'int' : 'string';
      return (c, v) => {
        for (const e of c as unknown[]) {
          if (!checkType(elem, e)) throw typeFailure(`an element of ${display}`, elem, e);
          if (e === v) return true;
        }
        return false;
      };
    }
  }
}

/**
 * Parses and compiles the expression in `text[start, end)` against `schema`. `expect` is the type the whole
 * expression must have: `bool` for rules, `scalar` (string | int | bool) for templates.
 * @throws {ExpressionError} with `offset` into `text`.
 */
export function compileExpression(
  text: string,
  schema: AttributeSchema,
  slots: CompileCache,
  expect: 'bool' | 'scalar',
  start = 0,
  end = text.length,
): CompiledExpr {
  if (end - start > MAX_EXPRESSION_LENGTH) {
    syntax(`expression is longer than ${MAX_EXPRESSION_LENGTH} characters`, start);
  }
  const ast = new Parser(lex(text, start, end)).parseAll();
  const compiler = new Compiler(text, schema, slots);
  const c = compiler.compile(ast);
  const source = text.slice(start, end).trim();
  if (expect === 'bool' && c.type !== 'bool') {
    throw new ExpressionError(
      'ERR_WID_RULE_EXPRESSION_TYPE',
      `a rule expression must be a bool, but ${source} is ${typeName(c.type)}`,
      ast.s,
    );
  }
  if (expect === 'scalar' && !SCALARS.includes(c.type)) {
    throw new ExpressionError(
      'ERR_WID_RULE_EXPRESSION_TYPE',
      `a template expression must be a string, int or bool, but ${source} is ${typeName(c.type)}`,
      ast.s,
    );
  }
  return { type: c.type, fn: c.fn, text: source, attributes: [...compiler.attributes], guard: c.guard };
}

/** Builds a compiled read of one attribute (used by conditions, which name a single attribute). */
export function compileAttributeRead(ref: AttributeRef, slots: CompileCache): (ctx: EvalContext) => unknown {
  return makeCachedReader(ref, slots);
}
