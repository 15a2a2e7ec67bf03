import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { createUnixAttestor } from '@wid/attestor-unix';
import { createCertificateAuthority, JwtSvid, verifyX509Svid } from '@wid/svid-issuer';
import { createWorkloadApiClient } from '@wid/workload-api-client';
import { createWorkloadApiMetadata, loadWorkloadApiDefinition, SECURITY_HEADER_KEY } from '@wid/workload-api-proto';
import { createWorkloadApiServer, type WorkloadApiServer } from '@wid/workload-api-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaIdentitySource, createCaIdentitySource, uidIs } from './support/ca-identity-source.js';
import { type LineChild, spawnLineChild } from './support/child-process.js';

// End to end over real Unix sockets: our createWorkloadApiServer with the real unix attestor (SO_PEERCRED) and a real
// CA behind it, and a workload in another process using the BUILT client (run `tsc -b` first; `pnpm test` does).

const WEB = 'spiffe://example.org/web';
const AUDIENCE = 'spiffe://example.org/api';
const workloadScript = fileURLToPath(new URL('./fixtures/workload.mjs', import.meta.url));
const builtClient = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const uid = process.getuid!();

interface Served {
  server: WorkloadApiServer;
  source: CaIdentitySource;
  address: string;
}

const dir = mkdtempSync(join(tmpdir(), 'wid-client-e2e-'));
const partner = createCertificateAuthority({ trustDomain: 'partner.org' });
const servers: WorkloadApiServer[] = [];
const children: LineChild[] = [];

async function serve(name: string, grantUid: number): Promise<Served> {
  const source = createCaIdentitySource({
    trustDomain: 'example.org',
    identities: [{ spiffeId: WEB, hint: 'web', match: uidIs(grantUid) }],
    federated: [partner],
  });
  const address = `unix://${join(dir, name, 'agent.sock')}`;
  const server = createWorkloadApiServer({ listen: address, attestors: [createUnixAttestor()], identities: source });
  servers.push(server);
  await server.listen();
  return { server, source, address };
}

function workload(scenario: string, address: string): LineChild {
  const child = spawnLineChild(process.execPath, [workloadScript, scenario], {
    PATH: process.env['PATH'],
    SPIFFE_ENDPOINT_SOCKET: address,
  });
  children.push(child);
  return child;
}

let granted: Served;

beforeAll(async () => {
  if (!existsSync(builtClient)) {
    throw new Error(`${builtClient} is missing: build first (corepack pnpm exec tsc -b packages/workload-api-client)`);
  }
  granted = await serve('granted', uid);
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a workload in another process', () => {
  it('fetches a verifiable X.509-SVID, a JWT-SVID it can validate, and receives a rotation on its open stream', async () => {
    const { source, address } = granted;
    const child = workload('main', address);

    const x509 = await child.waitFor('x509');
    expect(x509['pid']).not.toBe(process.pid);
    expect(x509).toMatchObject({
      spiffeId: WEB,
      hint: 'web',
      verifiedId: WEB, // the client verified the SVID against the bundles it was streamed
      bundleTrustDomains: ['example.org', 'partner.org'],
    });
    // The certificate also verifies here, against the CA's own bundle.
    const chain = (x509['chainPem'] as string[]).map((pem) => new X509Certificate(pem));
    expect(verifyX509Svid(chain, source.x509Bundle()).id.toString()).toBe(WEB);
    // The server attested the child by its kernel peer credentials.
    expect(source.stats.attributes).toContainEqual(
      expect.objectContaining({
        workload: expect.objectContaining({ unix: expect.objectContaining({ pid: x509['pid'], uid }) }),
      }),
    );

    const jwt = await child.waitFor('jwt');
    expect(jwt).toMatchObject({ spiffeId: WEB, audience: [AUDIENCE] });
    expect(JwtSvid.parseAndValidate(jwt['token'] as string, source.ca.jwtBundle(), [AUDIENCE]).id.toString()).toBe(WEB);
    expect(await child.waitFor('validated')).toMatchObject({ spiffeId: WEB, sub: WEB });
    expect(await child.waitFor('wrong-audience')).toMatchObject({
      code: 'ERR_WID_CLIENT_INVALID_ARGUMENT',
      grpcCode: status.INVALID_ARGUMENT,
    });
    expect(await child.waitFor('jwt-bundles')).toMatchObject({ trustDomains: ['example.org', 'partner.org'] });

    const first = await child.waitFor('watch-update');
    await source.waitForOpenX509Watches(1);
    const streamsBefore = source.stats.x509Watches;
    source.rotate();
    const second = await child.waitFor((l) => l.event === 'watch-update' && l['n'] === 2);
    expect(second['serial']).not.toBe(first['serial']);
    expect(second).toMatchObject({ spiffeId: WEB, verifiedId: WEB });
    // Pushed on the stream that was already open: no new FetchX509SVID call, no reconnect.
    expect(source.stats.x509Watches).toBe(streamsBefore);
    await child.waitFor('done');
    const exit = await child.exited();
    expect(exit.code, exit.stderr).toBe(0);
    expect(child.lines.filter((l) => l.event === 'watch-error' || l.event === 'fatal')).toEqual([]);
  });

  it('gets PermissionDenied when no identity is granted to it', async () => {
    const { address } = await serve('denied', uid + 1);
    const child = workload('no-identity', address);
    expect(await child.waitFor('x509-error')).toMatchObject({
      code: 'ERR_WID_CLIENT_PERMISSION_DENIED',
      grpcCode: status.PERMISSION_DENIED,
    });
    expect(await child.waitFor('jwt-error')).toMatchObject({
      code: 'ERR_WID_CLIENT_PERMISSION_DENIED',
      grpcCode: status.PERMISSION_DENIED,
    });
    expect((await child.exited()).code).toBe(0);
  });
});

describe('watchX509Context across a server restart', () => {
  it('reconnects with backoff when the agent goes away and delivers the context once it is back', async () => {
    const first = await serve('restart', uid);
    const client = createWorkloadApiClient({
      address: first.address,
      env: {},
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    const errors: string[] = [];
    try {
      const it = client.watchX509Context({ onError: (e) => errors.push(e.code) })[Symbol.asyncIterator]();
      const before = await it.next();
      expect(before.value?.defaultSvid().id.toString()).toBe(WEB);
      const next = it.next();
      await first.server.close(); // ends the open stream and removes the socket
      // A new agent on the same socket path, with its own CA.
      const source = createCaIdentitySource({
        trustDomain: 'example.org',
        identities: [{ spiffeId: WEB, match: uidIs(uid) }],
      });
      const second = createWorkloadApiServer({
        listen: first.address,
        attestors: [createUnixAttestor()],
        identities: source,
      });
      servers.push(second);
      await second.listen();
      const after = await next;
      expect(after.done).toBe(false);
      const svid = after.value!.defaultSvid();
      expect(verifyX509Svid(svid.certificates, source.x509Bundle()).id.toString()).toBe(WEB);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((c) => c === 'ERR_WID_CLIENT_UNAVAILABLE')).toBe(true);
      await it.return?.();
    } finally {
      await client.close();
    }
  });
});

describe('the server facing bad requests', () => {
  const { Client } = loadWorkloadApiDefinition();

  function streamError(call: { on(e: string, f: (v: unknown) => void): unknown }): Promise<ServiceError> {
    return new Promise((resolve, reject) => {
      call.on('data', () => reject(new Error('expected no data')));
      call.on('error', (e) => resolve(e as ServiceError));
    });
  }

  function unaryError<Req>(
    fn: (req: Req, md: Metadata, cb: (err: ServiceError | null) => void) => unknown,
    req: Req,
    md: Metadata,
  ): Promise<ServiceError | null> {
    return new Promise((resolve) => fn(req, md, (err) => resolve(err)));
  }

  it('answers InvalidArgument without the security header, or a bad request, and keeps serving', async () => {
    const raw = new Client(granted.address, credentials.createInsecure());
    try {
      const noHeader = await streamError(raw.FetchX509SVID({}, new Metadata()));
      expect(noHeader).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'security header missing from request',
      });

      const wrongValue = new Metadata();
      wrongValue.set(SECURITY_HEADER_KEY, 'TRUE'); // the value is case-sensitive
      expect(await streamError(raw.FetchJWTBundles({}, wrongValue))).toMatchObject({ code: status.INVALID_ARGUMENT });

      const noAudience = await unaryError(raw.FetchJWTSVID.bind(raw), { audience: [] }, createWorkloadApiMetadata());
      expect(noAudience).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'audience must be specified' });

      const noSvid = await unaryError(raw.ValidateJWTSVID.bind(raw), { audience: 'a' }, createWorkloadApiMetadata());
      expect(noSvid).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'svid must be specified' });

      const garbage = await unaryError(
        raw.ValidateJWTSVID.bind(raw),
        { audience: AUDIENCE, svid: 'not-a-token' },
        createWorkloadApiMetadata(),
      );
      expect(garbage).toMatchObject({ code: status.INVALID_ARGUMENT });
    } finally {
      raw.close();
    }

    // The same server still serves a well-formed request, from this process and from another one.
    const client = createWorkloadApiClient({ address: granted.address, env: {} });
    try {
      expect((await client.fetchX509Context()).defaultSvid().id.toString()).toBe(WEB);
      await expect(client.validateJwtSvid('not-a-token', AUDIENCE)).rejects.toMatchObject({
        code: 'ERR_WID_CLIENT_INVALID_ARGUMENT',
        grpcCode: status.INVALID_ARGUMENT,
      });
      expect((await client.fetchJwtSvid({ audience: AUDIENCE })).id.toString()).toBe(WEB);
    } finally {
      await client.close();
    }
    const child = workload('no-identity', granted.address);
    expect(await child.waitFor('x509-granted')).toBeDefined();
    expect(await child.waitFor('jwt-granted')).toBeDefined();
  });
});
