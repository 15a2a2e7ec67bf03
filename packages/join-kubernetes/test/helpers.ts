import { expect } from 'vitest';

export async function expectCode(promise: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it resolved`);
    },
    (e: unknown) => e as Record<string, unknown>,
  );
  expect(error['code'], String(error['message'])).toBe(code);
  return error;
}

export function expectThrowCode(fn: () => unknown, code: string): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    expect((e as { code?: unknown }).code, String((e as Error).message)).toBe(code);
    return e as Record<string, unknown>;
  }
  throw new Error(`expected ${code}, but it returned`);
}

export function manualClock(start: number) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

export const ALLOW = [{ service_account: 'wid-system:wid-agent' }];
export const AUDIENCE = 'example.org';
