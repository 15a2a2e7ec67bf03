/**
 * End to end with real credentials: an identity source backed by a real CA of @wid/svid-issuer, a real grpc-js client
 * over a real Unix socket. The client parses what it receives with the issuer's own parsers and verifies the chain,
 * and a JWT-SVID fetched over the API validates over the API.
 */
import { status } from '@grpc/grpc-js';
import { isWidError } from '@wid/spiffe-id';
import { createCertificateAuthority, JwtSvid, verifyX509Svid, X509Bundle, X509Svid } from '@wid/svid-issuer';
import { fromProtoStruct, type ValidateJWTSVIDResponse } from '@wid/workload-api-proto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWorkloadApiServer,
  WorkloadIdentityError,
  type WorkloadIdentitySource,
  type X509Context,
} from '../src/index.js';
import { connect, FakePeerAttestor, md, StreamReader, tempDir, unaryCall, unaryStatus } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function caSource(): { source: WorkloadIdentitySource; rotate(): void } {
  const ca = createCertificateAuthority({ trustDomain: 'example.org' });
  const issue = (): X509Context => {
    const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', hint: 'web' });
    return {
      svids: [
        {
          spiffeId: svid.id.toString(),
          certChain: svid.certificatesDer,
          privateKey: svid.privateKey!.export({ type: 'pkcs8', format: 'der' }),
          bundle: ca
            .x509Bundle()
            .x509Authorities()
            .map((c) => c.raw),
          hint: 'web',
        },
      ],
      federatedBundles: new Map(),
    };
  };
  let current = issue();
  const listeners = new Set<() => void>();
  const source: WorkloadIdentitySource = {
    async *watchX509Context(_attrs, signal) {
      let sent: X509Context | undefined;
      while (!signal.aborted) {
        if (sent !== current) {
          sent = current;
          yield current;
          continue;
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            listeners.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          listeners.add(wake);
          signal.addEventListener('abort', wake);
        });
      }
    },
    async fetchJwtSvids(_attrs, request) {
      const jwt = ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/web', audience: request.audience, hint: 'web' });
      return [{ spiffeId: jwt.id.toString(), token: jwt.token, hint: 'web' }];
    },
    async *watchX509Bundles() {
      yield {
        bundles: new Map([
          [
            'spiffe://example.org',
            ca
              .x509Bundle()
              .x509Authorities()
              .map((c) => c.raw),
          ],
        ]),
      };
    },
    async *watchJwtBundles() {
      yield { bundles: new Map([['spiffe://example.org', Buffer.from(ca.jwtBundle().marshal())]]) };
    },
    async validateJwtSvid(token, audience) {
      try {
        const jwt = JwtSvid.parseAndValidate(token, ca, [audience]);
        return { spiffeId: jwt.id.toString(), claims: jwt.claims };
      } catch (error) {
        if (isWidError(error)) {
          throw new WorkloadIdentityError('ERR_WID_WORKLOAD_INVALID_TOKEN', (error as Error).message, { cause: error });
        }
        throw error;
      }
    },
  };
  return {
    source,
    rotate: () => {
      current = issue();
      for (const wake of [...listeners]) wake();
    },
  };
}

async function serve(source: WorkloadIdentitySource) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = `${dir}/agent.sock`;
  const server = createWorkloadApiServer({
    listen: `unix://${path}`,
    attestors: [new FakePeerAttestor()],
    identities: source,
  });
  cleanups.push(() => server.close());
  await server.listen();
  const client = connect(`unix://${path}`);
  cleanups.push(() => client.close());
  return client;
}

describe('createWorkloadApiServer with real SVIDs from @wid/svid-issuer', () => {
  it('delivers an X.509-SVID the workload can load and verify, and a rotated one on the same stream', async () => {
    const { source, rotate } = caSource();
    const client = await serve(source);
    const reader = new StreamReader(client.FetchX509SVID({}, md()));
    const first = (await reader.next()).svids[0]!;
    const svid = X509Svid.parseRaw(first.x509_svid, first.x509_svid_key);
    expect(svid.id.toString()).toBe('spiffe://example.org/web');
    expect(first.hint).toBe('web');
    const bundle = X509Bundle.parse('example.org', first.bundle);
    const verified = verifyX509Svid(svid.certificates, bundle);
    expect(verified.id.toString()).toBe('spiffe://example.org/web');

    rotate();
    const second = (await reader.next()).svids[0]!;
    const rotated = X509Svid.parseRaw(second.x509_svid, second.x509_svid_key);
    expect(rotated.leaf.serialNumber).not.toBe(svid.leaf.serialNumber);
    reader.stream.cancel();
  });

  it('mints a JWT-SVID that ValidateJWTSVID accepts for its audience and rejects for another', async () => {
    const { source } = caSource();
    const client = await serve(source);
    const minted = await unaryCall<{ svids: Array<{ spiffe_id: string; svid: string }> }>((cb) =>
      client.FetchJWTSVID({ audience: ['https://api.example.org'] }, md(), cb),
    );
    const token = minted.svids[0]!.svid;
    const validated = await unaryCall<ValidateJWTSVIDResponse>((cb) =>
      client.ValidateJWTSVID({ audience: 'https://api.example.org', svid: token }, md(), cb),
    );
    expect(validated.spiffe_id).toBe('spiffe://example.org/web');
    const claims = fromProtoStruct(validated.claims);
    expect(claims.sub).toBe('spiffe://example.org/web');
    expect(claims.aud).toEqual(['https://api.example.org']);
    const wrong = await unaryStatus((cb) =>
      client.ValidateJWTSVID({ audience: 'https://other', svid: token }, md(), cb),
    );
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.details.length).toBeGreaterThan(0);
    const bundles = new StreamReader(client.FetchJWTBundles({}, md()));
    const jwks = JSON.parse(Buffer.from((await bundles.next()).bundles['spiffe://example.org']!).toString());
    expect(jwks.keys.length).toBeGreaterThan(0);
    bundles.stream.cancel();
  });
});
