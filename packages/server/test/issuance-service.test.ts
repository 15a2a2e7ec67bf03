import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { loadWorkloadIdentities } from '@wid/rule-engine';
import {
  AUDIT_MAX_AUDIENCE_LENGTH,
  AUDIT_MAX_AUDIENCES,
  createIssuanceService,
  SERVER_ERROR_CODES,
  ServerError,
} from '@wid/server';
import { createCertificateAuthority, verifyX509Svid } from '@wid/svid-issuer';
import { describe, expect, it } from 'vitest';
import { auditSink, FakeTime, identities, memoryLogger, RULES, unix } from './helpers.js';

function setup(extra: { maxX509TtlSeconds?: number; maxJwtTtlSeconds?: number; caTtlSeconds?: number } = {}) {
  const time = new FakeTime();
  const ca = createCertificateAuthority({
    trustDomain: 'example.org',
    clock: time.clock,
    ...(extra.caTtlSeconds === undefined ? {} : { caTtlSeconds: extra.caTtlSeconds }),
  });
  const sink = auditSink();
  const logger = memoryLogger();
  const service = createIssuanceService({
    identities: identities(),
    ca,
    clock: time.clock,
    logger,
    auditSink: sink,
    ...(extra.maxX509TtlSeconds === undefined ? {} : { maxX509TtlSeconds: extra.maxX509TtlSeconds }),
    ...(extra.maxJwtTtlSeconds === undefined ? {} : { maxJwtTtlSeconds: extra.maxJwtTtlSeconds }),
  });
  return { time, ca, sink, logger, service };
}

describe('createIssuanceService', () => {
  it('issues an X.509-SVID for the given public key and audits it with the full attributes', async () => {
    const { service, ca, sink, logger, time } = setup();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const attributes = unix(1000, 42);
    const { credentials, denials } = await service.issueX509({
      attributes,
      join: { meta: { join_method: 'token' } },
      selector: { names: ['web'] },
      publicKey,
    });
    expect(denials).toEqual([]);
    expect(credentials).toHaveLength(1);
    const c = credentials[0]!;
    expect(c).toMatchObject({
      type: 'x509',
      spiffeId: 'spiffe://example.org/team/42/web',
      hint: 'web',
      resource: 'web',
      revision: service.identities().get('web')!.revision,
      ttlSeconds: 3600,
      privateKey: undefined,
      dnsSans: ['web.example.org'],
    });
    expect(c.expiresAt.getTime()).toBe(time.nowMs() + 3600_000);
    const leaf = new X509Certificate(c.certChain[0]!);
    expect(leaf.publicKey.equals(publicKey)).toBe(true);
    expect(leaf.serialNumber.toLowerCase()).toBe(c.serialNumber);
    const verified = verifyX509Svid([leaf], ca.x509Bundle(), { now: time.clock.now() });
    expect(verified.id.toString()).toBe('spiffe://example.org/team/42/web');

    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      type: 'svid.issued',
      svidType: 'x509',
      spiffeId: 'spiffe://example.org/team/42/web',
      serialNumber: c.serialNumber,
      hint: 'web',
      resource: 'web',
      revision: c.revision,
      attributes: { ...attributes, join: { meta: { join_method: 'token' } } },
    });
    const line = logger.lines.find((l) => l.msg === 'audit');
    expect(line?.obj.audit).toEqual(sink.events[0]);
    // No key material in the audit record.
    expect(JSON.stringify(logger.lines)).not.toMatch(/PRIVATE KEY/);
  });

  it('generates an EC P-256 key when the request carries none', async () => {
    const { service } = setup();
    const { credentials } = await service.issueX509({ attributes: unix(1000), selector: { names: ['web'] } });
    const key = credentials[0]!.privateKey!;
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new X509Certificate(credentials[0]!.certChain[0]!).checkPrivateKey(key)).toBe(true);
  });

  it('returns and audits denials with their machine-readable code when no rule matches', async () => {
    const { service, sink } = setup();
    const attributes = unix(1234);
    const { credentials, denials } = await service.issueX509({ attributes, selector: { labels: { env: ['prod'] } } });
    expect(credentials).toEqual([]);
    expect(denials.map((d) => [d.resource, d.code])).toEqual([
      ['web', 'ERR_WID_RULE_NO_RULE_MATCHED'],
      ['db', 'ERR_WID_RULE_NO_RULE_MATCHED'],
    ]);
    expect(sink.events.map((e) => [e.type, e.resource, e.code])).toEqual([
      ['svid.denied', 'web', 'ERR_WID_RULE_NO_RULE_MATCHED'],
      ['svid.denied', 'db', 'ERR_WID_RULE_NO_RULE_MATCHED'],
    ]);
    expect(sink.events[0]!.attributes).toEqual(attributes);
    expect(sink.events[0]!.reason).toBeTypeOf('string');
  });

  it('issues what is allowed and denies the rest under a label selector', async () => {
    const { service, sink } = setup();
    const { credentials, denials } = await service.issueX509({
      attributes: unix(2000),
      selector: { labels: { env: ['prod'] } },
    });
    expect(credentials.map((c) => c.spiffeId)).toEqual(['spiffe://example.org/db']);
    expect(denials.map((d) => d.resource)).toEqual(['web']);
    expect(sink.events.map((e) => e.type).sort()).toEqual(['svid.denied', 'svid.issued']);
  });

  it('clamps the X.509 TTL to the resource maximum, then to the service maximum', async () => {
    const { service } = setup();
    const a = await service.issueX509({ attributes: unix(1000), selector: { names: ['web'] }, ttlSeconds: 86_400 });
    expect(a.credentials[0]!.ttlSeconds).toBe(7200); // maximum_ttl: 2h
    const { service: capped } = setup({ maxX509TtlSeconds: 600 });
    const b = await capped.issueX509({ attributes: unix(1000), selector: { names: ['web'] }, ttlSeconds: 86_400 });
    expect(b.credentials[0]!.ttlSeconds).toBe(600);
  });

  it('clamps the X.509 TTL to the CA expiry', async () => {
    const { service } = setup({ caTtlSeconds: 1800 });
    const { credentials } = await service.issueX509({ attributes: unix(1000), selector: { names: ['web'] } });
    expect(credentials[0]!.ttlSeconds).toBeLessThanOrEqual(1800);
  });

  it('issues JWT-SVIDs with clamped TTL, jti in the audit event, and validates them', async () => {
    const { service, sink } = setup({ maxJwtTtlSeconds: 300 });
    const { credentials } = await service.issueJwt({
      attributes: unix(1000, 7),
      selector: { names: ['web', 'db'] },
      audience: ['api'],
      ttlSeconds: 3600,
    });
    expect(credentials).toHaveLength(1);
    const c = credentials[0]!;
    expect(c).toMatchObject({
      type: 'jwt',
      spiffeId: 'spiffe://example.org/team/7/web',
      ttlSeconds: 300,
      audience: ['api'],
    });
    expect(c.jti).not.toBe('');
    const issued = sink.events.find((e) => e.type === 'svid.issued')!;
    expect(issued).toMatchObject({ svidType: 'jwt', jti: c.jti, audience: ['api'], resource: 'web' });
    expect(JSON.stringify(sink.events)).not.toContain(c.token);
    const v = await service.validateJwtSvid(c.token, 'api');
    expect(v.spiffeId).toBe('spiffe://example.org/team/7/web');
    expect(v.claims.team).toBe('7');
    await expect(service.validateJwtSvid(c.token, 'other')).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_INVALID_JWT_SVID',
    });
    await expect(service.validateJwtSvid('not-a-token', 'api')).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_INVALID_JWT_SVID',
    });
  });

  it('bounds the audience list in the audit event: count, first 8 (each cut to 256 characters), digest of all', async () => {
    const { service, sink } = setup();
    const audience = [`${'é'.repeat(300)}`, ...Array.from({ length: 999 }, (_, i) => `aud-${i}`)];
    const { credentials } = await service.issueJwt({
      attributes: unix(1000, 7),
      selector: { names: ['web'] },
      audience,
    });
    expect(credentials[0]!.audience).toHaveLength(1000);
    const issued = sink.events.find((e) => e.type === 'svid.issued')!;
    expect(issued.audienceCount).toBe(1000);
    expect(issued.audienceTruncated).toBe(true);
    expect(issued.audience).toEqual([
      `${'é'.repeat(AUDIT_MAX_AUDIENCE_LENGTH)}…`,
      ...Array.from({ length: AUDIT_MAX_AUDIENCES - 1 }, (_, i) => `aud-${i}`),
    ]);
    expect(issued.audienceSha256).toBe(createHash('sha256').update(JSON.stringify(audience)).digest('hex'));
    expect(JSON.stringify(issued).length).toBeLessThan(4096);

    const small = await service.issueJwt({
      attributes: unix(1000, 7),
      selector: { names: ['web'] },
      audience: ['a', 'b'],
    });
    const event = sink.events.find((e) => e.type === 'svid.issued' && e.jti === small.credentials[0]!.jti)!;
    expect(event).toMatchObject({ audience: ['a', 'b'], audienceCount: 2, audienceTruncated: false });
    expect(event.audienceSha256).toBe(createHash('sha256').update('["a","b"]').digest('hex'));
  });

  it('filters JWT-SVIDs by spiffeId', async () => {
    const { service } = setup();
    const r = await service.issueJwt({
      attributes: unix(1000, 7),
      selector: { names: ['web'] },
      audience: ['api'],
      spiffeId: 'spiffe://example.org/other',
    });
    expect(r.credentials).toEqual([]);
  });

  it('decides without signing, with a key shared by equal decisions', async () => {
    const { service, sink } = setup();
    const a = await service.decide({ attributes: unix(1000, 5, 1), selector: { names: ['web'] } });
    const b = await service.decide({ attributes: unix(1000, 5, 2), selector: { names: ['web'] } });
    const c = await service.decide({ attributes: unix(1000, 6, 3), selector: { names: ['web'] } });
    expect(a.identities[0]!.key).toBe(b.identities[0]!.key);
    expect(a.identities[0]!.key).not.toBe(c.identities[0]!.key);
    expect(sink.events).toEqual([]);
  });

  it('rejects bad requests with ERR_WID_SERVER_INVALID_REQUEST naming the field', async () => {
    const { service } = setup();
    await expect(service.issueX509({ attributes: unix(1000), selector: {} as never })).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_INVALID_REQUEST',
      key: 'selector',
    });
    await expect(
      service.issueJwt({ attributes: unix(1000), selector: { names: ['web'] }, audience: [] }),
    ).rejects.toMatchObject({ code: 'ERR_WID_SERVER_INVALID_REQUEST', key: 'audience' });
    await expect(
      service.issueX509({ attributes: unix(1000), selector: { names: ['web'] }, ttlSeconds: 0 }),
    ).rejects.toMatchObject({ code: 'ERR_WID_SERVER_INVALID_REQUEST', key: 'ttlSeconds' });
  });

  it('rejects identities of another trust domain', () => {
    const ca = createCertificateAuthority({ trustDomain: 'other.org' });
    expect(() => createIssuanceService({ ca, identities: identities() })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_SERVER_INVALID_OPTION', key: 'identities' }),
    );
  });

  it('replaces the rules with setIdentities and notifies listeners', async () => {
    const { service } = setup();
    let calls = 0;
    const off = service.onIdentitiesChange(() => calls++);
    service.setIdentities(
      loadWorkloadIdentities(RULES.replace('uid == 1000', 'uid == 1001'), { trustDomain: 'example.org' }),
    );
    expect(calls).toBe(1);
    const r = await service.issueX509({ attributes: unix(1000), selector: { names: ['web'] } });
    expect(r.credentials).toEqual([]);
    expect(r.denials[0]!.code).toBe('ERR_WID_RULE_NO_RULE_MATCHED');
    off();
    service.setIdentities(identities());
    expect(calls).toBe(1);
  });

  it('reports bundle changes on CA rotation', async () => {
    const { service, ca, time } = setup({ caTtlSeconds: 3600 });
    const seen: bigint[] = [];
    service.onBundleChange((b) => seen.push(b.sequence ?? 0n));
    await time.advance(1800_000); // prepareAt 1/2: the next authority is published
    ca.rotateIfNeeded();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe((await service.bundle()).sequence);
  });

  it('wraps signing failures in ERR_WID_SERVER_SIGNING_FAILED', async () => {
    const { service, ca } = setup();
    (ca as { issueX509Svid: unknown }).issueX509Svid = () => {
      throw new Error('boom');
    };
    await expect(service.issueX509({ attributes: unix(1000), selector: { names: ['web'] } })).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof ServerError && e.code === 'ERR_WID_SERVER_SIGNING_FAILED' && e.spiffeId !== undefined,
    );
  });
});

describe('SERVER_ERROR_CODES', () => {
  it('documents every code with a non-empty text', () => {
    for (const [code, text] of Object.entries(SERVER_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_WID_[A-Z0-9_]+$/);
      expect(text.length).toBeGreaterThan(20);
    }
  });
});
