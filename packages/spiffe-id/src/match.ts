import type { SpiffeId } from './spiffe-id.js';
import type { TrustDomain } from './trust-domain.js';

/**
 * Decides whether a peer's SPIFFE ID is acceptable (go-spiffe's `spiffeid.Matcher`, as a predicate).
 * @example const authorize = matchMemberOf(TrustDomain.parse('example.org')); authorize(peerId);
 */
export type SpiffeIdMatcher = (id: SpiffeId) => boolean;

/** Accepts any ID. Use only where another layer authorises the peer. */
export function matchAny(): SpiffeIdMatcher {
  return () => true;
}

/** Accepts exactly `expected`. */
export function matchId(expected: SpiffeId): SpiffeIdMatcher {
  return (id) => id.equals(expected);
}

/** Accepts any of `expected`. */
export function matchOneOf(...expected: SpiffeId[]): SpiffeIdMatcher {
  const set = new Set(expected.map((id) => id.toString()));
  return (id) => set.has(id.toString());
}

/** Accepts every ID in `trustDomain`. */
export function matchMemberOf(trustDomain: TrustDomain): SpiffeIdMatcher {
  return (id) => id.memberOf(trustDomain);
}
