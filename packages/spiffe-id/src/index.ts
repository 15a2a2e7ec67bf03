/**
 * @wid/spiffe-id: SPIFFE IDs and trust domains, validated exactly as the SPIFFE-ID standard says (with go-spiffe's
 * error wording), ID matchers, and `WidError`, the base class of every wid error. Zero dependencies, no I/O.
 *
 * @example
 * import { SpiffeId, TrustDomain, matchMemberOf } from '@wid/spiffe-id';
 * const id = SpiffeId.parse('spiffe://example.org/web');
 * matchMemberOf(TrustDomain.parse('example.org'))(id); // true
 */
export type { SpiffeIdErrorCode } from './errors.js';
export { SPIFFE_ID_ERROR_CODES, SpiffeIdError } from './errors.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { SpiffeIdMatcher } from './match.js';
export { matchAny, matchId, matchMemberOf, matchOneOf } from './match.js';
export { isValid, SpiffeId } from './spiffe-id.js';
export { TrustDomain } from './trust-domain.js';
export { isWidError, WidError } from './wid-error.js';
