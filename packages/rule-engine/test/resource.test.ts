import { decide, loadWorkloadIdentities } from '@wid/rule-engine';
import { TrustDomain } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';
import { ATTRS, resource, TD, thrown } from './helpers.js';

const FULL = `# every field of workload_identity v1
kind: workload_identity
version: v1
sub_kind: ""
metadata:
  name: web
  description: the web tier
  namespace: default
  revision: 9b1c0a4e-3b1f-4a0e-9d0a-1f2e3d4c5b6a
  labels:
    env: prod
    tier: web
spec:
  rules:
    allow:
      - conditions:
          - attribute: workload.kubernetes.namespace
            eq:
              value: default
          - attribute: workload.kubernetes.service_account
            in:
              values: [web, web-canary]
      - expression: >-
          workload.unix.uid == 1000 &&
          workload.kubernetes.labels["app"] == "web"
  spiffe:
    id: /ns/{{ workload.kubernetes.namespace }}/sa/{{ workload.kubernetes.service_account }}
    hint: web
    x509:
      dns_sans: ["{{ workload.kubernetes.service_account }}.{{ workload.kubernetes.namespace }}.svc"]
      subject_template:
        common_name: "{{ workload.kubernetes.pod_name }}"
        organization: Acme
        organizational_unit: web
      maximum_ttl: 72h
    jwt:
      extra_claims:
        team: "{{ workload.kubernetes.labels.team }}"
        tags: [a, b]
      maximum_ttl: 30m
`;

function doc(lines: string): string {
  return `kind: workload_identity\nversion: v1\n${lines}`;
}

describe('loadWorkloadIdentities', () => {
  it('loads a resource using every field, as Teleport users write it', () => {
    const set = loadWorkloadIdentities({ text: FULL, source: 'web.yaml' }, { trustDomain: 'spiffe://example.org' });
    expect(set.size).toBe(1);
    expect(set.names()).toEqual(['web']);
    expect(set.trustDomain.name).toBe('example.org');
    const web = set.get('web')!;
    expect(web.labels).toEqual({ env: 'prod', tier: 'web' });
    expect(web.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.isFrozen(web.resource)).toBe(true);
    expect(web.resource.spec.spiffe.x509?.maximum_ttl).toBe('72h');
    expect(web.resource.spec.rules?.allow?.[1]?.expression).toBe(
      'workload.unix.uid == 1000 && workload.kubernetes.labels["app"] == "web"',
    );
    const [d] = decide(set, ATTRS, { names: ['web'], ttlSeconds: 7 * 24 * 3600 });
    expect(d?.kind === 'issue' && [d.spiffeId.toString(), d.ttlSeconds, d.hint, d.dnsSans, d.matchedRule]).toEqual([
      'spiffe://example.org/ns/default/sa/web',
      72 * 3600,
      'web',
      ['web.default.svc'],
      0,
    ]);
    const [j] = decide(set, ATTRS, { names: ['web'], svidType: 'jwt' });
    expect(j?.kind === 'issue' && [j.ttlSeconds, j.extraClaims]).toEqual([1800, { team: 'core', tags: ['a', 'b'] }]);
  });

  it('loads JSON text, a top-level list (tctl get --format=json), several documents and objects', () => {
    const json = JSON.stringify([resource('a'), resource('b')], null, 2);
    const yaml = `${doc('metadata: { name: c }\nspec: { spiffe: { id: /c } }')}\n---\n# empty document\n---\n${doc('metadata: { name: d }\nspec: { spiffe: { id: /d } }')}\n---\n`;
    const set = loadWorkloadIdentities(
      [json, yaml, resource('e'), { text: JSON.stringify(resource('f')), source: 'f.json' }],
      {
        trustDomain: TD,
      },
    );
    expect(set.names()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect([...set].map((w) => w.name)).toEqual(set.names());
    expect(loadWorkloadIdentities('', { trustDomain: TD }).size).toBe(0);
    expect(loadWorkloadIdentities([], { trustDomain: TD }).size).toBe(0);
  });

  it('computes the revision from content: equal content, equal revision; metadata.revision is ignored', () => {
    const a = loadWorkloadIdentities(FULL, { trustDomain: TD }).get('web')!.revision;
    const b = loadWorkloadIdentities(FULL.replace('9b1c0a4e', 'ffffffff'), { trustDomain: TD }).get('web')!.revision;
    const c = loadWorkloadIdentities(FULL.replace('hint: web', 'hint: web2'), { trustDomain: TD }).get('web')!.revision;
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    const [d] = decide(loadWorkloadIdentities(FULL, { trustDomain: TD }), ATTRS, { names: ['web'] });
    expect(d?.revision).toBe(a);
  });

  it('treats "no rules" as allow for every workload', () => {
    for (const spec of [
      'spec: { spiffe: { id: /a } }',
      'spec: { rules: {}, spiffe: { id: /a } }',
      'spec: { rules: { allow: [] }, spiffe: { id: /a } }',
    ]) {
      const set = loadWorkloadIdentities(doc(`metadata: { name: a }\n${spec}`), { trustDomain: TD });
      const [d] = decide(set, {}, { names: ['a'] });
      expect(d?.kind === 'issue' && d.matchedRule).toBeUndefined();
      expect(d?.kind).toBe('issue');
    }
  });

  it('treats YAML null (an empty value) as absent for optional fields', () => {
    const set = loadWorkloadIdentities(
      doc('metadata:\n  name: a\n  labels:\nspec:\n  rules:\n  spiffe:\n    id: /a\n    hint:\n    x509:\n    jwt:\n'),
      {
        trustDomain: TD,
      },
    );
    expect(set.get('a')!.resource.spec).toEqual({ spiffe: { id: '/a' } });
  });

  it.each([
    // [yaml body after kind/version, code, path, line]
    ['metadata: { name: a }\nspec: { spiffe: { id: /a } }\nspex: {}', 'ERR_WID_RULE_UNKNOWN_FIELD', 'spex', 5],
    [
      'metadata:\n  name: a\n  lables: { x: y }\nspec: { spiffe: { id: /a } }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'metadata.lables',
      5,
    ],
    ['metadata: { name: a }\nspec:\n  rule: {}\n  spiffe: { id: /a }', 'ERR_WID_RULE_UNKNOWN_FIELD', 'spec.rule', 5],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    deny: []\n  spiffe: { id: /a }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.rules.deny',
      6,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - condition: []\n  spiffe: { id: /a }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.rules.allow[0].condition',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attr: x\n  spiffe: { id: /a }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.rules.allow[0].conditions[0].attr',
      8,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attribute: workload.unix.uid\n            eq: { val: 1 }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.rules.allow[0].conditions[0].eq.val',
      9,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attribute: workload.unix.uid\n            in: { value: 1 }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.rules.allow[0].conditions[0].in.value',
      9,
    ],
    [
      'metadata: { name: a }\nspec:\n  spiffe:\n    id: /a\n    hnt: x',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.spiffe.hnt',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  spiffe:\n    id: /a\n    x509: { dns: [] }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.spiffe.x509.dns',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  spiffe:\n    id: /a\n    x509:\n      subject_template: { cn: x }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.spiffe.x509.subject_template.cn',
      8,
    ],
    [
      'metadata: { name: a }\nspec:\n  spiffe:\n    id: /a\n    jwt: { claims: {} }',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'spec.spiffe.jwt.claims',
      7,
    ],
    ['spec: { spiffe: { id: /a } }', 'ERR_WID_RULE_MISSING_FIELD', 'metadata', 1],
    ['metadata: { description: x }\nspec: { spiffe: { id: /a } }', 'ERR_WID_RULE_MISSING_FIELD', 'metadata.name', 3],
    ['metadata: { name: "" }\nspec: { spiffe: { id: /a } }', 'ERR_WID_RULE_MISSING_FIELD', 'metadata.name', 3],
    ['metadata: { name: a }', 'ERR_WID_RULE_MISSING_FIELD', 'spec', 1],
    ['metadata: { name: a }\nspec: {}', 'ERR_WID_RULE_MISSING_FIELD', 'spec.spiffe', 4],
    ['metadata: { name: a }\nspec: { spiffe: { hint: x } }', 'ERR_WID_RULE_MISSING_FIELD', 'spec.spiffe.id', 4],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - eq: { value: x }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_MISSING_FIELD',
      'spec.rules.allow[0].conditions[0].attribute',
      8,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attribute: workload.unix.uid\n  spiffe: { id: /a }',
      'ERR_WID_RULE_MISSING_FIELD',
      'spec.rules.allow[0].conditions[0]',
      8,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attribute: workload.unix.uid\n            eq: {}\n  spiffe: { id: /a }',
      'ERR_WID_RULE_MISSING_FIELD',
      'spec.rules.allow[0].conditions[0].eq.value',
      9,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - attribute: workload.unix.uid\n            eq: { value: "1" }\n            not_eq: { value: "2" }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.rules.allow[0].conditions[0].not_eq',
      10,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - {}\n  spiffe: { id: /a }',
      'ERR_WID_RULE_EMPTY_RULE',
      'spec.rules.allow[0]',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions: []\n  spiffe: { id: /a }',
      'ERR_WID_RULE_EMPTY_RULE',
      'spec.rules.allow[0]',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - expression: "  "\n  spiffe: { id: /a }',
      'ERR_WID_RULE_EMPTY_RULE',
      'spec.rules.allow[0]',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - expression: "true"\n        conditions: [{ attribute: workload.unix.uid, eq: { value: "1" } }]\n  spiffe: { id: /a }',
      'ERR_WID_RULE_AMBIGUOUS_RULE',
      'spec.rules.allow[0]',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow: { expression: "true" }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.rules.allow',
      6,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - expression: 42\n  spiffe: { id: /a }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.rules.allow[0].expression',
      7,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - { attribute: workload.unix.uid, eq: { value: 1.5 } }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.rules.allow[0].conditions[0].eq.value',
      8,
    ],
    [
      'metadata: { name: a }\nspec:\n  rules:\n    allow:\n      - conditions:\n          - { attribute: workload.unix.uid, in: { values: "1" } }\n  spiffe: { id: /a }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.rules.allow[0].conditions[0].in.values',
      8,
    ],
    [
      'metadata: { name: a, labels: { port: 8080 } }\nspec: { spiffe: { id: /a } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'metadata.labels.port',
      3,
    ],
    [
      'metadata: { name: a, expires: "2030-01-01T00:00:00Z" }\nspec: { spiffe: { id: /a } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'metadata.expires',
      3,
    ],
    [
      'metadata: { name: a, namespace: other }\nspec: { spiffe: { id: /a } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'metadata.namespace',
      3,
    ],
    ['metadata: { name: "a b" }\nspec: { spiffe: { id: /a } }', 'ERR_WID_RULE_INVALID_FIELD', 'metadata.name', 3],
    ['metadata: { name: a/b }\nspec: { spiffe: { id: /a } }', 'ERR_WID_RULE_INVALID_FIELD', 'metadata.name', 3],
    ['sub_kind: x\nmetadata: { name: a }\nspec: { spiffe: { id: /a } }', 'ERR_WID_RULE_INVALID_FIELD', 'sub_kind', 3],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, hint: [x] } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.spiffe.hint',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, x509: { dns_sans: x.local } } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.spiffe.x509.dns_sans',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, jwt: { extra_claims: [1] } } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.spiffe.jwt.extra_claims',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, x509: { maximum_ttl: 337h } } }',
      'ERR_WID_RULE_TTL_TOO_LONG',
      'spec.spiffe.x509.maximum_ttl',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, jwt: { maximum_ttl: 24h1s } } }',
      'ERR_WID_RULE_TTL_TOO_LONG',
      'spec.spiffe.jwt.maximum_ttl',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, x509: { maximum_ttl: 14d } } }',
      'ERR_WID_RULE_INVALID_DURATION',
      'spec.spiffe.x509.maximum_ttl',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, x509: { maximum_ttl: 3600 } } }',
      'ERR_WID_RULE_INVALID_DURATION',
      'spec.spiffe.x509.maximum_ttl',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, x509: { maximum_ttl: -1h } } }',
      'ERR_WID_RULE_INVALID_DURATION',
      'spec.spiffe.x509.maximum_ttl',
      4,
    ],
    [
      'metadata: { name: a }\nspec: { spiffe: { id: /a, jwt: { maximum_ttl: 500ms } } }',
      'ERR_WID_RULE_INVALID_FIELD',
      'spec.spiffe.jwt.maximum_ttl',
      4,
    ],
  ])('%j -> %s', (body, code, path, line) => {
    const e = thrown(() => loadWorkloadIdentities({ text: doc(body), source: 'r.yaml' }, { trustDomain: TD }));
    expect([e.code, e.path, e.line]).toEqual([code, path, line]);
    expect(e.source).toBe('r.yaml');
    expect(e.message).toContain(`r.yaml:${line}:`);
    expect(e.message).toContain(path);
  });

  it('names the resource by position when it has no name yet, and by name afterwards', () => {
    const e = thrown(() =>
      loadWorkloadIdentities([resource('a'), { kind: 'workload_identity', version: 'v1', spec: {} }], {
        trustDomain: TD,
      }),
    );
    expect([e.code, e.resource]).toEqual(['ERR_WID_RULE_MISSING_FIELD', '#2']);
    expect(e.message).toContain('workload_identity #2');
    const named = thrown(() =>
      loadWorkloadIdentities(doc('metadata: { name: web }\nspec: { spiffe: { id: a } }'), { trustDomain: TD }),
    );
    expect(named.resource).toBe('web');
    expect(named.message).toContain('workload_identity "web" spec.spiffe.id');
  });

  it.each([
    ['kind: role\nversion: v1\nmetadata: { name: a }', 'kind'],
    ['version: v1\nmetadata: { name: a }', ''],
    ['kind: workload_identity\nversion: v2\nmetadata: { name: a }', 'version'],
    ['kind: workload_identity\nmetadata: { name: a }', ''],
    ['- 1\n- 2', ''],
    ['just a string', ''],
  ])('rejects something that is not a workload_identity v1: %j', (text, path) => {
    const e = thrown(() => loadWorkloadIdentities(text, { trustDomain: TD }));
    expect([e.code, e.path]).toEqual(['ERR_WID_RULE_INVALID_RESOURCE', path]);
  });

  it('rejects duplicate names, pointing at both', () => {
    const text = `${doc('metadata: { name: a }\nspec: { spiffe: { id: /a } }')}\n---\n${doc('metadata: { name: a }\nspec: { spiffe: { id: /b } }')}`;
    const e = thrown(() => loadWorkloadIdentities({ text, source: 'x.yaml' }, { trustDomain: TD }));
    expect([e.code, e.line, e.resource]).toEqual(['ERR_WID_RULE_DUPLICATE_NAME', 8, 'a']);
    expect(e.message).toContain('x.yaml:3');
  });

  it('reports YAML syntax errors with their line', () => {
    const e = thrown(() =>
      loadWorkloadIdentities(
        { text: 'kind: workload_identity\nmetadata: { name: [a\nspec: x', source: 's.yaml' },
        { trustDomain: TD },
      ),
    );
    expect(e.code).toBe('ERR_WID_RULE_YAML_SYNTAX');
    expect(e.line).toBeGreaterThanOrEqual(2);
    expect(e.source).toBe('s.yaml');
    const dup = thrown(() => loadWorkloadIdentities('a: 1\na: 2', { trustDomain: TD }));
    expect([dup.code, dup.line]).toEqual(['ERR_WID_RULE_YAML_SYNTAX', 2]);
  });

  it('bounds YAML alias expansion', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    expect(thrown(() => loadWorkloadIdentities(bomb, { trustDomain: TD })).code).toBe('ERR_WID_RULE_YAML_SYNTAX');
  });

  it('keeps a __proto__ label as data, without touching prototypes', () => {
    const set = loadWorkloadIdentities(
      doc('metadata:\n  name: a\n  labels: { __proto__: evil }\nspec: { spiffe: { id: /a } }'),
      { trustDomain: TD },
    );
    const labels = set.get('a')!.labels;
    expect(Object.hasOwn(labels, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['evil']).toBeUndefined();
    const [d] = decide(set, {}, { labelSelectors: JSON.parse('{"__proto__":["evil"]}') });
    expect(d?.resource).toBe('a');
  });

  it('neither freezes nor keeps the objects it was given', () => {
    const input = resource('a', { labels: { env: 'prod' }, spiffe: { jwt: { extra_claims: { a: { b: 1 } } } } });
    const set = loadWorkloadIdentities(input, { trustDomain: TD });
    expect(Object.isFrozen(input) || Object.isFrozen(input.metadata.labels)).toBe(false);
    (input.metadata.labels as Record<string, string>)['env'] = 'dev';
    expect(set.get('a')!.labels).toEqual({ env: 'prod' });
    expect(Object.isFrozen(set.get('a')!.resource.spec.spiffe.jwt!.extra_claims!['a'])).toBe(true);
  });

  it('validates the options', () => {
    expect(thrown(() => loadWorkloadIdentities([], { trustDomain: 'Bad Domain' })).code).toBe(
      'ERR_WID_RULE_INVALID_OPTION',
    );
    expect(thrown(() => loadWorkloadIdentities([], { trustDomain: TD, maxIdentities: 0 })).code).toBe(
      'ERR_WID_RULE_INVALID_OPTION',
    );
    expect(thrown(() => loadWorkloadIdentities([], undefined as never)).code).toBe('ERR_WID_RULE_INVALID_OPTION');
    expect(loadWorkloadIdentities([], { trustDomain: TrustDomain.parse(TD) }).trustDomain.name).toBe(TD);
  });

  it('checks rules against a custom attribute schema', () => {
    const schema = { workload: { docker: { attested: 'bool', image: 'string' } } } as const;
    const r = resource('a', { rules: [{ expression: 'workload.docker.image == "x"' }] });
    const set = loadWorkloadIdentities(r, { trustDomain: TD, attributeSchema: schema });
    expect(decide(set, { workload: { docker: { attested: true, image: 'x' } } }, { names: ['a'] })[0]?.kind).toBe(
      'issue',
    );
    expect(thrown(() => loadWorkloadIdentities(r, { trustDomain: TD })).code).toBe('ERR_WID_RULE_UNKNOWN_ATTRIBUTE');
  });
});
