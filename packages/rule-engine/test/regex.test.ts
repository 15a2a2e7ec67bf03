import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_CAPTURE_GROUPS,
  MAX_INPUT_LENGTH,
  MAX_PROGRAM_SIZE,
  RegexBudgetError,
  RegexSyntaxError,
  SafeRegex,
} from '../src/internal/regex.js';
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

  it('caps capture groups at 32, with the offset of the first group too many', () => {
    expect(MAX_CAPTURE_GROUPS).toBe(32);
    expect(SafeRegex.compile('()'.repeat(32)).groupCount).toBe(32);
    expect(SafeRegex.compile(`${'()'.repeat(32)}(?:a)`).groupCount).toBe(32);
    for (const [pattern, offset] of [
      ['()'.repeat(333), 64],
      [`${'(a)'.repeat(32)}(?P<x>b)`, 96],
      [`x${'(?:(a))'.repeat(33)}`, 1 + 7 * 32 + 3],
    ] as const) {
      let err: unknown;
      try {
        SafeRegex.compile(pattern);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RegexSyntaxError);
      expect((err as RegexSyntaxError).message).toContain('more than 32 capture groups');
      expect((err as RegexSyntaxError).offset).toBe(offset);
    }
  });

  it('shares capture arrays between threads until a group is saved (32 groups on a long input stay correct)', () => {
    const re = SafeRegex.compile(`${'(a?)'.repeat(31)}(b+)`);
    const input = `${'a'.repeat(40)}${'b'.repeat(MAX_INPUT_LENGTH - 40)}`;
    const m = groups(re, input)!;
    expect(m[0]).toBe(`${'a'.repeat(31)}${'b'.repeat(MAX_INPUT_LENGTH - 40)}`);
    expect(m.slice(1, 32)).toEqual(Array(31).fill('a'));
    expect(m[32]).toBe('b'.repeat(MAX_INPUT_LENGTH - 40));
    expect(re.replaceAll('xaab', '[$1$2$3|$32]')).toBe('x[aa|b]');
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

  describe('replaceAll step budget (leftmost-first rescans are quadratic)', () => {
    const x = 'x'.repeat(MAX_INPUT_LENGTH);

    function budgetError(re: SafeRegex, input: string, budget?: number): RegexBudgetError {
      let err: unknown;
      try {
        re.replaceAll(input, 'z', budget);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RegexBudgetError);
      return err as RegexBudgetError;
    }

    it('sets the budget to a few linear scans of the longest input', () => {
      const re = SafeRegex.compile('x*y|x');
      // SAVE 0, SPLIT, SPLIT, CHAR x, JMP, CHAR y, JMP, CHAR x, SAVE 1, MATCH
      expect(re.stepBudget).toBe(4 * (MAX_INPUT_LENGTH + 1) * 10);
    });

    it('one exec is linear: at most two steps per instruction per position', () => {
      const re = SafeRegex.compile('x*y|x');
      expect(Array.from(re.exec(x)!)).toEqual([0, 1]);
      expect(re.steps).toBeLessThanOrEqual(2 * (x.length + 1) * 10);
      expect(re.steps).toBeGreaterThan(x.length); // the x*y thread ran to the end of the input
    });

    it('stops x*y|x on 4096 x (each match rescans the rest of the input) and fails closed', () => {
      const re = SafeRegex.compile('x*y|x');
      const err = budgetError(re, x);
      expect([err.budget, err.steps]).toEqual([re.stepBudget, re.stepBudget + 1]);
      // Still quadratic below the budget, and still correct on shorter input.
      expect(re.replaceAll('x'.repeat(200), 'z')).toBe('z'.repeat(200));
      expect(re.steps).toBeGreaterThan(200 * 200);
      expect(re.replaceAll('xxyxx', '<$0>')).toBe('<xxy><x><x>');
    });

    it('stops (?:x* x300 y)|x on 4096 x and fails closed', () => {
      const re = SafeRegex.compile(`(?:${'x*'.repeat(300)}y)|x`);
      const err = budgetError(re, x);
      expect(err.steps).toBe(re.stepBudget + 1);
      expect(re.stepBudget).toBeLessThan(4 * (MAX_INPUT_LENGTH + 1) * 1000);
    });

    it('takes an injected budget, and the scratch state survives a budget error', () => {
      const re = SafeRegex.compile('(x)*y|(x)');
      expect(budgetError(re, 'xxxx', 5).steps).toBe(6);
      expect(re.replaceAll('xxyx', '[$1$2]')).toBe('[x][x]');
      expect(groups(re, 'xxy')).toEqual(['xxy', 'x', null]);
    });

    it.each([
      ['a', 'a'.repeat(MAX_INPUT_LENGTH)],
      ['[^/]+', `/${'ab/'.repeat(1365)}`],
      ['(\\w+)@(\\w+)', 'ab@cd '.repeat(682)],
      ['^.*/', `/usr/${'b'.repeat(MAX_INPUT_LENGTH - 5)}`],
      ['x*', 'y'.repeat(MAX_INPUT_LENGTH)],
      ['(a|b)*?c', `${'ab'.repeat(2047)}c`],
    ])('replaces /%s/ on a %#th maximum-length input well inside the budget', (pattern, input) => {
      const re = SafeRegex.compile(pattern);
      re.replaceAll(input, '-');
      expect(re.steps).toBeLessThan(re.stepBudget / 2);
    });
  });
});
