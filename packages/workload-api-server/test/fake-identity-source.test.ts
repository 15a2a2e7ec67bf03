import { isWidError } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';
import { FakeWorkloadIdentitySource } from '../src/testing/index.js';
import { context, svid, TD } from './helpers.js';

async function first<T>(iterable: AsyncIterable<T>): Promise<{ value: T; iterator: AsyncIterator<T> }> {
  const iterator = iterable[Symbol.asyncIterator]();
  const r = await iterator.next();
  if (r.done) throw new Error('ended');
  return { value: r.value, iterator };
}

describe('FakeWorkloadIdentitySource', () => {
  it('yields the current context at once, the newest on rotation, and ends on abort', async () => {
    const ctx1 = context([svid('web')]);
    const fake = new FakeWorkloadIdentitySource({ x509Context: ctx1 });
    const ac = new AbortController();
    const { value, iterator } = await first(fake.watchX509Context({}, ac.signal));
    expect(value).toBe(ctx1);
    expect(fake.watcherCount).toBe(1);
    const ctx2 = context([svid('web', undefined, 2)]);
    const ctx3 = context([svid('web', undefined, 3)]);
    fake.setX509Context(ctx2);
    fake.setX509Context(ctx3); // full-state: a slow reader sees only the newest
    expect((await iterator.next()).value).toBe(ctx3);
    const pending = iterator.next();
    ac.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(fake.watcherCount).toBe(0);
  });

  it('derives X.509 bundles from the context unless given', async () => {
    const fake = new FakeWorkloadIdentitySource({ x509Context: context([svid('web')], { 'spiffe://b.org': 'b' }) });
    const { value } = await first(fake.watchX509Bundles(new AbortController().signal, {}));
    expect([...value.bundles.keys()]).toEqual([TD, 'spiffe://b.org']);
  });

  it('filters SVIDs per caller and denies callers with ERR_WID_WORKLOAD_NO_IDENTITY', async () => {
    const fake = new FakeWorkloadIdentitySource({
      x509Context: context([svid('a'), svid('b')]),
      selectSvids: (s, attrs) => s.spiffeId.endsWith(String(attrs.who)),
    });
    const { value } = await first(fake.watchX509Context({ who: 'b' }, new AbortController().signal));
    expect(value.svids.map((s) => s.spiffeId)).toEqual([`${TD}/b`]);
    fake.setAllow((attrs) => attrs.who !== 'a');
    await expect(fake.fetchJwtSvids({ who: 'a' }, { audience: ['x'] })).rejects.toSatisfy((e) =>
      isWidError(e, 'ERR_WID_WORKLOAD_NO_IDENTITY'),
    );
    expect(fake.calls.map((c) => c.method)).toEqual(['watchX509Context', 'fetchJwtSvids']);
  });

  it('pushes a denial or failure into open streams', async () => {
    const fake = new FakeWorkloadIdentitySource({ x509Context: context([svid('a')]) });
    const { iterator } = await first(fake.watchJwtBundles(new AbortController().signal, {}));
    const failure = new Error('down');
    fake.failWith(failure);
    await expect(iterator.next()).rejects.toBe(failure);
    expect(fake.watcherCount).toBe(0);
  });

  it('mints canned tokens its default validator accepts for the right audience only', async () => {
    const fake = new FakeWorkloadIdentitySource({ x509Context: context([svid('a', 'h')]) });
    const [jwt] = await fake.fetchJwtSvids({}, { audience: ['api'] });
    expect(jwt).toMatchObject({ spiffeId: `${TD}/a`, hint: 'h' });
    const ok = await fake.validateJwtSvid(jwt!.token, 'api', {});
    expect(ok.spiffeId).toBe(`${TD}/a`);
    await expect(fake.validateJwtSvid(jwt!.token, 'other', {})).rejects.toSatisfy((e) =>
      isWidError(e, 'ERR_WID_WORKLOAD_INVALID_TOKEN'),
    );
    await expect(fake.validateJwtSvid('not-a-token', 'api', {})).rejects.toSatisfy((e) =>
      isWidError(e, 'ERR_WID_WORKLOAD_INVALID_TOKEN'),
    );
  });

  it('waitForWatchers resolves once enough streams are open', async () => {
    const fake = new FakeWorkloadIdentitySource({ x509Context: context([svid('a')]) });
    const waiting = fake.waitForWatchers(2);
    const ac = new AbortController();
    await first(fake.watchX509Context({}, ac.signal));
    await first(fake.watchJwtBundles(ac.signal, {}));
    await waiting;
    ac.abort();
    expect(fake.watcherCount).toBe(0);
  });
});
