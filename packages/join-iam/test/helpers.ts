import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { IamJoinRequest } from '@wid/join-iam';
import { FAKE_STS_IDENTITY } from '@wid/join-iam/testing';
import { expect } from 'vitest';

/** Awaits a rejection and asserts its code; returns the error for field assertions. */
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

/**
 * Signs an arbitrary request with the known test credentials: how an attacker holding real credentials would craft
 * a request that STS accepts but the verifier must refuse.
 */
export async function signCrafted(req: {
  host: string;
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  unsignable?: string[];
  region?: string;
}): Promise<IamJoinRequest> {
  const signer = new SignatureV4({
    credentials: FAKE_STS_IDENTITY,
    region: req.region ?? 'us-east-1',
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const request = new HttpRequest({
    method: req.method ?? 'POST',
    protocol: 'https:',
    hostname: req.host,
    path: req.path ?? '/',
    ...(req.query ? { query: req.query } : {}),
    headers: {
      host: req.host,
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      accept: 'application/json',
      ...req.headers,
    },
    body: req.body ?? 'Action=GetCallerIdentity&Version=2011-06-15',
  });
  const signed = (await signer.sign(request, {
    ...(req.unsignable ? { unsignableHeaders: new Set(req.unsignable) } : {}),
  })) as HttpRequest;
  const query = req.query ? `?${new URLSearchParams(req.query).toString()}` : '';
  return {
    method: signed.method,
    path: signed.path + query,
    headers: { ...(signed.headers as Record<string, string>) },
    body: signed.body as string,
  };
}

/** A settable clock. */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}
