// A small linear-time regular expression engine for `regexp.match` and `regexp.replace`.
//
// Why not RegExp: V8's engine backtracks, so one policy pattern such as `(a+)+$` or `.*a.*a.*a.*b` against a
// workload-controlled attribute can take exponential (or high-polynomial) time. Node has no RE2 built in, so
// patterns are compiled here to a Thompson NFA and run as a Pike VM (Russ Cox, "Regular Expression Matching: the
// Virtual Machine Approach"): time is O(input length x program size) for every pattern, with leftmost-first
// (Perl/Go) submatch semantics. Pattern size, repetition counts, capture groups, program size and input length are
// capped.
//
// replaceAll calls exec once per match, and leftmost-first semantics make each exec run the higher-priority threads
// of its match past the match end (`x*y|x` on xxxx... runs `x*y` to the end of the input before settling on `x`), so
// the next exec rescans that text: O(n^2 x m) in the worst case (Rust's regex documents the same bound for its
// find_iter). A replaceAll therefore has a step budget of STEP_BUDGET_FACTOR x (MAX_INPUT_LENGTH + 1) x program
// size, i.e. a few linear scans of the longest accepted input, and throws a RegexBudgetError past it (the caller fails
// closed: the identity is denied).
//
// Accepted syntax: the RE2/Go subset below, with Go's meaning (no flags; `.` excludes \n; `^`/`$` are start/end of
// text; \d \w \s \b are ASCII):
//   literals, escaped punctuation (\. \* \\ ...), \n \t \r \f \v \a, \xHH, \x{HHHH}
//   .  [abc] [^a-z0-9_] [\d.-]  \d \D \w \W \s \S
//   ^ $ \A \z \b \B
//   (re) (?:re) (?P<name>re) (?<name>re)   alternation a|b
//   * + ? {n} {n,} {n,m}, each optionally lazy with a trailing ?
// Rejected (with a load-time error): backreferences, lookarounds, flags such as (?i), \p{..} classes, POSIX [[:x:]]
// classes, \Q..\E, nested repetition operators such as a**.

export const MAX_PATTERN_LENGTH = 1000;
export const MAX_REPEAT = 1000;
export const MAX_PROGRAM_SIZE = 2000;
/** Inputs longer than this (UTF-16 units) are refused at evaluation time. */
export const MAX_INPUT_LENGTH = 4096;
const MAX_NESTING = 100;
/** Capture groups per pattern (each one widens every thread's capture array). */
export const MAX_CAPTURE_GROUPS = 32;
/** A replaceAll may take this many linear scans' worth of steps of the longest accepted input. */
export const STEP_BUDGET_FACTOR = 4;

export class RegexSyntaxError extends Error {
  /** 0-based offset in the pattern. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** Thrown by {@link SafeRegex.replaceAll} when it exceeds its step budget (the pattern rescans the input). */
export class RegexBudgetError extends Error {
  constructor(
    readonly steps: number,
    readonly budget: number,
  ) {
    super(`the pattern took more than ${budget} steps on this input`);
  }
}

type Assertion = 0 | 1 | 2 | 3; // bot, eot, word boundary, not word boundary
const A_BOT = 0;
const A_EOT = 1;
const A_WB = 2;
const A_NWB = 3;

type Node =
  | { t: 'lit'; cp: number }
  | { t: 'class'; ranges: number[] }
  | { t: 'assert'; kind: Assertion }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'group'; cap: number; node: Node }
  | { t: 'rep'; node: Node; min: number; max: number; greedy: boolean };

const MAX_CP = 0x10ffff;
const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

function normalize(ranges: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) {
      if (hi > out[n - 1]!) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

function negate(ranges: number[]): number[] {
  const r = normalize(ranges);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_CP) out.push(next, MAX_CP);
  return out;
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

class Parser {
  private i = 0;
  private depth = 0;
  groups = 0;
  readonly names = new Map<string, number>();

  constructor(private readonly p: string) {}

  private fail(message: string, at = this.i): never {
    throw new RegexSyntaxError(message, at);
  }

  parse(): Node {
    const node = this.alt();
    if (this.i < this.p.length) this.fail('unexpected )');
    return node;
  }

  private alt(): Node {
    if (++this.depth > MAX_NESTING) this.fail(`groups nest more than ${MAX_NESTING} deep`);
    const alts = [this.cat()];
    while (this.p[this.i] === '|') {
      this.i++;
      alts.push(this.cat());
    }
    this.depth--;
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private cat(): Node {
    const items: Node[] = [];
    while (this.i < this.p.length) {
      const c = this.p[this.i]!;
      if (c === '|' || c === ')') break;
      if (c === '*' || c === '+' || c === '?' || (c === '{' && this.peekRepeat() !== undefined)) {
        const last = items[items.length - 1];
        if (last === undefined || last.t === 'assert') this.fail('missing argument to repetition operator');
        items[items.length - 1] = this.quantifier(last);
        continue;
      }
      items.push(this.atom());
    }
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  /** `{n}`, `{n,}` or `{n,m}` at the cursor, or undefined when the brace is a literal (Go's rule). */
  private peekRepeat(): { min: number; max: number; end: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.p.slice(this.i, this.i + 24));
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    return { min, max, end: this.i + m[0].length };
  }

  private quantifier(node: Node): Node {
    const start = this.i;
    const c = this.p[this.i]!;
    let min: number;
    let max: number;
    if (c === '{') {
      const r = this.peekRepeat()!;
      if (r.min > MAX_REPEAT || r.max > MAX_REPEAT) this.fail(`repetition count above ${MAX_REPEAT}`, start);
      if (r.max !== -1 && r.max < r.min) this.fail('invalid repeat count: min is greater than max', start);
      min = r.min;
      max = r.max;
      this.i = r.end;
    } else {
      this.i++;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : -1;
    }
    let greedy = true;
    if (this.p[this.i] === '?') {
      greedy = false;
      this.i++;
    }
    const n = this.p[this.i];
    if (n === '*' || n === '+' || n === '?' || (n === '{' && this.peekRepeat() !== undefined)) {
      this.fail('invalid nested repetition operator');
    }
    return { t: 'rep', node, min, max, greedy };
  }

  private atom(): Node {
    const c = this.p[this.i]!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '.':
        this.i++;
        return { t: 'class', ranges: [0, 0x09, 0x0b, MAX_CP] };
      case '^':
        this.i++;
        return { t: 'assert', kind: A_BOT };
      case '$':
        this.i++;
        return { t: 'assert', kind: A_EOT };
      case '\\': {
        const e = this.escape(false);
        return typeof e === 'number' ? { t: 'lit', cp: e } : e;
      }
      default: {
        const cp = this.p.codePointAt(this.i)!;
        this.i += cp > 0xffff ? 2 : 1;
        return { t: 'lit', cp };
      }
    }
  }

  private nextGroup(start: number): number {
    if (this.groups >= MAX_CAPTURE_GROUPS) {
      this.fail(`more than ${MAX_CAPTURE_GROUPS} capture groups; use (?:...) for grouping without capture`, start);
    }
    return ++this.groups;
  }

  private group(): Node {
    const start = this.i;
    this.i++;
    let cap = -1;
    if (this.p[this.i] === '?') {
      const rest = this.p.slice(this.i, this.i + 4);
      if (rest.startsWith('?:')) {
        this.i += 2;
      } else if (rest.startsWith('?=') || rest.startsWith('?!') || rest.startsWith('?<=') || rest.startsWith('?<!')) {
        this.fail('lookaround assertions are not supported');
      } else if (rest.startsWith('?P<') || rest.startsWith('?<')) {
        this.i += rest.startsWith('?P<') ? 3 : 2;
        const m = /^([A-Za-z0-9_]+)>/.exec(this.p.slice(this.i, this.i + 64));
        if (m === null) this.fail('invalid named capture');
        if (this.names.has(m[1]!)) this.fail(`duplicate capture group name ${JSON.stringify(m[1])}`);
        cap = this.nextGroup(start);
        this.names.set(m[1]!, cap);
        this.i += m[0].length;
      } else {
        this.fail('flags and other (? groups are not supported');
      }
    } else {
      cap = this.nextGroup(start);
    }
    const node = this.alt();
    if (this.p[this.i] !== ')') this.fail('missing closing )', start);
    this.i++;
    return cap === -1 ? node : { t: 'group', cap, node };
  }

  private charClass(): Node {
    const start = this.i;
    this.i++;
    let neg = false;
    if (this.p[this.i] === '^') {
      neg = true;
      this.i++;
    }
    const ranges: number[] = [];
    let first = true;
    for (;;) {
      if (this.i >= this.p.length) this.fail('missing closing ]', start);
      const c = this.p[this.i];
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      if (c === '[' && this.p[this.i + 1] === ':')
        this.fail('POSIX character classes like [[:alpha:]] are not supported');
      first = false;
      const lo = this.classAtom();
      if (typeof lo !== 'number') {
        if (this.p[this.i] === '-' && this.p[this.i + 1] !== ']') this.fail('invalid character class range');
        ranges.push(...lo);
        continue;
      }
      if (this.p[this.i] === '-' && this.i + 1 < this.p.length && this.p[this.i + 1] !== ']') {
        const dash = this.i;
        this.i++;
        const hi = this.classAtom();
        if (typeof hi !== 'number') this.fail('invalid character class range', dash);
        if (hi < lo) this.fail('invalid character class range: bounds out of order', dash);
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    const r = normalize(ranges);
    return { t: 'class', ranges: neg ? negate(r) : r };
  }

  private classAtom(): number | number[] {
    if (this.p[this.i] === '\\') {
      const e = this.escape(true);
      if (typeof e === 'number') return e;
      if (e.t === 'lit') return e.cp;
      if (e.t === 'class') return e.ranges;
      return this.fail('assertions are not allowed in a character class');
    }
    const cp = this.p.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private escape(inClass: boolean): Node | number {
    const start = this.i;
    this.i++;
    const c = this.p[this.i];
    if (c === undefined) this.fail('trailing backslash', start);
    this.i++;
    switch (c) {
      case 'd':
        return { t: 'class', ranges: DIGIT };
      case 'D':
        return { t: 'class', ranges: negate(DIGIT) };
      case 'w':
        return { t: 'class', ranges: WORD };
      case 'W':
        return { t: 'class', ranges: negate(WORD) };
      case 's':
        return { t: 'class', ranges: SPACE };
      case 'S':
        return { t: 'class', ranges: negate(SPACE) };
      case 'n':
        return 0x0a;
      case 't':
        return 0x09;
      case 'r':
        return 0x0d;
      case 'f':
        return 0x0c;
      case 'v':
        return 0x0b;
      case 'a':
        return 0x07;
      case 'x': {
        if (this.p[this.i] === '{') {
          const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.p.slice(this.i, this.i + 9));
          const v = m === null ? Number.NaN : Number.parseInt(m[1]!, 16);
          if (m === null || v > MAX_CP) this.fail('invalid \\x{...} escape', start);
          this.i += m[0].length;
          return v;
        }
        if (!isHex(this.p[this.i]) || !isHex(this.p[this.i + 1])) this.fail('invalid \\x escape', start);
        this.i += 2;
        return Number.parseInt(this.p.slice(this.i - 2, this.i), 16);
      }
      case 'b':
      case 'B':
      case 'A':
      case 'z':
        if (inClass) this.fail(`\\${c} is not allowed in a character class`, start);
        return { t: 'assert', kind: c === 'b' ? A_WB : c === 'B' ? A_NWB : c === 'A' ? A_BOT : A_EOT };
      default:
        break;
    }
    if (/[0-9]/.test(c)) this.fail('backreferences are not supported', start);
    if (c === 'k') this.fail('named backreferences are not supported', start);
    if (c === 'p' || c === 'P') this.fail('Unicode classes \\p{...} are not supported', start);
    if (/[A-Za-z]/.test(c) || c.charCodeAt(0) > 0x7e) this.fail(`unsupported escape \\${c}`, start);
    return c.charCodeAt(0);
  }
}

const OP_CHAR = 0;
const OP_CLASS = 1;
const OP_SPLIT = 2;
const OP_JMP = 3;
const OP_SAVE = 4;
const OP_ASSERT = 5;
const OP_MATCH = 6;

class Compiler {
  op: number[] = [];
  a: number[] = [];
  b: number[] = [];
  classes: Int32Array[] = [];

  emit(op: number, a = 0, b = 0): number {
    if (this.op.length >= MAX_PROGRAM_SIZE) {
      throw new RegexSyntaxError(`pattern compiles to more than ${MAX_PROGRAM_SIZE} instructions`, 0);
    }
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case 'lit':
        this.emit(OP_CHAR, n.cp);
        return;
      case 'class':
        this.classes.push(Int32Array.from(n.ranges));
        this.emit(OP_CLASS, this.classes.length - 1);
        return;
      case 'assert':
        this.emit(OP_ASSERT, n.kind);
        return;
      case 'cat':
        for (const item of n.items) this.node(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.alts.length - 1; k++) {
          const split = this.emit(OP_SPLIT);
          this.a[split] = this.op.length;
          this.node(n.alts[k]!);
          jumps.push(this.emit(OP_JMP));
          this.b[split] = this.op.length;
        }
        this.node(n.alts[n.alts.length - 1]!);
        for (const j of jumps) this.a[j] = this.op.length;
        return;
      }
      case 'group':
        this.emit(OP_SAVE, 2 * n.cap);
        this.node(n.node);
        this.emit(OP_SAVE, 2 * n.cap + 1);
        return;
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.node(n.node);
        if (n.max === -1) {
          // L: split body, out; body; jmp L
          const split = this.emit(OP_SPLIT);
          this.node(n.node);
          this.emit(OP_JMP, split);
          this.setSplit(split, split + 1, this.op.length, n.greedy);
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit(OP_SPLIT);
            splits.push(split);
            this.node(n.node);
          }
          for (const s of splits) this.setSplit(s, s + 1, this.op.length, n.greedy);
        }
        return;
      }
    }
  }

  private setSplit(pc: number, body: number, out: number, greedy: boolean): void {
    this.a[pc] = greedy ? body : out;
    this.b[pc] = greedy ? out : body;
  }
}

function isWordCode(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a);
}

function inClass(ranges: Int32Array, cp: number): boolean {
  for (let k = 0; k < ranges.length; k += 2) {
    if (cp < ranges[k]!) return false;
    if (cp <= ranges[k + 1]!) return true;
  }
  return false;
}

interface ThreadList {
  pcs: Int32Array;
  caps: (Int32Array | undefined)[];
  n: number;
}

/** A compiled pattern. Not thread-safe across re-entrant calls (it reuses its scratch buffers); JS is single-threaded. */
export class SafeRegex {
  readonly source: string;
  readonly groupCount: number;
  private readonly names: ReadonlyMap<string, number>;
  private readonly op: Int32Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly classes: Int32Array[];
  // Scratch buffers, allocated on first use (a set may compile many patterns it never runs).
  private mark!: Int32Array;
  private gen = 0;
  private l1!: ThreadList;
  private l2!: ThreadList;
  private stack!: Int32Array;
  /** Capture scratch of the closure being computed: saves write here and are undone on the way back (Go's way). */
  private scratch!: Int32Array;
  /** Saves in effect on the current closure path; 0 means `scratch` is not in use and the base array is unchanged. */
  private dirty = 0;
  private ready = false;
  /** Steps (closure visits and thread steps) taken by the last exec or replaceAll; observable for tests. */
  steps = 0;
  private limit = Number.POSITIVE_INFINITY;
  /** Step budget of one replaceAll: STEP_BUDGET_FACTOR linear scans of a MAX_INPUT_LENGTH input. */
  readonly stepBudget: number;

  private constructor(source: string, parser: Parser, c: Compiler) {
    this.source = source;
    this.groupCount = parser.groups;
    this.names = parser.names;
    this.op = Int32Array.from(c.op);
    this.a = Int32Array.from(c.a);
    this.b = Int32Array.from(c.b);
    this.classes = c.classes;
    this.stepBudget = STEP_BUDGET_FACTOR * (MAX_INPUT_LENGTH + 1) * this.op.length;
  }

  private prepare(): void {
    const size = this.op.length;
    this.mark = new Int32Array(size);
    this.l1 = { pcs: new Int32Array(size), caps: new Array(size), n: 0 };
    this.l2 = { pcs: new Int32Array(size), caps: new Array(size), n: 0 };
    this.stack = new Int32Array(size + 1);
    this.scratch = new Int32Array(2 * (this.groupCount + 1));
    this.ready = true;
  }

  /** Compiles `pattern`. @throws {RegexSyntaxError} with the offset of the problem. */
  static compile(pattern: string): SafeRegex {
    if (pattern.length > MAX_PATTERN_LENGTH) {
      throw new RegexSyntaxError(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`, MAX_PATTERN_LENGTH);
    }
    const parser = new Parser(pattern);
    const ast = parser.parse();
    const c = new Compiler();
    c.emit(OP_SAVE, 0);
    c.node(ast);
    c.emit(OP_SAVE, 1);
    c.emit(OP_MATCH);
    return new SafeRegex(pattern, parser, c);
  }

  private holds(kind: number, s: string, pos: number): boolean {
    switch (kind) {
      case A_BOT:
        return pos === 0;
      case A_EOT:
        return pos === s.length;
      default: {
        const before = pos > 0 && isWordCode(s.charCodeAt(pos - 1));
        const after = pos < s.length && isWordCode(s.charCodeAt(pos));
        return (before !== after) === (kind === A_WB);
      }
    }
  }

  /** Epsilon closure without captures (iterative; order does not matter for a yes/no answer). */
  private addPlain(list: ThreadList, pc0: number, s: string, pos: number): void {
    const { op, a, b, mark, gen, stack } = this;
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      switch (op[pc]) {
        case OP_JMP:
          stack[sp++] = a[pc]!;
          break;
        case OP_SPLIT:
          stack[sp++] = b[pc]!;
          stack[sp++] = a[pc]!;
          break;
        case OP_SAVE:
          stack[sp++] = pc + 1;
          break;
        case OP_ASSERT:
          if (this.holds(a[pc]!, s, pos)) stack[sp++] = pc + 1;
          break;
        default:
          list.pcs[list.n++] = pc;
      }
    }
  }

  /**
   * Epsilon closure with captures, in priority order (recursive; depth is bounded by the program size). `caps` is
   * shared and never written: a SAVE writes into `scratch` and undoes the write on return, and a thread gets its own
   * copy only when it is added with saves in effect, so a closure costs O(program size x groups), not
   * O(saves x groups).
   */
  private addCaps(list: ThreadList, pc: number, caps: Int32Array, s: string, pos: number): void {
    if (this.mark[pc] === this.gen) return;
    this.mark[pc] = this.gen;
    if (++this.steps > this.limit) throw new RegexBudgetError(this.steps, this.limit);
    switch (this.op[pc]) {
      case OP_JMP:
        this.addCaps(list, this.a[pc]!, caps, s, pos);
        return;
      case OP_SPLIT:
        this.addCaps(list, this.a[pc]!, caps, s, pos);
        this.addCaps(list, this.b[pc]!, caps, s, pos);
        return;
      case OP_SAVE: {
        const scratch = this.scratch;
        if (this.dirty === 0) scratch.set(caps);
        const slot = this.a[pc]!;
        const old = scratch[slot]!;
        scratch[slot] = pos;
        this.dirty++;
        this.addCaps(list, pc + 1, caps, s, pos); // a RegexBudgetError skips the undo: run() resets `dirty`
        this.dirty--;
        scratch[slot] = old;
        return;
      }
      case OP_ASSERT:
        if (this.holds(this.a[pc]!, s, pos)) this.addCaps(list, pc + 1, caps, s, pos);
        return;
      default:
        list.pcs[list.n] = pc;
        list.caps[list.n++] = this.dirty === 0 ? caps : this.scratch.slice();
    }
  }

  private step(cp: number, pc: number): boolean {
    const o = this.op[pc];
    if (o === OP_CHAR) return this.a[pc] === cp;
    return o === OP_CLASS && cp >= 0 && inClass(this.classes[this.a[pc]!]!, cp);
  }

  /** True when the pattern matches anywhere in `s` (Go's MatchString). */
  test(s: string): boolean {
    if (!this.ready) this.prepare();
    let clist = this.l1;
    let nlist = this.l2;
    clist.n = 0;
    this.gen++;
    for (let pos = 0; ; ) {
      this.addPlain(clist, 0, s, pos); // unanchored: a new thread may start at every position
      if (clist.n === 0 && pos >= s.length) return false;
      const cp = pos < s.length ? s.codePointAt(pos)! : -1;
      const next = pos + (cp > 0xffff ? 2 : 1);
      nlist.n = 0;
      this.gen++;
      for (let k = 0; k < clist.n; k++) {
        const pc = clist.pcs[k]!;
        if (this.op[pc] === OP_MATCH) return true;
        if (this.step(cp, pc)) this.addPlain(nlist, pc + 1, s, next);
      }
      if (pos >= s.length) return false;
      const t = clist;
      clist = nlist;
      nlist = t;
      pos = next;
    }
  }

  /** Leftmost-first match starting the search at `start`: capture offsets (2 per group, -1 unset), or undefined. */
  exec(s: string, start = 0): Int32Array | undefined {
    this.steps = 0;
    this.limit = Number.POSITIVE_INFINITY;
    return this.run(s, start);
  }

  /** exec without resetting the step count, so that replaceAll's budget spans all its matches. */
  private run(s: string, start: number): Int32Array | undefined {
    if (!this.ready) this.prepare();
    try {
      return this.search(s, start);
    } finally {
      this.dirty = 0;
      this.l1.caps.fill(undefined);
      this.l2.caps.fill(undefined);
    }
  }

  private search(s: string, start: number): Int32Array | undefined {
    const ncap = 2 * (this.groupCount + 1);
    let clist = this.l1;
    let nlist = this.l2;
    clist.n = 0;
    this.gen++;
    let matched: Int32Array | undefined;
    const empty = new Int32Array(ncap).fill(-1);
    for (let pos = start; ; ) {
      if (matched === undefined) this.addCaps(clist, 0, empty, s, pos);
      else if (clist.n === 0) break;
      const cp = pos < s.length ? s.codePointAt(pos)! : -1;
      const next = pos + (cp > 0xffff ? 2 : 1);
      nlist.n = 0;
      this.gen++;
      for (let k = 0; k < clist.n; k++) {
        const pc = clist.pcs[k]!;
        const caps = clist.caps[k]!;
        if (this.op[pc] === OP_MATCH) {
          matched = caps;
          break; // lower-priority threads are cut: leftmost-first semantics
        }
        if (++this.steps > this.limit) throw new RegexBudgetError(this.steps, this.limit);
        if (this.step(cp, pc)) this.addCaps(nlist, pc + 1, caps, s, next);
      }
      clist.caps.fill(undefined, 0, clist.n);
      if (pos >= s.length) break;
      const t = clist;
      clist = nlist;
      nlist = t;
      pos = next;
    }
    return matched;
  }

  /**
   * Go's Regexp.ReplaceAllString: every non-overlapping match replaced by `template` with $1 / ${name} expanded.
   * @throws {RegexBudgetError} past `budget` steps (default {@link stepBudget}); `steps` then tells how far it got.
   */
  replaceAll(s: string, template: string, budget = this.stepBudget): string {
    this.steps = 0;
    this.limit = budget;
    try {
      return this.replaceAllRun(s, template);
    } finally {
      this.limit = Number.POSITIVE_INFINITY;
    }
  }

  private replaceAllRun(s: string, template: string): string {
    let out = '';
    let lastEnd = 0;
    let searchPos = 0;
    while (searchPos <= s.length) {
      const m = this.run(s, searchPos);
      if (m === undefined) break;
      const mStart = m[0]!;
      const mEnd = m[1]!;
      out += s.slice(lastEnd, mStart);
      // No replacement for an empty match right after the previous match (Go's rule, avoids double replacement).
      if (mEnd > lastEnd || mStart === 0) out += this.expand(template, s, m);
      lastEnd = mEnd;
      const cp = s.codePointAt(searchPos);
      const width = cp === undefined ? 0 : cp > 0xffff ? 2 : 1;
      if (searchPos + width > mEnd) searchPos += width;
      else if (searchPos + 1 > mEnd) searchPos++;
      else searchPos = mEnd;
    }
    return out + s.slice(lastEnd);
  }

  private expand(template: string, s: string, m: Int32Array): string {
    let out = '';
    let i = 0;
    while (i < template.length) {
      const d = template.indexOf('$', i);
      if (d === -1) break;
      out += template.slice(i, d);
      i = d + 1;
      if (template[i] === '$') {
        out += '$';
        i++;
        continue;
      }
      const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(template.slice(i));
      if (ref === null) {
        out += '$';
        continue;
      }
      i += ref[0].length;
      const name = (ref[1] ?? ref[2])!;
      let group = -1;
      if (/^(0|[1-9][0-9]{0,7})$/.test(name)) group = Number(name);
      else group = this.names.get(name) ?? -1;
      if (group >= 0 && group <= this.groupCount && m[2 * group]! >= 0) {
        out += s.slice(m[2 * group], m[2 * group + 1]);
      }
    }
    return out + template.slice(i);
  }
}
