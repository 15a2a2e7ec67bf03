import { X509Certificate } from 'node:crypto';
import { loadWorkloadIdentities } from '@wid/rule-engine';
import {
  createIssuanceService,
  createMemoryStorage,
  createWorkloadIdentityCache,
  openCertificateAuthority,
  type X509Context,
} from '@wid/server';
import { type CertificateAuthority, createCertificateAuthority, X509Bundle } from '@wid/svid-issuer';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime, identities, memoryLogger, RULES, settle, unix } from './helpers.js';

const MIN = 60_000;

function countSignings(ca: CertificateAuthority) {
  const counter = { count: 0, fail: false };
  const original = ca.issueX509Svid.bind(ca);
  (ca as { issueX509Svid: unknown }).issueX509Svid = (request: Parameters<typeof original>[0]) => {
    if (counter.fail) throw new Error('CA unreachable');
    counter.count++;
    return original(request);
  };
  return counter;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(
  options: {
    caTtlSeconds?: number;
    retry?: { initialDelayMs: number; maxDelayMs: number };
    renewAfterSeconds?: number;
    maxJwtEntries?: number;
  } = {},
) {
  const time = new FakeTime();
  const ca = createCertificateAuthority({
    trustDomain: 'example.org',
    clock: time.clock,
    ...(options.caTtlSeconds === undefined ? {} : { caTtlSeconds: options.caTtlSeconds }),
  });
  const signings = countSignings(ca);
  const issuance = createIssuanceService({ identities: identities(), ca, clock: time.clock });
  const logger = memoryLogger();
  const cache = createWorkloadIdentityCache({
    issuance,
    selector: { labels: { env: ['prod'] } },
    clock: time.clock,
    timers: time,
    logger,
    renewJitter: 0,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.renewAfterSeconds === undefined ? {} : { renewAfterSeconds: options.renewAfterSeconds }),
    ...(options.maxJwtEntries === undefined ? {} : { maxJwtEntries: options.maxJwtEntries }),
  });
  const controller = new AbortController();
  cleanups.push(() => {
    controller.abort();
    cache.close();
  });
  const open = (attributes: Record<string, unknown>) =>
    cache.watchX509Context(attributes, controller.signal)[Symbol.asyncIterator]() as AsyncIterator<
      X509Context,
      undefined
    >;
  return { time, ca, signings, issuance, cache, logger, open, controller };
}

const leafSerial = (ctx: X509Context) => new X509Certificate(ctx.svids[0]!.certChain[0]!).serialNumber;

describe('createWorkloadIdentityCache', () => {
  it('shares one signature between processes that earn the same identity', async () => {
    const { open, signings, cache } = setup();
    const [a, b] = await Promise.all([open(unix(1000, 10, 1)).next(), open(unix(1000, 10, 2)).next()]);
    const c = await open(unix(1000, 10, 3)).next();
    expect(signings.count).toBe(1);
    for (const r of [a, b, c]) {
      expect(r.done).toBe(false);
      expect(r.value!.svids.map((s) => [s.spiffeId, s.hint])).toEqual([['spiffe://example.org/team/10/web', 'web']]);
    }
    expect(leafSerial(b.value!)).toBe(leafSerial(a.value!));
    expect(Buffer.from(c.value!.svids[0]!.privateKey)).toEqual(Buffer.from(a.value!.svids[0]!.privateKey));
    expect(cache.stats()).toMatchObject({ x509Entries: 1, x509Streams: 3, x509Issued: 1 });

    // A different decision (another gid → another SPIFFE ID) is a second entry.
    await open(unix(1000, 11, 4)).next();
    expect(signings.count).toBe(2);
    expect(cache.stats().x509Entries).toBe(2);
  });

  it('serves a key pair that matches the certificate and a bundle that verifies it', async () => {
    const { open, ca } = setup();
    const { value } = await open(unix(1000)).next();
    const svid = value!.svids[0]!;
    const leaf = new X509Certificate(svid.certChain[0]!);
    const { createPrivateKey } = await import('node:crypto');
    expect(
      leaf.checkPrivateKey(createPrivateKey({ key: Buffer.from(svid.privateKey), format: 'der', type: 'pkcs8' })),
    ).toBe(true);
    expect(svid.bundle.map((d) => Buffer.from(d))).toEqual(
      ca
        .x509Bundle()
        .x509Authorities()
        .map((c) => c.raw),
    );
    expect(
      X509Bundle.fromX509Authorities(
        'example.org',
        svid.bundle.map((d) => new X509Certificate(d)),
      ).x509Authorities(),
    ).toHaveLength(1);
  });

  it('renews once at half-life and pushes the renewal to every open stream', async () => {
    const { open, signings, time, cache } = setup();
    const s1 = open(unix(1000, 10, 1));
    const s2 = open(unix(1000, 10, 2));
    const first = (await s1.next()).value!;
    await s2.next();
    expect(signings.count).toBe(1);
    // One renewal timer for the one cached SVID, not one per stream.
    expect(time.pendingCount).toBe(1);
    expect(time.dueTimes()[0]! - time.nowMs()).toBe(30 * MIN); // TTL 1 h, jitter 0

    const n1 = s1.next();
    const n2 = s2.next();
    await time.advance(30 * MIN - 1000);
    expect(signings.count).toBe(1);
    await time.advance(1000);
    const [r1, r2] = await Promise.all([n1, n2]);
    expect(signings.count).toBe(2);
    expect(leafSerial(r1.value!)).not.toBe(leafSerial(first));
    expect(leafSerial(r2.value!)).toBe(leafSerial(r1.value!));
    expect(cache.stats()).toMatchObject({ x509Entries: 1, x509Issued: 2 });
  });

  it('renews after renewAfterSeconds when that comes before half-life (tbot renewal_interval)', async () => {
    const { open, signings, time } = setup({ renewAfterSeconds: 10 * 60 });
    const s1 = open(unix(1000, 10, 1));
    const first = (await s1.next()).value!;
    expect(time.dueTimes()[0]! - time.nowMs()).toBe(10 * MIN);
    const next = s1.next();
    await time.advance(10 * MIN);
    expect(signings.count).toBe(2);
    expect(leafSerial((await next).value!)).not.toBe(leafSerial(first));
  });

  it('rejects a renewAfterSeconds that is not a positive number', () => {
    const time = new FakeTime();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', clock: time.clock });
    const issuance = createIssuanceService({ identities: identities(), ca, clock: time.clock });
    for (const bad of [0, -5, Number.NaN]) {
      expect(() =>
        createWorkloadIdentityCache({ issuance, selector: { names: ['web'] }, renewAfterSeconds: bad }),
      ).toThrow(expect.objectContaining({ code: 'ERR_WID_SERVER_INVALID_OPTION', key: 'renewAfterSeconds' }));
    }
  });

  it('renews with jitter within ±jitter/2 of half the lifetime', async () => {
    const time = new FakeTime();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', clock: time.clock });
    const issuance = createIssuanceService({ identities: identities(), ca, clock: time.clock });
    for (const [random, expected] of [
      [0, 27 * MIN],
      [0.999999, 33 * MIN],
    ] as const) {
      const t = new FakeTime(time.nowMs());
      const cache = createWorkloadIdentityCache({
        issuance,
        selector: { names: ['web'] },
        clock: time.clock,
        timers: t,
        renewJitter: 0.1,
        random: () => random,
      });
      const controller = new AbortController();
      await cache.watchX509Context(unix(1000), controller.signal)[Symbol.asyncIterator]().next();
      expect(Math.round((t.dueTimes()[0]! - time.nowMs()) / 1000)).toBe(expected / 1000);
      controller.abort();
      cache.close();
    }
  });

  it('keeps serving the cached SVID when renewal fails, retries with backoff, and logs', async () => {
    const { open, signings, time, logger, cache } = setup({ retry: { initialDelayMs: 1000, maxDelayMs: 4000 } });
    const s1 = open(unix(1000, 10, 1));
    const first = (await s1.next()).value!;
    const pending = s1.next();
    signings.fail = true;
    await time.advance(30 * MIN);
    expect(cache.stats().failures).toBe(1);
    const warn = logger.lines.find((l) => l.level === 'warn' && l.msg?.includes('cannot renew'));
    expect(warn?.obj).toMatchObject({
      spiffeId: 'spiffe://example.org/team/10/web',
      stillValid: true,
      retryInMs: 1000,
    });

    // A new process with the same identity still gets the cached (valid) SVID, without a signature.
    const late = (await open(unix(1000, 10, 2)).next()).value!;
    expect(leafSerial(late)).toBe(leafSerial(first));

    await time.advance(1000); // retry 1: fails again, next in 2 s
    await time.advance(2000); // retry 2: fails again, next in 4 s
    expect(cache.stats().failures).toBe(3);
    const delays = logger.lines.filter((l) => l.msg?.includes('cannot renew')).map((l) => l.obj.retryInMs);
    expect(delays).toEqual([1000, 2000, 4000]);

    signings.fail = false;
    await time.advance(4000);
    const renewed = (await pending).value!;
    expect(leafSerial(renewed)).not.toBe(leafSerial(first));
    expect(signings.count).toBe(2);
  });

  it('pushes CA rotation (bundle changes) to X.509 context and bundle streams', async () => {
    const time = new FakeTime();
    const managed = await openCertificateAuthority({
      storage: createMemoryStorage(),
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
      ca: { caTtlSeconds: 4 * 3600 },
    });
    const issuance = createIssuanceService({ identities: identities(), ca: managed.ca, clock: time.clock });
    const cache = createWorkloadIdentityCache({
      issuance,
      selector: { names: ['web'] },
      clock: time.clock,
      timers: time,
      renewJitter: 0,
      ttlSeconds: 6 * 3600,
    });
    const controller = new AbortController();
    cleanups.push(async () => {
      controller.abort();
      cache.close();
      await managed.close();
    });
    const x509 = cache.watchX509Context(unix(1000), controller.signal)[Symbol.asyncIterator]();
    const bundles = cache.watchX509Bundles(controller.signal)[Symbol.asyncIterator]();
    const jwtBundles = cache.watchJwtBundles(controller.signal)[Symbol.asyncIterator]();
    expect((await x509.next()).value!.svids[0]!.bundle).toHaveLength(1);
    expect((await bundles.next()).value!.bundles.get('spiffe://example.org')).toHaveLength(1);
    const jwks0 = JSON.parse(
      new TextDecoder().decode((await jwtBundles.next()).value!.bundles.get('spiffe://example.org')),
    );
    expect(jwks0.keys).toHaveLength(1);

    const nx = x509.next();
    const nb = bundles.next();
    const nj = jwtBundles.next();
    await time.advance(2 * 3600_000); // prepareAt 1/2 of 4 h: the next authority is published
    // The context stream also saw the SVID renewal at half-life (1 h of the 2 h maximum_ttl): read up to the rotation.
    const seen = [(await nx).value!];
    while (seen.at(-1)!.svids[0]!.bundle.length < 2 && seen.length < 3) seen.push((await x509.next()).value!);
    expect(seen.map((c) => c.svids[0]!.bundle.length)).toEqual([1, 2]);
    expect((await nb).value!.bundles.get('spiffe://example.org')).toHaveLength(2);
    // The JWT key prepares 1 min after the (backdated) X.509 authority: two bundle changes.
    const keys = (r: IteratorResult<{ bundles: ReadonlyMap<string, Uint8Array> }>) =>
      JSON.parse(new TextDecoder().decode(r.value!.bundles.get('spiffe://example.org'))).keys.length as number;
    const jwtSeen = [keys(await nj)];
    while (jwtSeen.at(-1)! < 2 && jwtSeen.length < 3) jwtSeen.push(keys(await jwtBundles.next()));
    expect(jwtSeen.at(-1)).toBe(2);
  });

  it('throws ERR_WID_WORKLOAD_NO_IDENTITY with the denials when nothing is granted', async () => {
    const { open, signings } = setup();
    await expect(open(unix(31337)).next()).rejects.toMatchObject({
      code: 'ERR_WID_WORKLOAD_NO_IDENTITY',
      denials: [
        expect.objectContaining({ resource: 'web', code: 'ERR_WID_RULE_NO_RULE_MATCHED' }),
        expect.objectContaining({ resource: 'db', code: 'ERR_WID_RULE_NO_RULE_MATCHED' }),
      ],
    });
    expect(signings.count).toBe(0);
  });

  it('ends an open stream with ERR_WID_WORKLOAD_NO_IDENTITY when a rule reload revokes the identity', async () => {
    const { open, issuance } = setup();
    const s = open(unix(1000));
    await s.next();
    const next = s.next();
    issuance.setIdentities(
      loadWorkloadIdentities(RULES.replace('uid == 1000', 'uid == 1001'), { trustDomain: 'example.org' }),
    );
    await expect(next).rejects.toMatchObject({ code: 'ERR_WID_WORKLOAD_NO_IDENTITY' });
  });

  it('pushes a re-decided SVID when a rule reload changes the identity', async () => {
    const { open, issuance, signings } = setup();
    const s = open(unix(1000));
    await s.next();
    const next = s.next();
    issuance.setIdentities(loadWorkloadIdentities(RULES.replace('/team/', '/group/'), { trustDomain: 'example.org' }));
    expect((await next).value!.svids[0]!.spiffeId).toBe('spiffe://example.org/group/10/web');
    expect(signings.count).toBe(2);
  });

  it('evicts an entry no stream uses once it has expired, and stops its timers', async () => {
    const { time, cache, issuance } = setup();
    const controller = new AbortController();
    const s = cache.watchX509Context(unix(1000), controller.signal)[Symbol.asyncIterator]();
    await s.next();
    const pending = s.next();
    controller.abort();
    expect((await pending).done).toBe(true);
    expect(cache.stats()).toMatchObject({ x509Streams: 0, x509Entries: 1 });
    await time.advance(30 * MIN); // half-life: nobody holds it, so no renewal
    expect(cache.stats()).toMatchObject({ x509Entries: 1, x509Issued: 1 });
    await time.advance(30 * MIN);
    expect(cache.stats().x509Entries).toBe(0);
    expect(time.pendingCount).toBe(0);
    expect(issuance).toBeDefined();
  });

  it('caches JWT-SVIDs per identity and audience until half their lifetime', async () => {
    const { cache, time } = setup();
    const a = await cache.fetchJwtSvids(unix(1000, 10, 1), { audience: ['api'] });
    const b = await cache.fetchJwtSvids(unix(1000, 10, 2), { audience: ['api'] });
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ spiffeId: 'spiffe://example.org/team/10/web', hint: 'web' });
    expect(b[0]!.token).toBe(a[0]!.token);
    const c = await cache.fetchJwtSvids(unix(1000), { audience: ['other'] });
    expect(c[0]!.token).not.toBe(a[0]!.token);
    await time.advance(5 * MIN); // maximum_ttl 10m: half-life reached
    const d = await cache.fetchJwtSvids(unix(1000), { audience: ['api'] });
    expect(d[0]!.token).not.toBe(a[0]!.token);

    expect((await cache.validateJwtSvid(d[0]!.token, 'api')).spiffeId).toBe('spiffe://example.org/team/10/web');
    await expect(cache.validateJwtSvid(d[0]!.token, 'nope')).rejects.toMatchObject({
      code: 'ERR_WID_WORKLOAD_INVALID_TOKEN',
    });
    await expect(
      cache.fetchJwtSvids(unix(1000), { audience: ['api'], spiffeId: 'spiffe://example.org/db' }),
    ).rejects.toMatchObject({ code: 'ERR_WID_WORKLOAD_NO_IDENTITY' });
  });

  it('never keeps more JWT-SVIDs than maxJwtEntries, evicting the least recently used', async () => {
    const { cache, time } = setup({ maxJwtEntries: 8 });
    const first = await cache.fetchJwtSvids(unix(1000), { audience: ['keep'] });
    const dropped = await cache.fetchJwtSvids(unix(1000), { audience: ['old'] });
    for (let i = 0; i < 100; i++) {
      await cache.fetchJwtSvids(unix(1000), { audience: [`aud-${i}`, 'x'.repeat(i + 1)] });
      expect(cache.stats().jwtEntries).toBeLessThanOrEqual(8);
      // 'keep' stays recently used, so it is never evicted (and stays well within its half-life).
      if (i % 4 === 0) {
        expect((await cache.fetchJwtSvids(unix(1000), { audience: ['keep'] }))[0]!.token).toBe(first[0]!.token);
      }
      if (i % 10 === 0) await time.advance(1000);
    }
    expect(cache.stats().jwtEntries).toBe(8);
    // 'old' was evicted: asking again signs a new token.
    const again = await cache.fetchJwtSvids(unix(1000), { audience: ['old'] });
    expect(again[0]!.token).not.toBe(dropped[0]!.token);
    expect(cache.stats().jwtEntries).toBe(8);
  });

  it('caches one JWT-SVID per canonical audience list (order and repeats do not matter)', async () => {
    const { cache } = setup();
    const a = await cache.fetchJwtSvids(unix(1000), { audience: ['b', 'a'] });
    const b = await cache.fetchJwtSvids(unix(1000), { audience: ['a', 'b', 'a'] });
    expect(b[0]!.token).toBe(a[0]!.token);
    expect(cache.stats().jwtEntries).toBe(1);
  });

  it('rejects a bad maxJwtEntries', () => {
    const time = new FakeTime();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', clock: time.clock });
    const issuance = createIssuanceService({ identities: identities(), ca });
    for (const bad of [0, 1.5, -1, Number.NaN]) {
      expect(() => createWorkloadIdentityCache({ issuance, selector: { names: ['web'] }, maxJwtEntries: bad })).toThrow(
        expect.objectContaining({ code: 'ERR_WID_SERVER_INVALID_OPTION', key: 'maxJwtEntries' }),
      );
    }
  });

  it('ends every stream on close', async () => {
    const { open, cache, time } = setup();
    const s = open(unix(1000));
    await s.next();
    const pending = s.next();
    cache.close();
    expect((await pending).done).toBe(true);
    await settle();
    expect(cache.stats().x509Streams).toBe(0);
    expect(time.pendingCount).toBe(0);
    await expect(open(unix(1000)).next()).rejects.toMatchObject({ code: 'ERR_WID_SERVER_CLOSED' });
  });

  it('rejects a bad selector', () => {
    const time = new FakeTime();
    const ca = createCertificateAuthority({ trustDomain: 'example.org', clock: time.clock });
    const issuance = createIssuanceService({ identities: identities(), ca });
    expect(() => createWorkloadIdentityCache({ issuance, selector: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_SERVER_INVALID_OPTION', key: 'selector' }),
    );
  });
});
