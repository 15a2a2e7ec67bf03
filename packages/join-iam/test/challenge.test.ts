import { createIamChallenge, createIamChallengeStore, isIamChallenge } from '@wid/join-iam';
import { describe, expect, it } from 'vitest';
import { expectThrowCode, manualClock } from './helpers.js';

describe('createIamChallenge', () => {
  it('is 32 random bytes in unpadded base64', () => {
    const a = createIamChallenge();
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(isIamChallenge(a)).toBe(true);
    expect(createIamChallenge()).not.toBe(a);
  });
});

describe('createIamChallengeStore', () => {
  it('redeems a challenge once', () => {
    const store = createIamChallengeStore();
    const c = store.issue();
    store.consume(c);
    expectThrowCode(() => store.consume(c), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
  });

  it('expires challenges on the injected clock', () => {
    const clock = manualClock(0);
    const store = createIamChallengeStore({ clock, ttlSeconds: 10 });
    const c = store.issue();
    clock.advance(10_000);
    expectThrowCode(() => store.consume(c), 'ERR_WID_JOIN_IAM_CHALLENGE_EXPIRED');
    expectThrowCode(() => store.consume(c), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
  });

  it('is bounded: the oldest challenge is evicted, and expired ones are swept on issue', () => {
    const clock = manualClock(0);
    const store = createIamChallengeStore({ clock, maxEntries: 2, ttlSeconds: 10 });
    const a = store.issue();
    const b = store.issue();
    const c = store.issue();
    expect(store.size).toBe(2);
    expectThrowCode(() => store.consume(a), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
    store.consume(b);
    clock.advance(10_000);
    store.issue();
    expect(store.size).toBe(1);
    expectThrowCode(() => store.consume(c), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
  });

  it('refuses bad options', () => {
    expect(
      expectThrowCode(() => createIamChallengeStore({ ttlSeconds: 0 }), 'ERR_WID_JOIN_IAM_BAD_OPTION')['key'],
    ).toBe('ttlSeconds');
    expectThrowCode(() => createIamChallengeStore({ maxEntries: Number.NaN }), 'ERR_WID_JOIN_IAM_BAD_OPTION');
  });
});
