import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectoryStorage, createMemoryStorage, openCertificateAuthority, type Storage } from '@wid/server';
import { verifyX509Svid } from '@wid/svid-issuer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTime } from './helpers.js';

const HOUR = 3600_000;

describe('openCertificateAuthority', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'wid-server-ca-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the CA on first start, stores it, and reuses it on restart (old SVIDs still verify)', async () => {
    const time = new FakeTime();
    const storage = createDirectoryStorage({ path: root });
    const first = await openCertificateAuthority({
      storage,
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
    });
    expect(first.created).toBe(true);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const svid = first.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', publicKey });
    await first.close();
    expect(time.pendingCount).toBe(0);

    const second = await openCertificateAuthority({
      storage: createDirectoryStorage({ path: root }),
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
    });
    expect(second.created).toBe(false);
    expect(second.ca.x509Authorities().map((a) => a.id)).toEqual(first.ca.x509Authorities().map((a) => a.id));
    expect(verifyX509Svid(svid.certificates, second.ca.x509Bundle(), { now: time.clock.now() }).id.toString()).toBe(
      'spiffe://example.org/web',
    );
    await second.close();
  });

  it('refuses state of another trust domain', async () => {
    const storage = createMemoryStorage();
    await (await openCertificateAuthority({ storage, trustDomain: 'example.org' })).close();
    await expect(openCertificateAuthority({ storage, trustDomain: 'other.org' })).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_CA_STATE',
    });
  });

  it('refuses unreadable state', async () => {
    const storage = createMemoryStorage();
    await storage.put('ca.json', new TextEncoder().encode('{not json'));
    await expect(openCertificateAuthority({ storage, trustDomain: 'example.org' })).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_CA_STATE',
    });
  });

  it('rotates on schedule from its timer and persists every rotation', async () => {
    const time = new FakeTime();
    const writes: string[] = [];
    const inner = createMemoryStorage();
    const storage: Storage = {
      get: (k) => inner.get(k),
      delete: (k) => inner.delete(k),
      put: async (k, b) => {
        writes.push(k);
        await inner.put(k, b);
      },
    };
    const managed = await openCertificateAuthority({
      storage,
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
      ca: { caTtlSeconds: 6 * 3600 },
    });
    expect(writes).toEqual(['ca.json']);
    const [original] = managed.ca.x509Authorities();
    // The timer is armed for the prepare threshold (1/2 of the 6 h lifetime, minus the CA's 1 min backdate).
    expect(managed.nextRotationAt()!.getTime()).toBe(managed.ca.nextRotationAt().getTime());
    expect(managed.nextRotationAt()!.getTime() - time.nowMs()).toBeLessThanOrEqual(3 * HOUR);

    await time.advance(3 * HOUR);
    await managed.flushed();
    expect(managed.ca.x509Authorities().map((a) => a.status)).toEqual(['active', 'prepared']);
    // X.509 authority (backdated 1 min) and JWT key prepare at slightly different times: one write each.
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(managed.ca.jwtKeys().map((k) => k.status)).toEqual(['active', 'prepared']);
    const stored = JSON.parse(new TextDecoder().decode(await inner.get('ca.json')));
    expect(stored.x509Authorities.map((a: { status: string }) => a.status)).toEqual(['active', 'prepared']);

    await time.advance(HOUR);
    // Signed by the original authority and valid past its retirement, so it stays in the bundle as retired.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    managed.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', publicKey, ttlSeconds: 2 * 3600 });
    await time.advance(HOUR); // past 5/6: the prepared one becomes active
    await managed.flushed();
    const statuses = managed.ca.x509Authorities();
    expect(statuses.find((a) => a.status === 'active')!.id).not.toBe(original!.id);
    expect(statuses.find((a) => a.id === original!.id)!.status).toBe('retired');
    const stored2 = JSON.parse(new TextDecoder().decode(await inner.get('ca.json')));
    expect(stored2.x509Authorities.map((a: { status: string }) => a.status)).toEqual(['retired', 'active']);
    expect(writes.length).toBeGreaterThanOrEqual(3);
    await managed.close();
  });

  it('keeps a restored active authority in the bundle after retirement until its own expiry', async () => {
    const time = new FakeTime();
    const storage = createMemoryStorage();
    const first = await openCertificateAuthority({
      storage,
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
      ca: { caTtlSeconds: 6 * 3600 },
    });
    // Crash: no close(), so the stored state predates this issuance.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const svid = first.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', publicKey, ttlSeconds: 4 * 3600 });
    const second = await openCertificateAuthority({
      storage,
      trustDomain: 'example.org',
      clock: time.clock,
      timers: time,
      ca: { caTtlSeconds: 6 * 3600 },
    });
    await time.advance(5.5 * HOUR);
    await second.flushed();
    expect(second.ca.x509Authorities()).toHaveLength(2);
    // After the restart the old authority is still trusted while the SVID it signed is valid.
    expect(() =>
      verifyX509Svid(svid.certificates, second.ca.x509Bundle(), { now: new Date(time.nowMs() - 2 * HOUR) }),
    ).not.toThrow();
    await second.close();
    await first.close();
  });
});
