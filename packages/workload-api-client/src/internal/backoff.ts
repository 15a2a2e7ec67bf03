import { WorkloadApiClientError } from '../errors.js';

/** Timer functions a watch uses to wait between reconnects; `globalThis`'s by default, fakes in tests. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ResolvedBackoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 0.2,
});

/** Validates backoff options at construction; a bad value throws naming the option. */
export function resolveBackoff(o: Partial<ResolvedBackoff> | undefined): ResolvedBackoff {
  const r = { ...DEFAULT_BACKOFF, ...definedOnly(o ?? {}) };
  const check = (ok: boolean, option: string, want: string): void => {
    if (!ok) {
      throw new WorkloadApiClientError('ERR_WID_CLIENT_INVALID_OPTION', `backoff.${option} must be ${want}`, {
        option: `backoff.${option}`,
      });
    }
  };
  check(Number.isFinite(r.initialDelayMs) && r.initialDelayMs >= 0, 'initialDelayMs', 'a finite number >= 0');
  check(
    Number.isFinite(r.maxDelayMs) && r.maxDelayMs >= r.initialDelayMs,
    'maxDelayMs',
    'a finite number >= initialDelayMs',
  );
  check(Number.isFinite(r.multiplier) && r.multiplier >= 1, 'multiplier', 'a finite number >= 1');
  check(Number.isFinite(r.jitter) && r.jitter >= 0 && r.jitter <= 1, 'jitter', 'a number between 0 and 1');
  return Object.freeze(r);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Jittered, capped exponential backoff: attempt n (0-based) waits `min(max, initial * multiplier^n)`, scaled by a
 * random factor in `[1 - jitter, 1 + jitter]` and capped at `maxDelayMs` again. Reset after a successful message.
 */
export class Backoff {
  #attempt = 0;
  readonly #o: ResolvedBackoff;
  readonly #random: () => number;

  constructor(o: ResolvedBackoff, random: () => number) {
    this.#o = o;
    this.#random = random;
  }

  next(): number {
    const { initialDelayMs, maxDelayMs, multiplier, jitter } = this.#o;
    const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** this.#attempt);
    // Stop growing the exponent once the cap is reached so it never overflows to Infinity.
    if (base < maxDelayMs) this.#attempt++;
    const factor = 1 + jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.min(maxDelayMs, Math.round(base * factor)));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Waits `ms` with the given timers; rejects with the abort reason if `signal` fires first. */
export function sleep(ms: number, timers: Timers, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal.reason);
    };
    const handle = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
