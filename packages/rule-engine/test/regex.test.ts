import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PROGRAM_SIZE, RegexSyntaxError, SafeRegex } from '../src/internal/regex.js';
import cases from './fixtures/regex.json' with { type: 'json' };

function groups(re: SafeRegex, input: string): (string | null)[] | null {
  const m = re.exec(input);
  if (m === undefined) return null;
  const out: (string | null)[] = [];
  for (let g = 0; g <= re.groupCount; g++) out.push(m[2 * g]! < 0 ? null : input.slice(m[2 * g], m[2 * g + 1]));
  return out;
}

describe('SafeRegex (internal)', () => {
  it.each(cases.match)('/$pattern/ on $input', ({ pattern, input, groups: want }) => {
    const re = SafeRegex.compile(pattern);
    expect(groups(re, input)).toEqual(want);
    expect(re.test(input)).toBe(want !== null);
  });

  it.each(cases.replace)('/$pattern/ replace $input with $template', ({ pattern, input, template, result }) => {
    expect(SafeRegex.compile(pattern).replaceAll(input, template)).toBe(result);
  });

  it.each(cases.syntaxErrors)('rejects %j', (pattern) => {
    let err: unknown;
    try {
      SafeRegex.compile(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect((err as RegexSyntaxError).offset).toBeGreaterThanOrEqual(0);
  });

  it('caps the compiled program size', () => {
    expect(() => SafeRegex.compile('(a{40}){60}')).toThrow(RegexSyntaxError);
    expect(() => SafeRegex.compile('a{999}')).not.toThrow();
    expect(MAX_PROGRAM_SIZE).toBe(2000);
  });

  it('can run again after a previous match (scratch buffers are reset)', () => {
    const re = SafeRegex.compile('(a|b)+c');
    expect(re.test('ababc')).toBe(true);
    expect(re.test('abab')).toBe(false);
    expect(groups(re, 'xxbac')).toEqual(['bac', 'a']);
    expect(groups(re, 'bc')).toEqual(['bc', 'b']);
  });

  // A generator of patterns in the subset where Go and JavaScript agree on the overall match: ASCII, no \r, no \b,
  // and no quantifier over a sub-pattern that can match empty (there JavaScript's empty-iteration rule differs
  // from Perl/RE2 leftmost-first semantics, e.g. (?:a??){1,3} on "a").
  type Gen = [src: string, nullable: boolean];
  const atom = fc.constantFrom<Gen>(
    ['a', false],
    ['b', false],
    ['.', false],
    ['[ab]', false],
    ['[^a]', false],
    ['\\d', false],
    ['x', false],
    ['(?:)', true],
  );
  const quant = fc.constantFrom<[string, boolean]>(
    ['*', true],
    ['+', false],
    ['?', true],
    ['*?', true],
    ['+?', false],
    ['??', true],
    ['{2}', false],
    ['{1,3}', false],
    ['{0,2}?', true],
    ['{2,}', false],
  );
  const gen: fc.Arbitrary<Gen> = fc.letrec<{ re: Gen }>((tie) => ({
    re: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      fc.tuple(tie('re'), tie('re')).map(([x, y]): Gen => [`${x[0]}${y[0]}`, x[1] && y[1]]),
      fc.tuple(tie('re'), tie('re')).map(([x, y]): Gen => [`(?:${x[0]}|${y[0]})`, x[1] || y[1]]),
      tie('re').map((x): Gen => [`(${x[0]})`, x[1]]),
      fc.tuple(tie('re'), quant).map(([x, q]): Gen => (x[1] ? x : [`(?:${x[0]})${q[0]}`, q[1]])),
      tie('re').map((x): Gen => [`^${x[0]}`, x[1]]),
      tie('re').map((x): Gen => [`${x[0]}$`, x[1]]),
    ),
  })).re;
  const pattern = gen.map(([src]) => src);
  const input = fc.string({ unit: fc.constantFrom('a', 'b', '1', 'x', '\n'), maxLength: 12 });

  it('finds the same leftmost-first match as a backtracking engine, on generated patterns', () => {
    fc.assert(
      fc.property(pattern, input, (p, s) => {
        const re = SafeRegex.compile(p);
        const js = new RegExp(p, 'u').exec(s);
        expect(re.test(s)).toBe(js !== null);
        const m = re.exec(s);
        if (js === null) expect(m).toBeUndefined();
        else expect([m![0], m![1]]).toEqual([js.index, js.index + js[0].length]);
      }),
      { numRuns: 1500 },
    );
  });

  it('replaces like String.prototype.replace with a global regexp on generated non-empty-matching patterns', () => {
    fc.assert(
      fc.property(pattern, input, (p, s) => {
        const js = new RegExp(p, 'gu');
        fc.pre(!js.test(''));
        expect(SafeRegex.compile(p).replaceAll(s, '<$0>')).toBe(s.replace(new RegExp(p, 'gu'), '<$&>'));
      }),
      { numRuns: 1000 },
    );
  });
});
