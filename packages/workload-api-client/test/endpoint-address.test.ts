import {
  createWorkloadApiClient,
  SPIFFE_ENDPOINT_SOCKET,
  type WorkloadApiClient,
  type WorkloadApiClientTimers,
} from '@wid/workload-api-client';
import { afterEach, describe, expect, it } from 'vitest';

const opened: WorkloadApiClient[] = [];
function create(...args: Parameters<typeof createWorkloadApiClient>): WorkloadApiClient {
  const c = createWorkloadApiClient(...args);
  opened.push(c);
  return c;
}

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return e as Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

describe('createWorkloadApiClient address', () => {
  it('reads SPIFFE_ENDPOINT_SOCKET from the injected env when no address is given', () => {
    const c = create({ env: { [SPIFFE_ENDPOINT_SOCKET]: 'unix:///run/spiffe/agent.sock' } });
    expect(c.address).toEqual({
      kind: 'unix',
      path: '/run/spiffe/agent.sock',
      target: 'unix:///run/spiffe/agent.sock',
    });
  });

  it('accepts the unix:/abs/path form', () => {
    const c = create({ env: { SPIFFE_ENDPOINT_SOCKET: 'unix:/tmp/a.sock' } });
    expect(c.address.kind).toBe('unix');
    expect(c.address).toMatchObject({ path: '/tmp/a.sock' });
  });

  it('accepts tcp://<IP>:<port> and dials the IP without a DNS lookup', () => {
    const c = create({ env: { SPIFFE_ENDPOINT_SOCKET: 'tcp://127.0.0.1:8081' } });
    expect(c.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 8081, target: 'ipv4:127.0.0.1:8081' });
  });

  it('prefers the explicit address over the environment', () => {
    const c = create({ address: 'unix:///explicit.sock', env: { SPIFFE_ENDPOINT_SOCKET: 'unix:///from-env.sock' } });
    expect(c.address).toMatchObject({ path: '/explicit.sock' });
  });

  it('defaults env to process.env', () => {
    const before = process.env[SPIFFE_ENDPOINT_SOCKET];
    process.env[SPIFFE_ENDPOINT_SOCKET] = 'unix:///from-process-env.sock';
    try {
      expect(create().address).toMatchObject({ path: '/from-process-env.sock' });
    } finally {
      if (before === undefined) delete process.env[SPIFFE_ENDPOINT_SOCKET];
      else process.env[SPIFFE_ENDPOINT_SOCKET] = before;
    }
  });

  it('does not read process.env when env is injected', () => {
    const before = process.env[SPIFFE_ENDPOINT_SOCKET];
    process.env[SPIFFE_ENDPOINT_SOCKET] = 'unix:///from-process-env.sock';
    try {
      expect(thrown(() => create({ env: {} }))).toMatchObject({ code: 'ERR_WID_CLIENT_ADDRESS_MISSING' });
    } finally {
      if (before === undefined) delete process.env[SPIFFE_ENDPOINT_SOCKET];
      else process.env[SPIFFE_ENDPOINT_SOCKET] = before;
    }
  });

  it.each([{}, { SPIFFE_ENDPOINT_SOCKET: '' }])('throws ERR_WID_CLIENT_ADDRESS_MISSING for env %j', (env) => {
    const e = thrown(() => create({ env }));
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_ADDRESS_MISSING', option: 'address' });
    expect(String(e['message'])).toContain('SPIFFE_ENDPOINT_SOCKET');
  });

  it.each([
    ['unix:relative.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_RELATIVE'],
    ['unix://host/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_UNIX_AUTHORITY'],
    ['tcp://localhost:8081', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NOT_IP'],
    ['tcp://127.0.0.1', 'ERR_WID_WORKLOAD_ENDPOINT_TCP_NO_PORT'],
    ['http://127.0.0.1:80', 'ERR_WID_WORKLOAD_ENDPOINT_BAD_SCHEME'],
    ['/run/agent.sock', 'ERR_WID_WORKLOAD_ENDPOINT_INVALID_URI'],
  ])('rejects %s from the environment with ERR_WID_CLIENT_ADDRESS_INVALID (cause %s)', (value, causeCode) => {
    const e = thrown(() => create({ env: { SPIFFE_ENDPOINT_SOCKET: value } }));
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_ADDRESS_INVALID', address: value, option: SPIFFE_ENDPOINT_SOCKET });
    expect(e['cause']).toMatchObject({ code: causeCode, input: value });
  });

  it('names `address` as the culprit when the explicit address is invalid', () => {
    const e = thrown(() => create({ address: 'unix:relative', env: {} }));
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_ADDRESS_INVALID', option: 'address' });
  });
});

describe('createWorkloadApiClient options', () => {
  const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///x.sock' };
  it.each([
    [{ initialDelayMs: -1 }, 'backoff.initialDelayMs'],
    [{ initialDelayMs: 100, maxDelayMs: 50 }, 'backoff.maxDelayMs'],
    [{ multiplier: 0.5 }, 'backoff.multiplier'],
    [{ jitter: 2 }, 'backoff.jitter'],
    [{ maxDelayMs: Number.POSITIVE_INFINITY }, 'backoff.maxDelayMs'],
  ])('rejects backoff %j naming %s', (backoff, option) => {
    expect(thrown(() => create({ env, backoff }))).toMatchObject({ code: 'ERR_WID_CLIENT_INVALID_OPTION', option });
  });

  it('rejects timers without setTimeout', () => {
    const timers = { clearTimeout() {} } as unknown as WorkloadApiClientTimers;
    expect(thrown(() => create({ env, timers }))).toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_OPTION',
      option: 'timers',
    });
  });
});
