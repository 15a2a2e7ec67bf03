import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { status } from '@grpc/grpc-js';
import { isWidError } from '@wid/spiffe-id';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWorkloadApiServer,
  WORKLOAD_API_SERVER_ERROR_CODES,
  type WorkloadApiServerError,
  type WorkloadApiServerOptions,
} from '../src/index.js';
import { FakeWorkloadIdentitySource } from '../src/testing/index.js';
import {
  attestor,
  connect,
  context,
  FakePeerAttestor,
  md,
  memoryLogger,
  StreamReader,
  svid,
  tempDir,
  unaryCall,
  unaryStatus,
} from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function source() {
  return new FakeWorkloadIdentitySource({ x509Context: context([svid('web')]) });
}

function thrown(fn: () => unknown): WorkloadApiServerError {
  try {
    fn();
  } catch (e) {
    return e as WorkloadApiServerError;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<WorkloadApiServerError> {
  try {
    await p;
  } catch (e) {
    return e as WorkloadApiServerError;
  }
  throw new Error('expected a rejection');
}

function listenNet(path: string): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((c) => c.destroy());
    s.listen(path, () => resolve(s));
  });
}

/** A socket file left behind by a process that was killed while listening. */
async function leaveStaleSocket(path: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('createWorkloadApiServer options', () => {
  const base = (): WorkloadApiServerOptions => ({
    listen: 'unix:///tmp/wid-never/agent.sock',
    attestors: [new FakePeerAttestor()],
    identities: source(),
  });

  it.each<[string, (o: WorkloadApiServerOptions) => WorkloadApiServerOptions]>([
    ['listen', (o) => ({ ...o, listen: 'unix:relative.sock' })],
    ['listen', (o) => ({ ...o, listen: 42 as unknown as string })],
    ['identities', (o) => ({ ...o, identities: undefined as never })],
    ['identities', (o) => ({ ...o, identities: { ...source(), validateJwtSvid: undefined } as never })],
    ['attestors', (o) => ({ ...o, attestors: [] })],
    ['attestors', (o) => ({ ...o, attestors: [attestor('unix', async () => ({}))] })],
    ['attestors', (o) => ({ ...o, attestors: [new FakePeerAttestor(), new FakePeerAttestor()] })],
    ['attestors', (o) => ({ ...o, attestors: [new FakePeerAttestor(), attestor('unix', async () => ({}))] })],
    ['attestors', (o) => ({ ...o, attestors: [new FakePeerAttestor(), attestor('Bad Name', async () => ({}))] })],
    ['socketMode', (o) => ({ ...o, socketMode: 0o1777 })],
    ['directoryMode', (o) => ({ ...o, directoryMode: -1 })],
    ['attestTimeoutMs', (o) => ({ ...o, attestTimeoutMs: 0 })],
    ['closeGraceMs', (o) => ({ ...o, closeGraceMs: 1.5 })],
    ['maxJwtAudiences', (o) => ({ ...o, maxJwtAudiences: 0 })],
    ['maxAudienceBytes', (o) => ({ ...o, maxAudienceBytes: 1.5 })],
    ['maxSpiffeIdBytes', (o) => ({ ...o, maxSpiffeIdBytes: '2048' as never })],
    ['maxJwtSvidBytes', (o) => ({ ...o, maxJwtSvidBytes: -1 })],
    ['maxReceiveMessageBytes', (o) => ({ ...o, maxReceiveMessageBytes: 100 })],
    ['logger', (o) => ({ ...o, logger: { info() {} } as never })],
  ])('rejects a bad %s at construction', (key, edit) => {
    const error = thrown(() => createWorkloadApiServer(edit(base())));
    expect(error.code).toBe('ERR_WID_WORKLOAD_API_INVALID_OPTION');
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
  });

  it('documents every error code', () => {
    for (const code of Object.keys(WORKLOAD_API_SERVER_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_WID_WORKLOAD_/);
    }
  });
});

describe('socket handling', () => {
  it('creates a missing parent directory with mode 0700 and the socket with mode 0777', async () => {
    const path = `${dir()}/a/b/agent.sock`;
    const server = createWorkloadApiServer({
      listen: `unix://${path}`,
      attestors: [new FakePeerAttestor()],
      identities: source(),
    });
    cleanups.push(() => server.close());
    await server.listen();
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o777);
  });

  it('leaves an existing directory alone and applies socketMode', async () => {
    const d = dir();
    mkdirSync(`${d}/run`, { mode: 0o750 });
    const path = `${d}/run/agent.sock`;
    const server = createWorkloadApiServer({
      listen: `unix:${path}`,
      attestors: [new FakePeerAttestor()],
      identities: source(),
      socketMode: 0o660,
    });
    cleanups.push(() => server.close());
    await server.start();
    expect(statSync(`${d}/run`).mode & 0o777).toBe(0o750);
    expect(lstatSync(path).mode & 0o777).toBe(0o660);
  });

  it('replaces a stale socket file nobody listens on', async () => {
    const path = `${dir()}/agent.sock`;
    await leaveStaleSocket(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    const logger = memoryLogger();
    const server = createWorkloadApiServer({
      listen: `unix://${path}`,
      attestors: [new FakePeerAttestor()],
      identities: source(),
      logger,
    });
    cleanups.push(() => server.close());
    await server.listen();
    expect(logger.entries.some((e) => e.msg?.startsWith('removed a stale Workload API socket'))).toBe(true);
    const client = connect(`unix://${path}`);
    cleanups.push(() => client.close());
    const reader = new StreamReader(client.FetchX509SVID({}, md()));
    expect((await reader.next()).svids).toHaveLength(1);
    reader.stream.cancel();
  });

  it('refuses a socket another process is listening on', async () => {
    const path = `${dir()}/agent.sock`;
    const live = await listenNet(path);
    cleanups.push(() => new Promise((r) => live.close(r)));
    const server = createWorkloadApiServer({
      listen: `unix://${path}`,
      attestors: [new FakePeerAttestor()],
      identities: source(),
    });
    const error = await rejected(server.listen());
    expect(isWidError(error, 'ERR_WID_WORKLOAD_API_SOCKET_IN_USE')).toBe(true);
    expect(error.path).toBe(path);
    expect(lstatSync(path).isSocket()).toBe(true); // untouched
    await server.close();
    expect(lstatSync(path).isSocket()).toBe(true); // close() removes only its own socket
  });

  it('refuses to delete a file that is not a socket', async () => {
    const path = `${dir()}/agent.sock`;
    writeFileSync(path, 'precious');
    const server = createWorkloadApiServer({
      listen: `unix://${path}`,
      attestors: [new FakePeerAttestor()],
      identities: source(),
    });
    const error = await rejected(server.listen());
    expect(error.code).toBe('ERR_WID_WORKLOAD_API_SOCKET_NOT_A_SOCKET');
    expect(lstatSync(path).isFile()).toBe(true);
  });
});

describe('close()', () => {
  async function running(options: Partial<WorkloadApiServerOptions> = {}) {
    const path = `${dir()}/agent.sock`;
    const identities = source();
    const server = createWorkloadApiServer({
      listen: `unix://${path}`,
      attestors: [new FakePeerAttestor()],
      identities,
      ...options,
    });
    cleanups.push(() => server.close());
    await server.listen();
    const client = connect(`unix://${path}`);
    cleanups.push(() => client.close());
    return { path, server, client, identities };
  }

  it('ends open streams with OK, removes the socket file and refuses to listen again', async () => {
    const { path, server, client, identities } = await running();
    const x509 = new StreamReader(client.FetchX509SVID({}, md()));
    const bundles = new StreamReader(client.FetchJWTBundles({}, md()));
    await x509.next();
    await bundles.next();
    await server.close();
    expect(await x509.ended).toEqual({ code: status.OK, details: 'OK' });
    expect((await bundles.ended).code).toBe(status.OK);
    expect(identities.watcherCount).toBe(0);
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
    expect((await rejected(server.listen())).code).toBe('ERR_WID_WORKLOAD_API_CLOSED');
    await server.close(); // idempotent
  });

  it('lets an in-flight unary call finish', async () => {
    const { server, client, identities } = await running();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const original = identities.fetchJwtSvids.bind(identities);
    let entered: () => void = () => {};
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    identities.fetchJwtSvids = async (attrs, req) => {
      entered();
      await gate;
      return original(attrs, req);
    };
    const call = unaryCall<{ svids: unknown[] }>((cb) => client.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    await inside;
    const closed = server.close();
    setTimeout(release, 20);
    expect((await call).svids).toHaveLength(1);
    await closed;
  });

  it('ends a stream still being attested with Unavailable rather than hanging', async () => {
    const unix = new FakePeerAttestor();
    let attesting: () => void = () => {};
    const started = new Promise<void>((r) => {
      attesting = r;
    });
    unix.attestImpl = () => {
      attesting();
      return new Promise(() => {});
    };
    const { server, client } = await running({ attestors: [unix], closeGraceMs: 200 });
    const reader = new StreamReader(client.FetchX509SVID({}, md()));
    await started;
    await server.close();
    expect((await reader.ended).code).toBe(status.UNAVAILABLE);
  });

  it('is not held up by a source that ignores its abort signal', async () => {
    const { server, client, identities } = await running();
    identities.watchJwtBundles = () => ({
      [Symbol.asyncIterator]: () => {
        let first = true;
        return {
          next: () => {
            if (!first) return new Promise(() => {}); // never settles, ignores the signal
            first = false;
            return Promise.resolve({ done: false, value: { bundles: new Map() } });
          },
        };
      },
    });
    const reader = new StreamReader(client.FetchJWTBundles({}, md()));
    await reader.next();
    await server.close();
    expect((await reader.ended).code).toBe(status.OK);
  });

  it('works with await using ([Symbol.asyncDispose])', async () => {
    const path = `${dir()}/agent.sock`;
    {
      await using server = createWorkloadApiServer({
        listen: `unix://${path}`,
        attestors: [new FakePeerAttestor()],
        identities: source(),
      });
      await server.listen();
      expect(lstatSync(path).isSocket()).toBe(true);
    }
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });
});

describe('TCP listen', () => {
  it('serves without attestation and warns once', async () => {
    const probe = createServer();
    const port = await new Promise<number>((r) =>
      probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)),
    );
    await new Promise((r) => probe.close(r));
    const logger = memoryLogger();
    const identities = source();
    const unix = new FakePeerAttestor();
    const server = createWorkloadApiServer({
      listen: `tcp://127.0.0.1:${port}`,
      attestors: [unix],
      identities,
      logger,
    });
    cleanups.push(() => server.close());
    await server.listen();
    expect(server.address).toEqual({ kind: 'tcp', host: '127.0.0.1', port, target: `ipv4:127.0.0.1:${port}` });
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1);
    const client = connect(`ipv4:127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    await unaryCall((cb) => client.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(identities.calls.at(-1)!.attributes).toEqual({});
    expect(unix.attestCount).toBe(0);
    expect((await unaryStatus((cb) => client.FetchJWTSVID({ audience: ['a'] }, md(), cb))).code).toBe(status.OK);
  });
});
