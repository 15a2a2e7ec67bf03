import { ATTRIBUTE_SCHEMA, type AttributeSchema, DENIAL_CODES, decide, explain } from '@wid/rule-engine';
import { SpiffeId } from '@wid/spiffe-id';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { load, resource } from './helpers.js';

// Resources that template and test many attributes, through every function.
const set = load([
  resource('k8s', {
    labels: { g: 'all' },
    rules: [
      { conditions: [{ attribute: 'workload.kubernetes.namespace', not_eq: { value: 'kube-system' } }] },
      { expression: 'contains(workload.kubernetes.labels, "app") && workload.kubernetes.labels.app != ""' },
    ],
    spiffe: {
      id: '/ns/{{ workload.kubernetes.namespace }}/sa/{{ workload.kubernetes.service_account }}',
      hint: '{{ workload.kubernetes.labels.app }}',
      x509: {
        dns_sans: [
          '{{ workload.kubernetes.service_account }}.{{ workload.kubernetes.namespace }}.svc',
          '*.{{ workload.kubernetes.labels.app }}',
        ],
        subject_template: { common_name: '{{ workload.kubernetes.pod_name }}', organization: '{{ user.name }}' },
      },
      jwt: { extra_claims: { img: '{{ workload.kubernetes.container.image }}', l: ['{{ user.labels.env }}'] } },
    },
  }),
  resource('unix', {
    labels: { g: 'all' },
    rules: [
      {
        expression:
          'workload.unix.uid == 0 || contains_any(workload.unix.supplementary_gids, 0, 1, 2) || regexp.match(workload.unix.binary_path, "^/(usr/)?s?bin/")',
      },
      {
        conditions: [
          { attribute: 'workload.unix.attested', eq: { value: 'true' } },
          { attribute: 'workload.unix.user', in: { values: ['root', 'web'] } },
        ],
      },
    ],
    spiffe: {
      id: '/uid/{{ workload.unix.uid }}/{{ strings.lower(regexp.replace(workload.unix.binary_path, "^.*/", "")) }}',
      hint: '{{ ifelse(workload.unix.uid == 0, "root", strings.replaceall(workload.unix.user, "/", "_")) }}',
    },
  }),
  resource('raw', {
    labels: { g: 'all' },
    spiffe: {
      id: '/{{ workload.systemd.service }}{{ join.iam.arn }}/{{ user.bot_instance_id }}',
      x509: { dns_sans: ['{{ join.meta.join_token_name }}'] },
    },
  }),
  // Enough resources selected together that decide consults the rule index (and skips rules it knows are false).
  ...Array.from({ length: 40 }, (_, i) =>
    resource(`guard-${i}`, {
      labels: { g: 'all' },
      rules: [
        {
          conditions: [
            { attribute: 'workload.unix.uid', eq: { value: String(i) } },
            { attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } },
          ],
        },
        { expression: `workload.kubernetes.labels.app == "a${i % 4}" && workload.unix.gid == ${i}` },
      ],
      spiffe: { id: `/g/${i}/{{ workload.unix.uid }}` },
    }),
  ),
  resource('bool', {
    labels: { g: 'all' },
    rules: [{ expression: '!is_empty(workload.kubernetes.labels) || workload.systemd.attested' }],
    spiffe: { id: '/{{ workload.systemd.attested }}/{{ workload.kubernetes.attested }}/{{ workload.unix.pid }}' },
  }),
]);

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '-', '_', ' ', '*', 'é', '\n', '%', '{', '}') }),
  fc.constantFrom(
    '',
    '.',
    '..',
    '/',
    'a/b',
    '//',
    'default',
    'kube-system',
    'web',
    'root',
    '/usr/bin/node',
    '/bin/sh',
    'app',
    '__proto__',
    'constructor',
  ),
  fc.integer(),
  fc.constantFrom(0, -1, 1000, Number.MAX_SAFE_INTEGER, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 3 }), fc.string({ maxLength: 3 })), { maxLength: 4 }),
  fc.dictionary(
    fc.constantFrom('app', 'team', 'env', '__proto__', 'constructor', 'x'),
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
  ),
  fc.object({ maxDepth: 2 }),
);

const plausible: Record<string, fc.Arbitrary<unknown>> = {
  string: fc.oneof(
    fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}[a-z0-9]$/),
    fc.constant('default'),
    fc.constantFrom('web', 'root', '/usr/bin/node', '/bin/sh', 'a.b'),
  ),
  int: fc.oneof(fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 70_000 })),
  bool: fc.boolean(),
  map: fc.dictionary(
    fc.constantFrom('app', 'team', 'env', 'x'),
    fc.oneof(fc.stringMatching(/^[a-z0-9]{0,8}$/), fc.constantFrom('a0', 'a1', 'a2', 'a3')),
  ),
  'int[]': fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
  'string[]': fc.array(fc.string({ maxLength: 4 }), { maxLength: 4 }),
};

/** Attribute objects shaped like the schema: usually well-typed values, sometimes anything, sometimes absent. */
function shaped(schema: AttributeSchema): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(schema).map(([key, node]) => {
    const value: fc.Arbitrary<unknown> =
      typeof node === 'string'
        ? key === 'attested'
          ? fc.oneof(
              { weight: 6, arbitrary: fc.constant(true) },
              { weight: 1, arbitrary: fc.boolean() },
              { weight: 1, arbitrary: nasty },
            )
          : fc.oneof({ weight: 4, arbitrary: plausible[node]! }, { weight: 1, arbitrary: nasty })
        : fc.oneof({ weight: 6, arbitrary: shaped(node) }, { weight: 1, arbitrary: nasty });
    return [key, fc.option(value, { freq: 8, nil: undefined })] as const;
  });
  return fc
    .record(Object.fromEntries(entries))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
}

const attributes = fc.oneof(
  { weight: 4, arbitrary: shaped(ATTRIBUTE_SCHEMA) },
  { weight: 1, arbitrary: fc.anything() },
);
const HOSTNAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

describe('decide properties', () => {
  it('never throws and never issues an invalid SPIFFE ID, DNS SAN or subject, for any attributes', () => {
    const issued = new Map<string, number>();
    fc.assert(
      fc.property(
        attributes,
        fc.option(fc.integer({ min: 1, max: 40 * 86_400 }), { nil: undefined }),
        (attrs, ttlSeconds) => {
          const ds = decide(set, attrs, { labelSelectors: { g: ['all'] }, ...(ttlSeconds ? { ttlSeconds } : {}) });
          expect(ds).toHaveLength(44);
          for (const d of ds) {
            if (d.kind === 'deny') {
              expect(DENIAL_CODES).toContain(d.code);
              expect(d.reason.length).toBeGreaterThan(0);
              continue;
            }
            issued.set(d.resource, (issued.get(d.resource) ?? 0) + 1);
            const id = SpiffeId.parse(d.spiffeId.toString());
            expect(id.equals(d.spiffeId)).toBe(true);
            expect(id.path.startsWith('/')).toBe(true);
            expect(id.path.split('/').slice(1)).not.toContain('');
            for (const san of d.dnsSans) expect(san.length <= 253 && HOSTNAME.test(san)).toBe(true);
            for (const v of Object.values(d.subject ?? {})) expect(v.length).toBeLessThanOrEqual(64);
            expect(d.ttlSeconds).toBeGreaterThan(0);
            expect(d.ttlSeconds).toBeLessThanOrEqual(86_400);
            if (d.hint !== undefined) expect(d.hint).not.toBe('');
          }
        },
      ),
      { numRuns: 1500 },
    );
    // The generator reaches issuance for every resource, so the checks above did run.
    expect([...issued.keys()].filter((k) => !k.startsWith('guard-')).sort()).toEqual(['bool', 'k8s', 'raw', 'unix']);
    expect([...issued.keys()].filter((k) => k.startsWith('guard-')).length).toBeGreaterThan(0);
  });

  it('explain reaches the same decisions as decide', () => {
    fc.assert(
      fc.property(attributes, (attrs) => {
        const req = { labelSelectors: { g: ['all'] } };
        expect(explain(set, attrs, req).decisions).toEqual(decide(set, attrs, req));
      }),
      { numRuns: 400 },
    );
  });

  it('does not pollute prototypes whatever the attributes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const attrs = JSON.parse(
          `{"__proto__":{"workload":{"unix":{"attested":true,"uid":0}}},"workload":${JSON.stringify(json)}}`,
        );
        decide(set, attrs, { labelSelectors: { g: ['all'] } });
        expect(({} as Record<string, unknown>)['workload']).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});
