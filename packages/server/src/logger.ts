import { type Logger, silentLogger } from '@wid/spiffe-id';

/**
 * The pino-compatible logger shape @wid/server components accept (`(obj, msg)`). Silent by default.
 *
 * @example
 * const logger: ServerLogger = pino();
 */
export type ServerLogger = Logger;

/** @internal */
export const SILENT_LOGGER: ServerLogger = silentLogger;

/**
 * The timer functions long-lived components schedule with (renewal, rotation, retries). Default: Node's global
 * `setTimeout`/`clearTimeout`, unref'd so a timer never keeps the process alive. Tests pass fakes.
 *
 * @example
 * const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
 */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A time source: `now()` returns the current time. */
export interface Clock {
  now(): Date;
}

/** @internal */
export const SYSTEM_CLOCK: Clock = Object.freeze({ now: () => new Date() });

/** Longest delay setTimeout accepts (about 24.8 days); longer waits are re-armed. @internal */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal */
export const SYSTEM_TIMERS: Timers = Object.freeze({
  setTimeout(callback: () => void, delayMs: number): unknown {
    const t = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    t.unref?.();
    return t;
  },
  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
