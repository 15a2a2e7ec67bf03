import { Metadata, status } from '@grpc/grpc-js';
import {
  fromProtoStruct,
  type ValidateJWTSVIDResponse,
  type WorkloadApiClient,
  type X509SVIDResponse,
} from '@wid/workload-api-proto';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkloadApiServer, type WorkloadApiServer, type WorkloadApiServerOptions } from '../src/index.js';
import { FakeWorkloadIdentitySource, type FakeWorkloadIdentitySourceOptions } from '../src/testing/index.js';
import {
  attestor,
  connect,
  context,
  FakePeerAttestor,
  md,
  memoryLogger,
  StreamReader,
  svid,
  TD,
  tempDir,
  unaryCall,
  unaryStatus,
} from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  sourceOptions: Partial<FakeWorkloadIdentitySourceOptions> = {},
  serverOptions: Partial<WorkloadApiServerOptions> = {},
) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = `${dir}/agent.sock`;
  const identities = new FakeWorkloadIdentitySource({
    x509Context: context([svid('web', 'web'), svid('db', 'db')], { 'spiffe://partner.org': 'partner-ca' }),
    ...sourceOptions,
  });
  const unix = new FakePeerAttestor();
  const logger = memoryLogger();
  const server: WorkloadApiServer = createWorkloadApiServer({
    listen: `unix://${path}`,
    attestors: [unix],
    identities,
    logger,
    ...serverOptions,
  });
  cleanups.push(() => server.close());
  await server.listen();
  const clients: WorkloadApiClient[] = [];
  const client = () => {
    const c = connect(`unix://${path}`);
    clients.push(c);
    cleanups.push(() => c.close());
    return c;
  };
  return { path, dir, identities, unix, logger, server, client };
}

function ids(res: X509SVIDResponse): string[] {
  return res.svids.map((s) => s.spiffe_id);
}

describe('FetchX509SVID', () => {
  it('streams the full X.509 context at once', async () => {
    const { client } = await setup();
    const reader = new StreamReader(client().FetchX509SVID({}, md()));
    const first = await reader.next();
    expect(ids(first)).toEqual([`${TD}/web`, `${TD}/db`]);
    const web = first.svids[0]!;
    expect(Buffer.from(web.x509_svid).toString()).toBe('leaf-web-1intermediate-1');
    expect(Buffer.from(web.x509_svid_key).toString()).toBe('key-web-1');
    expect(Buffer.from(web.bundle).toString()).toBe('ca-1ca-2');
    expect(web.hint).toBe('web');
    expect(Object.keys(first.federated_bundles)).toEqual(['spiffe://partner.org']);
    expect(Buffer.from(first.federated_bundles['spiffe://partner.org']!).toString()).toBe('partner-ca');
    reader.stream.cancel();
  });

  it('pushes a rotation on the open stream without reconnecting', async () => {
    const { client, identities, unix } = await setup();
    const reader = new StreamReader(client().FetchX509SVID({}, md()));
    await reader.next();
    identities.setX509Context(context([svid('web', 'web', 2)]));
    const second = await reader.next();
    expect(Buffer.from(second.svids[0]!.x509_svid).toString()).toBe('leaf-web-2intermediate-2');
    expect(second.federated_bundles).toEqual({}); // full state: the dropped federated bundle is gone
    expect(unix.peers).toHaveLength(1); // one connection
    expect(unix.attestCount).toBe(1); // attested once per call, not per message
    reader.stream.cancel();
  });

  it('keeps the first SVID of a repeated hint', async () => {
    const { client } = await setup({ x509Context: context([svid('a', 'same'), svid('b', 'same'), svid('c')]) });
    const reader = new StreamReader(client().FetchX509SVID({}, md()));
    expect(ids(await reader.next())).toEqual([`${TD}/a`, `${TD}/c`]);
    reader.stream.cancel();
  });

  it('answers PermissionDenied when the caller has no SVID, also after a rotation removes it', async () => {
    const { client, identities } = await setup({ x509Context: context([]) });
    const c = client();
    expect(await new StreamReader(c.FetchX509SVID({}, md())).ended).toEqual({
      code: status.PERMISSION_DENIED,
      details: 'no identity issued',
    });
    identities.setX509Context(context([svid('web')]));
    const reader = new StreamReader(c.FetchX509SVID({}, md()));
    await reader.next();
    identities.setX509Context(context([]));
    expect((await reader.ended).code).toBe(status.PERMISSION_DENIED);
  });

  it('answers PermissionDenied to a caller the source denies', async () => {
    const { client, identities } = await setup();
    identities.setAllow(() => false);
    const ended = await new StreamReader(client().FetchX509SVID({}, md())).ended;
    expect(ended.code).toBe(status.PERMISSION_DENIED);
    expect(ended.details).toBe('FakeWorkloadIdentitySource denies this caller');
  });

  it('ends an open stream with Unavailable when the source fails, and serves the next call', async () => {
    const { client, identities, logger } = await setup();
    const c = client();
    const reader = new StreamReader(c.FetchX509SVID({}, md()));
    await reader.next();
    identities.failWith(new Error('cache exploded'));
    const ended = await reader.ended;
    expect(ended.code).toBe(status.UNAVAILABLE);
    expect(ended.details).not.toContain('exploded'); // internals stay in the log
    expect(logger.entries.some((e) => e.level === 'error' && (e.obj.err as Error)?.message === 'cache exploded')).toBe(
      true,
    );
    identities.failWith(undefined);
    const again = new StreamReader(c.FetchX509SVID({}, md()));
    expect(ids(await again.next())).toHaveLength(2);
    again.stream.cancel();
  });

  it('survives a source whose method throws synchronously', async () => {
    const { client, identities } = await setup();
    identities.watchX509Context = () => {
      throw new TypeError('boom');
    };
    expect((await new StreamReader(client().FetchX509SVID({}, md())).ended).code).toBe(status.UNAVAILABLE);
  });

  it('releases the source watcher when the client cancels', async () => {
    const { client, identities } = await setup();
    const reader = new StreamReader(client().FetchX509SVID({}, md()));
    await reader.next();
    expect(identities.watcherCount).toBe(1);
    reader.stream.cancel();
    await expect.poll(() => identities.watcherCount).toBe(0);
  });
});

describe('FetchX509Bundles and FetchJWTBundles', () => {
  it('stream all X.509 bundles keyed by trust domain ID, again on change', async () => {
    const { client, identities } = await setup();
    const reader = new StreamReader(client().FetchX509Bundles({}, md()));
    const first = await reader.next();
    expect(Object.keys(first.bundles).sort()).toEqual(['spiffe://example.org', 'spiffe://partner.org']);
    expect(Buffer.from(first.bundles['spiffe://example.org']!).toString()).toBe('ca-1ca-2');
    identities.setX509Bundles({
      bundles: new Map([['spiffe://example.org', [Buffer.from('ca-3')]]]),
      crl: [Buffer.from('crl')],
    });
    const second = await reader.next();
    expect(Object.keys(second.bundles)).toEqual(['spiffe://example.org']);
    expect(second.crl.map((c) => Buffer.from(c).toString())).toEqual(['crl']);
    reader.stream.cancel();
  });

  it('stream JWT bundles, again on change', async () => {
    const jwks = Buffer.from(JSON.stringify({ keys: [{ kty: 'EC', kid: 'k1', use: 'jwt-svid' }] }));
    const { client, identities } = await setup({ jwtBundles: { bundles: new Map([[TD, jwks]]) } });
    const reader = new StreamReader(client().FetchJWTBundles({}, md()));
    const first = await reader.next();
    expect(JSON.parse(Buffer.from(first.bundles[TD]!).toString()).keys[0].kid).toBe('k1');
    identities.setJwtBundles({ bundles: new Map() });
    expect((await reader.next()).bundles).toEqual({});
    reader.stream.cancel();
  });

  it('answer PermissionDenied to a denied caller', async () => {
    const { client } = await setup({ allow: () => false });
    expect((await new StreamReader(client().FetchX509Bundles({}, md())).ended).code).toBe(status.PERMISSION_DENIED);
    expect((await new StreamReader(client().FetchJWTBundles({}, md())).ended).code).toBe(status.PERMISSION_DENIED);
  });
});

describe('FetchJWTSVID and ValidateJWTSVID', () => {
  it('mints for all identities, then validates the token and returns its claims', async () => {
    const { client } = await setup();
    const c = client();
    const res = await unaryCall<{ svids: Array<{ spiffe_id: string; svid: string; hint: string }> }>((cb) =>
      c.FetchJWTSVID({ audience: ['api'] }, md(), cb),
    );
    expect(res.svids.map((s) => [s.spiffe_id, s.hint])).toEqual([
      [`${TD}/web`, 'web'],
      [`${TD}/db`, 'db'],
    ]);
    const token = res.svids[0]!.svid;
    const validated = await unaryCall<ValidateJWTSVIDResponse>((cb) =>
      c.ValidateJWTSVID({ audience: 'api', svid: token }, md(), cb),
    );
    expect(validated.spiffe_id).toBe(`${TD}/web`);
    const claims = fromProtoStruct(validated.claims);
    expect(claims).toMatchObject({ sub: `${TD}/web`, aud: ['api'] });
    expect(typeof claims.exp).toBe('number');
  });

  it('mints only for the requested SPIFFE ID', async () => {
    const { client } = await setup();
    const c = client();
    const res = await unaryCall<{ svids: Array<{ spiffe_id: string }> }>((cb) =>
      c.FetchJWTSVID({ audience: ['api'], spiffe_id: `${TD}/db` }, md(), cb),
    );
    expect(res.svids.map((s) => s.spiffe_id)).toEqual([`${TD}/db`]);
  });

  it('answers PermissionDenied for a SPIFFE ID the caller does not have', async () => {
    const { client } = await setup();
    const c = client();
    expect(
      await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['api'], spiffe_id: `${TD}/admin` }, md(), cb)),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      details: `no identity issued for ${TD}/admin`,
    });
  });

  it('never passes on a token for an ID that was not requested', async () => {
    const { client, identities } = await setup();
    // A buggy source that ignores spiffeId.
    identities.fetchJwtSvids = async () => [{ spiffeId: `${TD}/web`, token: 't' }];
    const c = client();
    const s = await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['api'], spiffe_id: `${TD}/db` }, md(), cb));
    expect(s.code).toBe(status.PERMISSION_DENIED);
  });

  it('rejects a malformed SPIFFE ID with InvalidArgument', async () => {
    const { client } = await setup();
    const c = client();
    const s = await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['api'], spiffe_id: 'spiffe://Bad/x' }, md(), cb));
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details).toMatch(/^invalid requested SPIFFE ID: /);
  });

  it('requires an audience', async () => {
    const { client, unix } = await setup();
    const c = client();
    expect(await unaryStatus((cb) => c.FetchJWTSVID({}, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'audience must be specified',
    });
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: [''] }, md(), cb))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(unix.attestCount).toBe(0); // refused before attesting
  });

  it('answers PermissionDenied to a denied caller', async () => {
    const { client } = await setup({ allow: () => false });
    const c = client();
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb))).code).toBe(
      status.PERMISSION_DENIED,
    );
  });

  it('ValidateJWTSVID requires audience and svid', async () => {
    const { client } = await setup();
    const c = client();
    expect(await unaryStatus((cb) => c.ValidateJWTSVID({ svid: 'x' }, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'audience must be specified',
    });
    expect(await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a' }, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'svid must be specified',
    });
  });

  it('ValidateJWTSVID answers InvalidArgument with the reason for an invalid token', async () => {
    const { client } = await setup();
    const c = client();
    const token = (
      await unaryCall<{ svids: Array<{ svid: string }> }>((cb) => c.FetchJWTSVID({ audience: ['api'] }, md(), cb))
    ).svids[0]!.svid;
    const s = await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'other', svid: token }, md(), cb));
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details).toContain('expected audience in ["api"]');
  });

  it('ValidateJWTSVID answers Unavailable when the source fails for another reason', async () => {
    const { client, identities } = await setup();
    identities.failWith(new Error('down'));
    const c = client();
    expect((await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a', svid: 'x.y.z' }, md(), cb))).code).toBe(
      status.UNAVAILABLE,
    );
  });
});

describe('request size limits', () => {
  it('refuses more than maxJwtAudiences audiences (default 32) before attesting', async () => {
    const { client, unix, identities } = await setup();
    let fetched = 0;
    const fetch = identities.fetchJwtSvids.bind(identities);
    identities.fetchJwtSvids = (...args) => {
      fetched++;
      return fetch(...args);
    };
    const c = client();
    const many = Array.from({ length: 33 }, (_, i) => `aud-${i}`);
    expect(await unaryStatus((cb) => c.FetchJWTSVID({ audience: many }, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'too many audiences: 33; at most 32 are accepted',
    });
    expect(unix.attestCount).toBe(0);
    expect(fetched).toBe(0);
    const ok = await unaryCall<{ svids: unknown[] }>((cb) => c.FetchJWTSVID({ audience: many.slice(0, 32) }, md(), cb));
    expect(ok.svids).toHaveLength(2);
    expect(fetched).toBe(1);
  });

  it('refuses an audience or spiffe_id longer than the limit, counting UTF-8 bytes', async () => {
    const { client, unix } = await setup({}, { maxAudienceBytes: 8, maxSpiffeIdBytes: 40, maxJwtAudiences: 2 });
    const c = client();
    expect(await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a', 'ééééé'] }, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'an audience is 10 bytes long; at most 8 bytes are accepted',
    });
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a', 'b', 'c'] }, md(), cb))).details).toBe(
      'too many audiences: 3; at most 2 are accepted',
    );
    const longId = `${TD}/${'x'.repeat(40)}`;
    expect(await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'], spiffe_id: longId }, md(), cb))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: `spiffe_id is ${longId.length} bytes long; at most 40 bytes are accepted`,
    });
    expect(unix.attestCount).toBe(0);
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['12345678'] }, md(), cb))).code).toBe(status.OK);
  });

  it('refuses a ValidateJWTSVID svid or audience over the limit before attesting', async () => {
    const { client, unix, identities } = await setup();
    let validated = 0;
    identities.validateJwtSvid = async () => {
      validated++;
      return { spiffeId: `${TD}/web`, claims: {} };
    };
    const c = client();
    expect(await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a', svid: 'x'.repeat(16_385) }, md(), cb))).toEqual(
      {
        code: status.INVALID_ARGUMENT,
        details: 'svid is 16385 bytes long; at most 16384 bytes are accepted',
      },
    );
    expect(
      await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a'.repeat(1025), svid: 'x.y.z' }, md(), cb)),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'audience is 1025 bytes long; at most 1024 bytes are accepted',
    });
    expect(unix.attestCount).toBe(0);
    expect(validated).toBe(0);
    expect(
      (await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a'.repeat(1024), svid: 'x'.repeat(16_384) }, md(), cb)))
        .code,
    ).toBe(status.OK);
    expect(validated).toBe(1);
  });

  it('refuses a request message over maxReceiveMessageBytes (default 64 KiB) and serves the next connection', async () => {
    const { client, unix } = await setup();
    const c = client();
    // ~80 KB: grpc-js refuses it before decoding, so no handler (nor attestation) runs.
    const big = Array.from({ length: 20 }, (_, i) => `${i}-${'a'.repeat(4000)}`);
    const s = await unaryStatus((cb) => c.FetchJWTSVID({ audience: big }, md(), cb));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.details).toContain('65536');
    expect(unix.attestCount).toBe(0);
    const next = client();
    const ok = await unaryCall<{ svids: unknown[] }>((cb) => next.FetchJWTSVID({ audience: ['api'] }, md(), cb));
    expect(ok.svids).toHaveLength(2);
  });

  it('applies a configured maxReceiveMessageBytes', async () => {
    const { client } = await setup({}, { maxReceiveMessageBytes: 2048 });
    const c = client();
    const s = await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a', svid: 'x'.repeat(3000) }, md(), cb));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['api'] }, md(), cb))).code).toBe(status.OK);
  });
});

describe('the security header', () => {
  const missing = { code: status.INVALID_ARGUMENT, details: 'security header missing from request' };

  it.each([
    ['no header', () => new Metadata()],
    [
      'a wrong value',
      () => {
        const m = new Metadata();
        m.set('workload.spiffe.io', 'True');
        return m;
      },
    ],
    [
      'the value twice',
      () => {
        const m = new Metadata();
        m.add('workload.spiffe.io', 'true');
        m.add('workload.spiffe.io', 'true');
        return m;
      },
    ],
  ])('is enforced on every method (%s)', async (_name, metadata) => {
    const { client, unix } = await setup();
    const c = client();
    for (const method of [
      'FetchX509SVID',
      'FetchX509Bundles',
      'FetchJWTBundles',
      'FetchWITSVID',
      'FetchWITBundles',
    ] as const) {
      expect(await new StreamReader(c[method]({}, metadata())).ended, method).toEqual(missing);
    }
    expect(await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, metadata(), cb))).toEqual(missing);
    expect(await unaryStatus((cb) => c.ValidateJWTSVID({ audience: 'a', svid: 'b' }, metadata(), cb))).toEqual(missing);
    expect(unix.attestCount).toBe(0);
  });
});

describe('WIT-SVID methods', () => {
  it('answer Unimplemented', async () => {
    const { client } = await setup();
    const c = client();
    expect((await new StreamReader(c.FetchWITSVID({}, md())).ended).code).toBe(status.UNIMPLEMENTED);
    expect((await new StreamReader(c.FetchWITBundles({}, md())).ended).code).toBe(status.UNIMPLEMENTED);
  });
});

describe('attestation', () => {
  it('runs every attestor per call; a non-unix attestor failing is soft', async () => {
    const unix = new FakePeerAttestor();
    const logger = memoryLogger();
    const { client, identities } = await setup(
      {},
      {
        attestors: [
          attestor('kubernetes', async () => ({ namespace: 'default', attested: false })),
          unix,
          attestor('systemd', async () => {
            throw new Error('no dbus');
          }),
        ],
        logger,
      },
    );
    const c = client();
    await unaryCall((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    const attrs = identities.calls.at(-1)!.attributes;
    expect(attrs).toEqual({
      workload: {
        unix: { pid: 1001, uid: 11_001, attested: true },
        kubernetes: { namespace: 'default', attested: true },
      },
    });
    expect(logger.entries.some((e) => e.level === 'warn' && e.obj.attestor === 'systemd')).toBe(true);
    await unaryCall((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(unix.attestCount).toBe(2); // per call, not per connection
  });

  it('refuses a caller whose attested uid differs from the uid it connected with (PermissionDenied)', async () => {
    const unix = new FakePeerAttestor();
    // /proc showed another uid mid-attestation (e.g. a setuid binary that dropped privileges again before the
    // confirmation re-read): the kernel's SO_PEERCRED uid wins and the call is refused.
    unix.attestImpl = async (pid) => ({ pid, uid: 0 });
    const { client, identities } = await setup({}, { attestors: [unix] });
    const c = client();
    const s = await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(s.code).toBe(status.PERMISSION_DENIED);
    expect(s.details).toMatch(/uid changed during attestation/);
    expect(identities.calls).toHaveLength(0);
  });

  it('leaves the block of an attestor that resolves {} absent (never attested: true with no facts)', async () => {
    const { client, identities } = await setup(
      {},
      { attestors: [new FakePeerAttestor(), attestor('kubernetes', async () => ({}))] },
    );
    const c = client();
    await unaryCall((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(identities.calls.at(-1)!.attributes).toEqual({
      workload: { unix: { pid: 1001, uid: 11_001, attested: true } },
    });
  });

  it('answers Unavailable when the unix attestor throws, and serves the next call', async () => {
    const { client, unix } = await setup();
    let fail = true;
    const original = unix.attestImpl;
    unix.attestImpl = async (pid) => {
      if (fail) {
        fail = false;
        throw Object.assign(new Error('proc unreadable'), { code: 'ERR_WID_ATTEST_UNIX_PROC_UNREADABLE' });
      }
      return original(pid);
    };
    const c = client();
    const s = await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(s).toEqual({ code: status.UNAVAILABLE, details: 'workload attestation failed; retry later' });
    const reader = new StreamReader(c.FetchX509SVID({}, md()));
    expect(ids(await reader.next())).toHaveLength(2);
    reader.stream.cancel();
  });

  it('answers PermissionDenied when the process changed since it connected', async () => {
    const { client, unix } = await setup();
    unix.confirmImpl = async () => {
      throw Object.assign(new Error('pid reused'), { code: 'ERR_WID_ATTEST_UNIX_PROCESS_CHANGED' });
    };
    const c = client();
    const ended = await new StreamReader(c.FetchX509SVID({}, md())).ended;
    expect(ended).toEqual({
      code: status.PERMISSION_DENIED,
      details: 'caller could not be attested: ERR_WID_ATTEST_UNIX_PROCESS_CHANGED',
    });
  });

  it('answers Unavailable on every call of a connection whose peer credentials could not be read', async () => {
    const { client, unix, identities } = await setup();
    unix.readImpl = () => {
      throw Object.assign(new Error('addon missing'), { code: 'ERR_WID_ATTEST_UNIX_ADDON_UNAVAILABLE' });
    };
    const c = client();
    expect((await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb))).code).toBe(status.UNAVAILABLE);
    expect(identities.calls).toHaveLength(0);
  });

  it('answers Unavailable when attestation exceeds attestTimeoutMs', async () => {
    const { client, unix } = await setup({}, { attestTimeoutMs: 50 });
    unix.attestImpl = () => new Promise(() => {});
    const c = client();
    expect(await unaryStatus((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb))).toEqual({
      code: status.UNAVAILABLE,
      details: 'workload attestation timed out after 50 ms',
    });
  });

  it('lets calls arriving together on one connection share one attestation, never a settled one', async () => {
    const { client, unix } = await setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const original = unix.attestImpl;
    unix.attestImpl = async (pid) => {
      await gate;
      return original(pid);
    };
    const c = client();
    const readers = [1, 2, 3].map(() => new StreamReader(c.FetchX509SVID({}, md())));
    await expect.poll(() => unix.attestCount).toBe(1);
    release();
    await Promise.all(readers.map((r) => r.next()));
    expect(unix.attestCount).toBe(1);
    await unaryCall((cb) => c.FetchJWTSVID({ audience: ['a'] }, md(), cb));
    expect(unix.attestCount).toBe(2);
    for (const r of readers) r.stream.cancel();
  });

  it('ties each call to the credentials of its own connection', async () => {
    const { client, identities } = await setup({
      x509Context: context([svid('pid-1001'), svid('pid-1002')]),
      selectSvids: (s, attrs) => s.spiffeId.endsWith(`pid-${(attrs.workload as { unix: { pid: number } }).unix.pid}`),
    });
    const a = client();
    const b = client();
    // Interleave calls on both connections, several in flight at once.
    const readers = [a, b, a, b].map((c) => new StreamReader(c.FetchX509SVID({}, md())));
    const got = await Promise.all(readers.map(async (r) => ids(await r.next())));
    const pidA = got[0]![0]!.slice(-4);
    expect(got[2]![0]!.slice(-4)).toBe(pidA);
    expect(got[1]![0]).not.toBe(got[0]![0]);
    expect(got[3]![0]).toBe(got[1]![0]);
    expect(new Set(identities.calls.map((c) => (c.attributes.workload as { unix: { pid: number } }).unix.pid))).toEqual(
      new Set([1001, 1002]),
    );
    for (const r of readers) r.stream.cancel();
  });
});
