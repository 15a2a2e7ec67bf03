import { randomBytes } from 'node:crypto';
import { IamJoinError } from './errors.js';

/** Length of a challenge: 32 random bytes in unpadded base64. */
const CHALLENGE = /^[A-Za-z0-9+/]{43}$/;

/**
 * A fresh join challenge: 32 random bytes as base64 without padding (43 characters). The server sends it to the
 * agent, which signs it into its STS request; use {@link createIamChallengeStore} (or the verifier's own
 * `createChallenge()`) so it can be used once only.
 *
 * @example
 * const challenge = createIamChallenge(); // 'q0p3...' (43 chars)
 */
export function createIamChallenge(): string {
  return randomBytes(32).toString('base64').replace(/=+$/, '');
}

/** True when `value` has the shape of a {@link createIamChallenge} result. */
export function isIamChallenge(value: unknown): value is string {
  return typeof value === 'string' && CHALLENGE.test(value);
}

/** Options of {@link createIamChallengeStore}. */
export interface IamChallengeStoreOptions {
  /** Time source for issue and expiry. Default: the system clock. */
  readonly clock?: { now(): Date };
  /** How long an issued challenge may be redeemed, in seconds. Default 300. */
  readonly ttlSeconds?: number;
  /** Most challenges outstanding at once; issuing more evicts the oldest. Default 10000. */
  readonly maxEntries?: number;
}

/** Outstanding challenges, each redeemable once before it expires. */
export interface IamChallengeStore {
  /** Issues a new challenge and remembers it. */
  issue(): string;
  /**
   * Redeems `challenge`: removes it and returns if it was outstanding and unexpired, otherwise throws
   * `ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE` (never issued, used, evicted) or `ERR_WID_JOIN_IAM_CHALLENGE_EXPIRED`.
   */
  consume(challenge: string): void;
  /** Number of challenges outstanding (expired ones included until they are swept). */
  readonly size: number;
}

function positiveInteger(value: number | undefined, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_OPTION', `${key} must be a positive integer, got ${String(value)}`, {
      key,
    });
  }
  return value;
}

/**
 * A bounded in-memory store of single-use challenges with expiry.
 *
 * @example
 * const store = createIamChallengeStore({ ttlSeconds: 60 });
 * const challenge = store.issue();
 * store.consume(challenge); // ok once; a second call throws ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE
 */
export function createIamChallengeStore(options: IamChallengeStoreOptions = {}): IamChallengeStore {
  const clock = options.clock ?? { now: () => new Date() };
  const ttlMs = positiveInteger(options.ttlSeconds, 'ttlSeconds', 300) * 1000;
  const maxEntries = positiveInteger(options.maxEntries, 'maxEntries', 10_000);
  // Insertion order is issue order, so the first key is the oldest (expiries are monotonic for a steady clock).
  const pending = new Map<string, number>();

  function sweep(nowMs: number): void {
    for (const [challenge, expiresAt] of pending) {
      if (expiresAt > nowMs) break;
      pending.delete(challenge);
    }
  }

  return {
    issue() {
      const nowMs = clock.now().getTime();
      sweep(nowMs);
      while (pending.size >= maxEntries) {
        const oldest = pending.keys().next().value;
        if (oldest === undefined) break;
        pending.delete(oldest);
      }
      const challenge = createIamChallenge();
      pending.set(challenge, nowMs + ttlMs);
      return challenge;
    },
    consume(challenge) {
      const expiresAt = typeof challenge === 'string' ? pending.get(challenge) : undefined;
      if (expiresAt === undefined) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE',
          'the challenge is not outstanding: it was never issued here, was already used, or was evicted',
        );
      }
      pending.delete(challenge);
      if (clock.now().getTime() >= expiresAt) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_CHALLENGE_EXPIRED',
          `the challenge expired ${ttlMs / 1000}s after issue`,
        );
      }
    },
    get size() {
      return pending.size;
    },
  };
}
