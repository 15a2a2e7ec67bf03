import { describe, expect, it } from 'vitest';
import { Backoff, resolveBackoff } from '../src/internal/backoff.js';

describe('Backoff', () => {
  const o = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 });

  it('grows exponentially and caps at maxDelayMs (no jitter at random = 0.5)', () => {
    const b = new Backoff(o, () => 0.5);
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('applies jitter within [1 - jitter, 1 + jitter] and never exceeds the cap', () => {
    const low = new Backoff(o, () => 0);
    const high = new Backoff(o, () => 0.999999);
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([50, 100, 200, 400, 500]);
    expect([high.next(), high.next(), high.next(), high.next()]).toEqual([150, 300, 600, 1000]);
  });

  it('starts over after reset()', () => {
    const b = new Backoff(o, () => 0.5);
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('defaults to 1 s doubling up to 30 s with ±20% jitter', () => {
    expect(resolveBackoff(undefined)).toEqual({ initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, jitter: 0.2 });
    const b = new Backoff(resolveBackoff({}), () => 0.5);
    const seq = Array.from({ length: 8 }, () => b.next());
    expect(seq).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('does not overflow after very many attempts', () => {
    const b = new Backoff(o, () => 0.5);
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(1000);
  });
});
