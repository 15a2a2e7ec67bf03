import { generateKeyPairSync } from 'node:crypto';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { SpiffeId } from '@wid/spiffe-id';
import { createCertificateAuthority, verifyX509Svid } from '@wid/svid-issuer';
import {
  createWorkloadApiClient,
  type WorkloadApiClient,
  type WorkloadApiClientError,
  type WorkloadApiClientLogger,
} from '@wid/workload-api-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createManualTimers, createRawServer, type RawServer } from './support/raw-server.js';

const ca = createCertificateAuthority({ trustDomain: 'example.org' });
const partner = createCertificateAuthority({ trustDomain: 'partner.org' });
const WEB = 'spiffe://example.org/web';
const DB = 'spiffe://example.org/db';

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function wireSvid(spiffeId: string, o: { hint?: string; declaredId?: string; wrongKey?: boolean } = {}) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = ca.issueX509Svid({ spiffeId, publicKey });
  const key = o.wrongKey ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey : privateKey;
  return {
    spiffe_id: o.declaredId ?? spiffeId,
    x509_svid: concat(issued.certificatesDer),
    x509_svid_key: key.export({ format: 'der', type: 'pkcs8' }),
    bundle: concat(
      ca
        .x509Bundle()
        .x509Authorities()
        .map((c) => c.raw),
    ),
    hint: o.hint ?? '',
  };
}

function partnerBundle(): Buffer {
  return concat(
    partner
      .x509Bundle()
      .x509Authorities()
      .map((c) => c.raw),
  );
}

function jwks(authority: typeof ca): Buffer {
  return Buffer.from(authority.jwtBundle().marshal());
}

let server: RawServer;
let client: WorkloadApiClient;

/** Each test sets the responses the server sends. */
let x509Response: unknown;
let jwtSvidResponse: unknown;
let jwtBundlesResponse: unknown;
let validateResponse: unknown;

beforeAll(async () => {
  server = createRawServer();
  await server.start({
    FetchX509SVID: (call) => call.write(x509Response),
    FetchJWTBundles: (call) => call.write(jwtBundlesResponse),
    FetchJWTSVID: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, jwtSvidResponse),
    ValidateJWTSVID: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) =>
      cb(null, validateResponse),
  });
});

afterEach(async () => {
  await client?.close();
});

afterAll(async () => {
  await server.dispose();
});

function newClient(extra: Partial<Parameters<typeof createWorkloadApiClient>[0]> = {}): WorkloadApiClient {
  client = createWorkloadApiClient({ address: server.address, env: {}, ...extra });
  return client;
}

async function rejection(p: Promise<unknown>): Promise<WorkloadApiClientError> {
  try {
    await p;
  } catch (e) {
    return e as WorkloadApiClientError;
  }
  throw new Error('expected a rejection');
}

describe('fetchX509Context', () => {
  it('returns validated SVIDs and the local + federated bundles; the SVID verifies against them', async () => {
    x509Response = {
      svids: [wireSvid(WEB, { hint: 'web' }), wireSvid(DB, { hint: 'db' })],
      crl: [],
      federated_bundles: { 'spiffe://partner.org': partnerBundle() },
    };
    const ctx = await newClient().fetchX509Context();
    expect(ctx.svids.map((s) => [s.id.toString(), s.hint])).toEqual([
      [WEB, 'web'],
      [DB, 'db'],
    ]);
    expect(ctx.defaultSvid()).toBe(ctx.svids[0]);
    expect(ctx.bundles.bundles().map((b) => b.trustDomain.name)).toEqual(['example.org', 'partner.org']);
    expect(ctx.bundles.get('partner.org')?.equals(partner.x509Bundle())).toBe(true);
    expect(verifyX509Svid(ctx.defaultSvid().certificates, ctx.bundles).id.toString()).toBe(WEB);
    expect(Object.isFrozen(ctx)).toBe(true);
    expect(Object.isFrozen(ctx.svids)).toBe(true);
  });

  it('drops an SVID whose hint repeats an earlier one (hints are unique within a response) and logs it', async () => {
    x509Response = { svids: [wireSvid(WEB, { hint: 'same' }), wireSvid(DB, { hint: 'same' })], federated_bundles: {} };
    const warnings: unknown[] = [];
    const logger: WorkloadApiClientLogger = { debug() {}, info() {}, warn: (o) => warnings.push(o), error() {} };
    const ctx = await newClient({ logger }).fetchX509Context();
    expect(ctx.svids.map((s) => s.id.toString())).toEqual([WEB]);
    expect(warnings).toEqual([{ method: 'FetchX509SVID', index: 1, hint: 'same', spiffeId: DB }]);
  });

  it.each([
    ['no SVIDs', () => ({ svids: [], federated_bundles: {} }), 'svids', undefined],
    [
      'garbage certificate bytes',
      () => ({ svids: [{ ...wireSvid(WEB), x509_svid: Buffer.from('not a certificate') }] }),
      'svids[0].x509_svid',
      /^ERR_WID_X509_/,
    ],
    [
      'a key that does not match the leaf',
      () => ({ svids: [wireSvid(WEB, { wrongKey: true })] }),
      'svids[0].x509_svid',
      /^ERR_WID_X509_KEY_MISMATCH$/,
    ],
    [
      'garbage key bytes',
      () => ({ svids: [{ ...wireSvid(WEB), x509_svid_key: Buffer.from([1, 2, 3]) }] }),
      'svids[0].x509_svid',
      /^ERR_WID_X509_/,
    ],
    [
      'a spiffe_id that is not the certificate’s',
      () => ({ svids: [wireSvid(WEB, { declaredId: DB })] }),
      'svids[0].spiffe_id',
      undefined,
    ],
    [
      'a federated bundle keyed by an invalid trust domain',
      () => ({ svids: [wireSvid(WEB)], federated_bundles: { 'spiffe://Partner.org': partnerBundle() } }),
      'federated_bundles["spiffe://Partner.org"]',
      /^ERR_WID_SPIFFE_ID_/,
    ],
    [
      'a federated bundle that is not DER certificates',
      () => ({ svids: [wireSvid(WEB)], federated_bundles: { 'spiffe://partner.org': Buffer.from('junk') } }),
      'federated_bundles["spiffe://partner.org"]',
      /^ERR_WID_/,
    ],
    ['bytes that are not a protobuf message', () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), '', undefined],
  ])('rejects a response with %s as ERR_WID_CLIENT_MALFORMED_RESPONSE', async (_, make, field, causeCode) => {
    x509Response = make();
    const e = await rejection(newClient().fetchX509Context());
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_MALFORMED_RESPONSE', method: 'FetchX509SVID', field });
    if (causeCode) expect((e.cause as { code: string }).code).toMatch(causeCode);
  });

  it('keeps watching after a malformed response: reports it and delivers the next good one', async () => {
    let n = 0;
    const good = { svids: [wireSvid(WEB)], federated_bundles: {} };
    const responses = [{ svids: [] }, good];
    x509Response = undefined;
    const local = createRawServer();
    await local.start({ FetchX509SVID: (call) => call.write(responses[Math.min(n++, 1)]) });
    try {
      const timers = createManualTimers();
      const errors: WorkloadApiClientError[] = [];
      client = createWorkloadApiClient({ address: local.address, env: {}, timers: timers.timers });
      const it = client.watchX509Context({ onError: (e) => errors.push(e) })[Symbol.asyncIterator]();
      const first = it.next();
      await timers.waitForDelays(1);
      expect(errors.map((e) => [e.code, e.field])).toEqual([['ERR_WID_CLIENT_MALFORMED_RESPONSE', 'svids']]);
      timers.fireNext();
      const r = await first;
      expect(r.done).toBe(false);
      expect(r.value?.defaultSvid().id.toString()).toBe(WEB);
      expect(local.calls.get('FetchX509SVID')).toBe(2);
      await it.return?.();
    } finally {
      await client.close();
      await local.dispose();
    }
  });
});

describe('fetchJwtSvid', () => {
  const audience = 'spiffe://example.org/api';

  it('returns the token parsed (not re-verified: the Workload API is trusted) with its audience', async () => {
    const token = ca.issueJwtSvid({ spiffeId: WEB, audience: [audience] }).token;
    jwtSvidResponse = { svids: [{ spiffe_id: WEB, svid: token, hint: '' }] };
    const svid = await newClient().fetchJwtSvid({ audience });
    expect(svid.id.toString()).toBe(WEB);
    expect(svid.token).toBe(token);
    expect(svid.audience).toEqual([audience]);
    expect(svid.hint).toBeUndefined();
  });

  it('keeps the wire hint on the returned JwtSvid', async () => {
    const token = ca.issueJwtSvid({ spiffeId: WEB, audience: [audience] }).token;
    jwtSvidResponse = { svids: [{ spiffe_id: WEB, svid: token, hint: 'internal' }] };
    expect((await newClient().fetchJwtSvid({ audience })).hint).toBe('internal');
  });

  it('returns every identity with fetchJwtSvids', async () => {
    jwtSvidResponse = {
      svids: [WEB, DB].map((id) => ({
        spiffe_id: id,
        svid: ca.issueJwtSvid({ spiffeId: id, audience: [audience] }).token,
      })),
    };
    const svids = await newClient().fetchJwtSvids({ audience: [audience], spiffeId: SpiffeId.parse(WEB) });
    expect(svids.map((s) => s.id.toString())).toEqual([WEB, DB]);
  });

  it.each([
    ['no SVIDs', () => ({ svids: [] }), 'svids', undefined],
    [
      'a token that is not a JWT',
      () => ({ svids: [{ spiffe_id: WEB, svid: 'not.a.jwt' }] }),
      'svids[0].svid',
      /^ERR_WID_JWT_/,
    ],
    [
      'a token for another audience',
      () => ({ svids: [{ spiffe_id: WEB, svid: ca.issueJwtSvid({ spiffeId: WEB, audience: ['other'] }).token }] }),
      'svids[0].svid',
      /^ERR_WID_JWT_/,
    ],
    [
      'a spiffe_id that is not the token’s subject',
      () => ({ svids: [{ spiffe_id: DB, svid: ca.issueJwtSvid({ spiffeId: WEB, audience: [audience] }).token }] }),
      'svids[0].spiffe_id',
      undefined,
    ],
  ])('rejects a response with %s as ERR_WID_CLIENT_MALFORMED_RESPONSE', async (_, make, field, causeCode) => {
    jwtSvidResponse = make();
    const e = await rejection(newClient().fetchJwtSvid({ audience }));
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_MALFORMED_RESPONSE', method: 'FetchJWTSVID', field });
    if (causeCode) expect((e.cause as { code: string }).code).toMatch(causeCode);
  });
});

describe('fetchJwtBundles', () => {
  it('returns the bundles keyed by trust domain', async () => {
    jwtBundlesResponse = { bundles: { 'spiffe://example.org': jwks(ca), 'spiffe://partner.org': jwks(partner) } };
    const set = await newClient().fetchJwtBundles();
    expect(set.bundles().map((b) => b.trustDomain.name)).toEqual(['example.org', 'partner.org']);
    const kid = [...ca.jwtBundle().jwtAuthorities().keys()][0]!;
    expect(set.get('example.org')?.findJwtAuthority(kid)).toBeDefined();
  });

  it.each([
    [
      'a value that is not JSON',
      () => ({ bundles: { 'spiffe://example.org': Buffer.from('{nope') } }),
      'bundles["spiffe://example.org"]',
    ],
    [
      'a JWKS without keys',
      () => ({ bundles: { 'spiffe://example.org': Buffer.from('{}') } }),
      'bundles["spiffe://example.org"]',
    ],
    [
      'an invalid trust domain key',
      () => ({ bundles: { 'spiffe://EXAMPLE': jwks(ca) } }),
      'bundles["spiffe://EXAMPLE"]',
    ],
    ['bytes that are not a protobuf message', () => Buffer.from([0x0a, 0x05, 0x01]), ''],
  ])('rejects a response with %s as ERR_WID_CLIENT_MALFORMED_RESPONSE', async (_, make, field) => {
    jwtBundlesResponse = make();
    const e = await rejection(newClient().fetchJwtBundles());
    expect(e).toMatchObject({ code: 'ERR_WID_CLIENT_MALFORMED_RESPONSE', method: 'FetchJWTBundles', field });
  });
});

describe('validateJwtSvid', () => {
  const audience = 'spiffe://example.org/api';
  const token = ca.issueJwtSvid({ spiffeId: WEB, audience: [audience] }).token;

  it('returns the token as a JwtSvid once the server accepted it', async () => {
    validateResponse = { spiffe_id: WEB, claims: null };
    const svid = await newClient().validateJwtSvid(token, audience);
    expect(svid.id.toString()).toBe(WEB);
    expect(svid.claims['sub']).toBe(WEB);
  });

  it('rejects an answer whose spiffe_id is not the token’s subject', async () => {
    validateResponse = { spiffe_id: DB, claims: null };
    const e = await rejection(newClient().validateJwtSvid(token, audience));
    expect(e).toMatchObject({
      code: 'ERR_WID_CLIENT_MALFORMED_RESPONSE',
      method: 'ValidateJWTSVID',
      field: 'spiffe_id',
    });
  });
});
