import { setTimeout as delay } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { createWorkloadApiClient, type WorkloadApiClient, type WorkloadApiClientError } from '@wid/workload-api-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualTimers, createRawServer, type RawServer } from './support/raw-server.js';

let server: RawServer;
let client: WorkloadApiClient | undefined;

beforeEach(() => {
  server = createRawServer();
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await server.dispose();
});

const emptyBundles = { crl: [], bundles: {} };

/** Fires pending backoff timers until `promise` settles (the gRPC channel reconnects in real time meanwhile). */
async function pumpUntil<T>(promise: Promise<T>, timers: ReturnType<typeof createManualTimers>): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  for (let i = 0; i < 500 && !settled; i++) {
    if (timers.pending.length > 0) timers.fireNext();
    await delay(10);
  }
  return tracked;
}

describe('watchX509Bundles reconnects', () => {
  it('backs off exponentially (jittered, capped) while the server is away and resumes when it returns', async () => {
    let served = 0;
    const handlers = {
      FetchX509Bundles: (call: { write(m: unknown): void }) => {
        served++;
        call.write(emptyBundles);
      },
    };
    await server.start(handlers);
    const timers = createManualTimers();
    const errors: WorkloadApiClientError[] = [];
    client = createWorkloadApiClient({
      address: server.address,
      env: {},
      timers: timers.timers,
      random: () => 0.5, // no jitter: exact delays
      backoff: { initialDelayMs: 20, maxDelayMs: 80, multiplier: 2, jitter: 0.5 },
    });
    const it = client.watchX509Bundles({ onError: (e) => errors.push(e) })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value?.size).toBe(0);

    const second = it.next();
    await server.stop();
    await timers.waitForDelays(1);
    expect(timers.delays).toEqual([20]);
    // grpc-js's forceShutdown resets the open stream: the client sees CANCELLED, which it retries like any failure.
    expect(errors[0]).toMatchObject({ code: 'ERR_WID_CLIENT_RPC_FAILED', grpcCode: status.CANCELLED });

    // Each attempt against the absent socket fails and doubles the delay up to the cap.
    for (const n of [2, 3, 4]) {
      timers.fireNext();
      await timers.waitForDelays(n);
    }
    expect(timers.delays).toEqual([20, 40, 80, 80]);
    expect(errors.slice(1).map((e) => [e.code, e.grpcCode])).toEqual(
      Array(3).fill(['ERR_WID_CLIENT_UNAVAILABLE', status.UNAVAILABLE]),
    );

    await server.start(handlers);
    const resumed = await pumpUntil(second, timers);
    expect(resumed.done).toBe(false);
    expect(served).toBe(2);

    // A delivered response resets the backoff: the next outage starts again at the initial delay.
    const third = it.next();
    const before = timers.delays.length;
    await server.stop();
    await timers.waitForDelays(before + 1);
    expect(timers.delays[before]).toBe(20);
    // close() ends the watch even while it waits out a backoff delay.
    await client.close();
    expect(await third).toEqual({ done: true, value: undefined });
  });

  it('applies jitter from the injected random source', async () => {
    await server.start({}); // every method Unimplemented: the watch retries
    const timers = createManualTimers();
    const randoms = [0, 0.999999, 0];
    client = createWorkloadApiClient({
      address: server.address,
      env: {},
      timers: timers.timers,
      random: () => randoms.shift() ?? 0.5,
      backoff: { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 },
    });
    const errors: WorkloadApiClientError[] = [];
    const it = client.watchJwtBundles({ onError: (e) => errors.push(e) })[Symbol.asyncIterator]();
    const pending = it.next();
    await timers.waitForDelays(1);
    timers.fireNext();
    await timers.waitForDelays(2);
    timers.fireNext();
    await timers.waitForDelays(3);
    expect(timers.delays).toEqual([80, 240, 320]);
    expect(errors[0]).toMatchObject({ code: 'ERR_WID_CLIENT_UNIMPLEMENTED', grpcCode: status.UNIMPLEMENTED });
    await client.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('stops on InvalidArgument without retrying', async () => {
    await server.start({
      FetchX509Bundles: (call: { emit(e: string, v: unknown): void }) => {
        call.emit('error', { code: status.INVALID_ARGUMENT, details: 'security header missing from request' });
      },
    });
    const timers = createManualTimers();
    const errors: WorkloadApiClientError[] = [];
    client = createWorkloadApiClient({ address: server.address, env: {}, timers: timers.timers });
    const iterate = async () => {
      for await (const _ of client!.watchX509Bundles({ onError: (e) => errors.push(e) })) {
        // never reached
      }
    };
    await expect(iterate()).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_ARGUMENT',
      grpcCode: status.INVALID_ARGUMENT,
      grpcDetails: 'security header missing from request',
      method: 'FetchX509Bundles',
    });
    expect(timers.delays).toEqual([]);
    expect(errors).toEqual([]);
    expect(server.calls.get('FetchX509Bundles')).toBe(1);
  });

  it('retries PermissionDenied (an identity may be granted later) and reports it to onError', async () => {
    let n = 0;
    await server.start({
      FetchX509Bundles: (call: { emit(e: string, v: unknown): void; write(m: unknown): void }) => {
        if (++n === 1) call.emit('error', { code: status.PERMISSION_DENIED, details: 'no identity issued' });
        else call.write(emptyBundles);
      },
    });
    const timers = createManualTimers();
    const errors: WorkloadApiClientError[] = [];
    client = createWorkloadApiClient({ address: server.address, env: {}, timers: timers.timers });
    const it = client.watchX509Bundles({ onError: (e) => errors.push(e) })[Symbol.asyncIterator]();
    const first = it.next();
    await timers.waitForDelays(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_WID_CLIENT_PERMISSION_DENIED', grpcCode: status.PERMISSION_DENIED });
    timers.fireNext();
    expect((await first).done).toBe(false);
    await it.return?.();
  });

  it('treats a stream the server ends cleanly as a failure to recover from', async () => {
    let n = 0;
    await server.start({
      FetchX509Bundles: (call: { end(): void; write(m: unknown): void }) => {
        if (++n === 1) call.end();
        else call.write(emptyBundles);
      },
    });
    const timers = createManualTimers();
    const errors: WorkloadApiClientError[] = [];
    client = createWorkloadApiClient({ address: server.address, env: {}, timers: timers.timers });
    const it = client.watchX509Bundles({ onError: (e) => errors.push(e) })[Symbol.asyncIterator]();
    const first = it.next();
    await timers.waitForDelays(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_WID_CLIENT_UNAVAILABLE', grpcCode: undefined });
    timers.fireNext();
    expect((await first).done).toBe(false);
    await it.return?.();
  });
});

describe('abort and close', () => {
  const hang = { FetchX509Bundles: () => {}, FetchJWTBundles: () => {}, FetchX509SVID: () => {} };

  it('rejects a fetch with ERR_WID_CLIENT_ABORTED when its signal fires, with the reason as cause', async () => {
    await server.start(hang);
    client = createWorkloadApiClient({ address: server.address, env: {} });
    const ac = new AbortController();
    const p = client.fetchX509Bundles({ signal: ac.signal });
    await delay(50);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await expect(p).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_ABORTED', cause: reason });
  });

  it('rejects at once for an already-aborted signal', async () => {
    await server.start(hang);
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.fetchJwtBundles({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_ABORTED',
    });
    await expect(client.fetchJwtSvid({ audience: 'a', signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_ABORTED',
    });
    expect(server.calls.size).toBe(0);
  });

  it('ends a watch with ERR_WID_CLIENT_ABORTED when aborted during backoff', async () => {
    await server.start({});
    const timers = createManualTimers();
    client = createWorkloadApiClient({ address: server.address, env: {}, timers: timers.timers });
    const ac = new AbortController();
    const it = client.watchX509Context({ signal: ac.signal })[Symbol.asyncIterator]();
    const p = it.next();
    await timers.waitForDelays(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_ABORTED' });
    expect(timers.pending).toEqual([]);
  });

  it('ends watches normally on close() and rejects later calls with ERR_WID_CLIENT_CLOSED', async () => {
    await server.start(hang);
    client = createWorkloadApiClient({ address: server.address, env: {} });
    const it = client.watchX509Context()[Symbol.asyncIterator]();
    const p = it.next();
    await delay(50);
    const pendingFetch = client.fetchX509Bundles();
    await client.close();
    expect(await p).toEqual({ done: true, value: undefined });
    await expect(pendingFetch).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_CLOSED' });
    await expect(client.fetchX509Context()).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_CLOSED' });
    await expect(client.validateJwtSvid('t', 'a')).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_CLOSED' });
    await client.close(); // idempotent
  });

  it('supports await using', async () => {
    await server.start({ FetchX509Bundles: (call: { write(m: unknown): void }) => call.write(emptyBundles) });
    let escaped: WorkloadApiClient;
    {
      await using c = createWorkloadApiClient({ address: server.address, env: {} });
      escaped = c;
      expect((await c.fetchX509Bundles()).size).toBe(0);
    }
    await expect(escaped.fetchX509Bundles()).rejects.toMatchObject({ code: 'ERR_WID_CLIENT_CLOSED' });
  });
});

describe('gRPC status mapping', () => {
  it.each([
    [status.INVALID_ARGUMENT, 'ERR_WID_CLIENT_INVALID_ARGUMENT'],
    [status.PERMISSION_DENIED, 'ERR_WID_CLIENT_PERMISSION_DENIED'],
    [status.UNAVAILABLE, 'ERR_WID_CLIENT_UNAVAILABLE'],
    [status.DEADLINE_EXCEEDED, 'ERR_WID_CLIENT_DEADLINE_EXCEEDED'],
    [status.INTERNAL, 'ERR_WID_CLIENT_RPC_FAILED'],
    [status.RESOURCE_EXHAUSTED, 'ERR_WID_CLIENT_RPC_FAILED'],
  ])('maps status %i of a unary call to %s with grpcCode', async (grpcCode, code) => {
    await server.start({
      FetchJWTSVID: (_call, callback) => callback({ code: grpcCode, details: 'reason from server' }),
    });
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.fetchJwtSvid({ audience: 'x' })).rejects.toMatchObject({
      code,
      grpcCode,
      grpcDetails: 'reason from server',
      method: 'FetchJWTSVID',
      address: server.address,
    });
  });

  it('maps a method the server lacks to ERR_WID_CLIENT_UNIMPLEMENTED', async () => {
    await server.start({});
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.validateJwtSvid('token', 'aud')).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_UNIMPLEMENTED',
      grpcCode: status.UNIMPLEMENTED,
    });
  });

  it('maps an absent server to ERR_WID_CLIENT_UNAVAILABLE', async () => {
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.fetchX509Context()).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_UNAVAILABLE',
      grpcCode: status.UNAVAILABLE,
    });
  });

  it('sends the security header workload.spiffe.io: true on every call', async () => {
    await server.start({
      FetchX509Bundles: (call: { write(m: unknown): void }) => call.write(emptyBundles),
      FetchJWTBundles: (call: { write(m: unknown): void }) => call.write({ bundles: {} }),
      FetchJWTSVID: (_call, callback) => callback({ code: status.PERMISSION_DENIED, details: 'no' }),
      ValidateJWTSVID: (_call, callback) => callback({ code: status.INVALID_ARGUMENT, details: 'bad token' }),
    });
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await client.fetchX509Bundles();
    await client.fetchJwtBundles();
    await client.fetchJwtSvid({ audience: 'a' }).catch(() => undefined);
    await client.validateJwtSvid('t', 'a').catch(() => undefined);
    expect(server.headers).toEqual(['true', 'true', 'true', 'true']);
  });
});

describe('request validation', () => {
  it.each([[''], [[]], [['a', '']]])('rejects audience %j before calling the server', async (audience) => {
    await server.start({});
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.fetchJwtSvid({ audience: audience as string[] })).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_OPTION',
      option: 'audience',
    });
    expect(server.calls.size).toBe(0);
  });

  it('rejects a malformed spiffeId before calling the server', async () => {
    await server.start({});
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.fetchJwtSvid({ audience: 'a', spiffeId: 'spiffe://Bad/x' })).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_OPTION',
      option: 'spiffeId',
      cause: { code: 'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR' },
    });
  });

  it.each([
    ['', 'aud', 'token'],
    ['tok', '', 'audience'],
  ])('rejects validateJwtSvid(%j, %j) naming %s', async (token, audience, option) => {
    await server.start({});
    client = createWorkloadApiClient({ address: server.address, env: {} });
    await expect(client.validateJwtSvid(token, audience)).rejects.toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_OPTION',
      option,
    });
  });
});
