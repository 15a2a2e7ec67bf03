import { parseDuration } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import cases from './fixtures/durations.json' with { type: 'json' };
import { thrown } from './helpers.js';

describe('parseDuration', () => {
  it.each(cases.valid as [string, number][])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(cases.invalid)('rejects %j like Go does', (text) => {
    const e = thrown(() => parseDuration(text));
    expect(e.code).toBe('ERR_WID_RULE_INVALID_DURATION');
    expect(e.input).toBe(text);
  });

  it('rejects non-strings', () => {
    expect(thrown(() => parseDuration(3600 as unknown as string)).code).toBe('ERR_WID_RULE_INVALID_DURATION');
  });
});
