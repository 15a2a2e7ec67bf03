import { matchAny, matchId, matchMemberOf, matchOneOf, SpiffeId, TrustDomain } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';

const a = SpiffeId.parse('spiffe://example.org/a');
const b = SpiffeId.parse('spiffe://example.org/b');
const c = SpiffeId.parse('spiffe://other.org/a');

describe('matchers', () => {
  it('matchAny accepts everything', () => {
    expect([a, b, c].map(matchAny())).toEqual([true, true, true]);
  });
  it('matchId accepts only the exact ID', () => {
    expect([a, b, c].map(matchId(a))).toEqual([true, false, false]);
  });
  it('matchOneOf accepts any listed ID', () => {
    expect([a, b, c].map(matchOneOf(a, c))).toEqual([true, false, true]);
    expect([a, b, c].map(matchOneOf())).toEqual([false, false, false]);
  });
  it('matchMemberOf accepts the trust domain', () => {
    expect([a, b, c].map(matchMemberOf(TrustDomain.parse('example.org')))).toEqual([true, true, false]);
  });
});
