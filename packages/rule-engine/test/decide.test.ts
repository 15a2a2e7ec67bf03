import {
  type Decision,
  decide,
  explain,
  loadWorkloadIdentities,
  type WorkloadIdentityResource,
} from '@wid/rule-engine';
import { SpiffeId } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';
import { ATTRS, decideOne, load, resource, TD, thrown } from './helpers.js';

const names = (ds: Decision[]) => ds.map((d) => `${d.resource}:${d.kind}`);

describe('decide: selection', () => {
  const set = load([
    resource('web-prod', { labels: { app: 'web', env: 'prod' } }),
    resource('web-dev', { labels: { app: 'web', env: 'dev' } }),
    resource('db-prod', { labels: { app: 'db', env: 'prod' } }),
    resource('nolabels'),
    resource('cache', { labels: { app: 'cache', env: 'prod', tier: 'x' } }),
  ]);

  it('selects by names, in request order, once each', () => {
    expect(names(decide(set, ATTRS, { names: ['db-prod', 'web-prod', 'db-prod'] }))).toEqual([
      'db-prod:issue',
      'web-prod:issue',
    ]);
  });

  it('denies a requested name that does not exist, without failing the others', () => {
    const ds = decide(set, ATTRS, { names: ['nope', 'cache'] });
    expect(ds[0]).toMatchObject({
      kind: 'deny',
      resource: 'nope',
      code: 'ERR_WID_RULE_IDENTITY_NOT_FOUND',
      revision: undefined,
    });
    expect(ds[1]?.kind).toBe('issue');
  });

  it.each([
    [{ env: ['prod'] }, ['web-prod', 'db-prod', 'cache']],
    [{ env: ['prod'], app: ['web'] }, ['web-prod']],
    [{ app: ['web', 'db'] }, ['web-prod', 'web-dev', 'db-prod']],
    [{ app: ['web', 'db'], env: ['dev', 'nope'] }, ['web-dev']],
    [{ tier: ['*'] }, ['cache']],
    [{ app: ['*'], env: ['prod'] }, ['web-prod', 'db-prod', 'cache']],
    [{ '*': ['*'] }, ['web-prod', 'web-dev', 'db-prod', 'nolabels', 'cache']],
    [{ '*': ['*'], env: ['dev'] }, ['web-dev']],
    [{ env: ['staging'] }, []],
    [{ missing: ['x'] }, []],
    [{ missing: ['*'] }, []],
    [{ env: ['prod'], missing: ['x'] }, []],
  ])('selects by labels %j', (labelSelectors, want) => {
    expect(decide(set, ATTRS, { labelSelectors }).map((d) => d.resource)).toEqual(want);
    expect(set.select({ labelSelectors }).map((w) => w.name)).toEqual(want);
  });

  it('selecting nothing is an error, as in tbot', () => {
    for (const req of [{}, { names: [] }, { labelSelectors: {} }, { names: [], labelSelectors: {} }]) {
      expect(thrown(() => decide(set, ATTRS, req)).code).toBe('ERR_WID_RULE_NO_SELECTOR');
    }
  });

  it.each([
    [{ names: ['a'], labelSelectors: { env: ['prod'] } }],
    [{ names: 'web-prod' }],
    [{ names: [''] }],
    [{ names: [1] }],
    [{ labelSelectors: { env: [] } }],
    [{ labelSelectors: { env: 'prod' } }],
    [{ labelSelectors: { env: [1] } }],
    [{ labelSelectors: { '*': ['prod'] } }],
    [{ labelSelectors: [] }],
    [{ names: ['web-prod'], ttlSeconds: 0 }],
    [{ names: ['web-prod'], ttlSeconds: -5 }],
    [{ names: ['web-prod'], ttlSeconds: 1.5 }],
    [{ names: ['web-prod'], ttlSeconds: '60' }],
    [{ names: ['web-prod'], maxIdentities: 0 }],
    [{ names: ['web-prod'], svidType: 'x' }],
  ])('rejects the malformed request %j', (req) => {
    expect(thrown(() => decide(set, ATTRS, req as never)).code).toBe('ERR_WID_RULE_INVALID_REQUEST');
  });

  it('rejects something that is not a loaded set', () => {
    expect(thrown(() => decide({} as never, ATTRS, { names: ['a'] })).code).toBe('ERR_WID_RULE_INVALID_REQUEST');
    expect(thrown(() => decide(set, ATTRS, null as never)).code).toBe('ERR_WID_RULE_INVALID_REQUEST');
  });
});

describe('decide: identity cap', () => {
  const many = (n: number, extra: Partial<WorkloadIdentityResource['spec']> = {}) =>
    Array.from({ length: n }, (_, i) => ({
      ...resource(`r${i}`, { labels: { env: 'prod' } }),
      spec: { ...resource(`r${i}`).spec, ...extra },
    }));

  it('allows 10 identities by default and throws beyond', () => {
    expect(decide(load(many(10)), ATTRS, { labelSelectors: { env: ['prod'] } })).toHaveLength(10);
    const e = thrown(() => decide(load(many(11)), ATTRS, { labelSelectors: { env: ['prod'] } }));
    expect([e.code, e.limit]).toEqual(['ERR_WID_RULE_TOO_MANY_IDENTITIES', 10]);
    expect(e.message).toContain('more specific label selectors');
  });

  it('counts issued identities only: denials do not count', () => {
    const denied = many(20, { rules: { allow: [{ expression: 'false' }] } });
    const set = load([...denied, ...many(1).map((r) => ({ ...r, metadata: { ...r.metadata, name: 'ok' } }))]);
    const ds = decide(set, ATTRS, { labelSelectors: { env: ['prod'] } });
    expect(ds).toHaveLength(21);
    expect(ds.filter((d) => d.kind === 'issue')).toHaveLength(1);
  });

  it('is configurable per set and per request', () => {
    const set = loadWorkloadIdentities(many(3), { trustDomain: TD, maxIdentities: 2 });
    expect(set.maxIdentities).toBe(2);
    expect(thrown(() => decide(set, ATTRS, { labelSelectors: { env: ['prod'] } })).limit).toBe(2);
    expect(decide(set, ATTRS, { labelSelectors: { env: ['prod'] }, maxIdentities: 3 })).toHaveLength(3);
    expect(
      thrown(() => decide(load(many(3)), ATTRS, { labelSelectors: { env: ['prod'] }, maxIdentities: 1 })).limit,
    ).toBe(1);
  });
});

describe('decide: decisions', () => {
  it('returns the issuance parameters', () => {
    const d = decideOne(resource('web', { spiffe: { id: '/w', hint: 'h' } }));
    expect(d).toEqual({
      kind: 'issue',
      resource: 'web',
      revision: expect.stringMatching(/^[0-9a-f]{16}$/),
      spiffeId: SpiffeId.parse(`spiffe://${TD}/w`),
      hint: 'h',
      dnsSans: [],
      ipSans: [],
      subject: undefined,
      ttlSeconds: 3600,
      extraClaims: {},
      matchedRule: undefined,
    });
  });

  it.each([
    // [x509 maximum_ttl, jwt maximum_ttl, request, svidType, expected ttlSeconds]
    [undefined, undefined, undefined, 'x509', 3600],
    [undefined, undefined, 600, 'x509', 600],
    [undefined, undefined, 200_000, 'x509', 86_400],
    ['2h', undefined, undefined, 'x509', 3600],
    ['2h', undefined, 10_000, 'x509', 7200],
    ['30m', undefined, undefined, 'x509', 1800],
    ['336h', undefined, 10 * 86_400, 'x509', 10 * 86_400],
    ['336h', undefined, 20 * 86_400, 'x509', 14 * 86_400],
    ['0s', undefined, 200_000, 'x509', 86_400],
    ['2h', '5m', undefined, 'jwt', 300],
    ['2h', undefined, 200_000, 'jwt', 86_400],
    [undefined, '24h', 100, 'jwt', 100],
    ['1.5s', undefined, undefined, 'x509', 1],
  ] as const)('x509 max %s, jwt max %s, requested %s (%s) -> %d s', (x509Max, jwtMax, ttlSeconds, svidType, want) => {
    const r = resource('t', {
      spiffe: {
        ...(x509Max ? { x509: { maximum_ttl: x509Max } } : {}),
        ...(jwtMax ? { jwt: { maximum_ttl: jwtMax } } : {}),
      },
    });
    const d = decideOne(r, ATTRS, { ...(ttlSeconds ? { ttlSeconds } : {}), svidType });
    expect(d.kind === 'issue' && d.ttlSeconds).toBe(want);
  });

  it('ORs rules and reports the first that held', () => {
    const d = decideOne(
      resource('t', {
        rules: [
          { expression: 'workload.unix.uid == 0' },
          { expression: 'workload.unix.uid == 1000' },
          { expression: 'true' },
        ],
      }),
    );
    expect(d.kind === 'issue' && d.matchedRule).toBe(1);
  });

  it('one bad rule never grants, and never hides a good one', () => {
    const bad = { expression: 'workload.systemd.service == "web"' };
    const d1 = decideOne(resource('t', { rules: [bad] }));
    expect(d1).toMatchObject({
      kind: 'deny',
      code: 'ERR_WID_RULE_ATTRIBUTE_UNSET',
      attribute: 'workload.systemd.service',
      rule: 0,
    });
    expect(d1.kind === 'deny' && d1.reason).toContain('systemd attestor did not attest');
    const d2 = decideOne(resource('t', { rules: [bad, { expression: 'workload.unix.uid == 0' }] }));
    expect(d2).toMatchObject({
      kind: 'deny',
      code: 'ERR_WID_RULE_NO_RULE_MATCHED',
      attribute: 'workload.systemd.service',
    });
    expect(d2.kind === 'deny' && d2.reason).toContain('rule 0: workload.systemd.service is unset');
    const d3 = decideOne(resource('t', { rules: [bad, { expression: 'workload.unix.uid == 1000' }] }));
    expect(d3.kind === 'issue' && d3.matchedRule).toBe(1);
    const d4 = decideOne(resource('t', { rules: [bad, { expression: 'join.iam.arn == "x"' }] }));
    expect(d4).toMatchObject({ kind: 'deny', code: 'ERR_WID_RULE_ATTRIBUTE_UNSET', rule: undefined });
  });

  it('denies, never throws, whatever the attributes hold', () => {
    const r = resource('t', {
      rules: [{ expression: 'workload.unix.uid == 1000' }],
      spiffe: { id: '/{{ workload.unix.user }}' },
    });
    const throwing = {
      workload: {
        unix: {
          attested: true,
          uid: 1000,
          get user(): string {
            throw new Error('boom');
          },
        },
      },
    };
    const d = decideOne(r, throwing);
    expect(d).toMatchObject({ kind: 'deny', code: 'ERR_WID_RULE_EVALUATION_FAILED', field: 'spec.spiffe.id' });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getOwnPropertyDescriptor() {
          throw new Error('trap');
        },
      },
    );
    expect(decideOne(r, proxy)).toMatchObject({ kind: 'deny', code: 'ERR_WID_RULE_EVALUATION_FAILED' });
  });

  it('gives the same decision for the same input (no hidden state)', () => {
    const set = load(
      resource('t', {
        rules: [{ expression: 'regexp.match(workload.unix.binary_path, "^/usr/(bin|sbin)/")' }],
        spiffe: { id: '/{{ regexp.replace(workload.unix.binary_path, "^/usr/(bin|sbin)/", "$1-") }}' },
      }),
    );
    const a = decide(set, ATTRS, { names: ['t'] });
    decide(set, { workload: { unix: { attested: true, binary_path: '/usr/sbin/x' } } }, { names: ['t'] });
    expect(decide(set, ATTRS, { names: ['t'] })).toEqual(a);
    expect(a[0]?.kind === 'issue' && a[0].spiffeId.path).toBe('/bin-node');
  });
});

describe('decide: many resources selected (rule index)', () => {
  const many = Array.from({ length: 100 }, (_, i) =>
    resource(`svc-${i}`, {
      labels: { env: 'prod' },
      rules: [
        {
          conditions: [
            { attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } },
            { attribute: 'workload.kubernetes.labels.app', eq: { value: `svc-${i}` } },
          ],
        },
        { expression: `workload.unix.uid == ${i} && workload.unix.gid == 7` },
      ],
    }),
  );
  const set = load([
    ...many,
    resource('unguarded', { labels: { env: 'prod' }, rules: [{ expression: 'workload.unix.uid != 1' }] }),
    resource('no-rules', { labels: { env: 'prod' } }),
  ]);
  const req = { labelSelectors: { env: ['prod'] } };
  const k8s = (app: unknown, unix: Record<string, unknown> = {}) => ({
    workload: {
      unix: { attested: true, uid: 5000, gid: 7, ...unix },
      kubernetes: { attested: true, namespace: 'default', labels: { app } },
    },
  });

  it.each([
    ['an app label matching one resource', k8s('svc-42'), ['svc-42', 'unguarded', 'no-rules']],
    ['a uid matching another', k8s('svc-42', { uid: 3 }), ['svc-3', 'svc-42', 'unguarded', 'no-rules']],
    ['nothing matching', k8s('other'), ['unguarded', 'no-rules']],
    ['the guarded attribute unset', { workload: { unix: { attested: true, uid: 1, gid: 7 } } }, ['svc-1', 'no-rules']],
    ['the guarded attribute of the wrong type', k8s(42, { uid: '3' }), ['no-rules']],
  ])('with %s, agrees with a full evaluation', (_name, attrs, issuedTo) => {
    const ds = decide(set, attrs, req);
    expect(ds).toHaveLength(102);
    expect(ds.filter((d) => d.kind === 'issue').map((d) => d.resource)).toEqual(issuedTo);
    expect(ds).toEqual(explain(set, attrs, req).decisions);
  });
});
