import { loadWorkloadIdentities } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import { ATTRS, decideOne, resource, TD, thrown } from './helpers.js';

type Spiffe = Parameters<typeof resource>[1] extends infer O ? (O extends { spiffe?: infer S } ? S : never) : never;

function issue(spiffe: Spiffe, attrs: unknown = ATTRS) {
  const d = decideOne(resource('t', { spiffe }), attrs);
  if (d.kind !== 'issue') throw new Error(`expected an issuance, got ${d.code}: ${d.reason}`);
  return d;
}

function denial(spiffe: Spiffe, attrs: unknown = ATTRS) {
  const d = decideOne(resource('t', { spiffe }), attrs);
  if (d.kind !== 'deny') throw new Error(`expected a denial, got ${d.spiffeId.toString()}`);
  return d;
}

describe('templates', () => {
  it.each([
    ['/ns/{{workload.kubernetes.namespace}}/sa/{{workload.kubernetes.service_account}}', '/ns/default/sa/web'],
    ['/ns/{{ workload.kubernetes.namespace }}/sa/{{  workload.kubernetes.service_account  }}', '/ns/default/sa/web'],
    ['/uid/{{ workload.unix.uid }}', '/uid/1000'],
    ['/attested/{{ workload.unix.attested }}/{{ workload.systemd.attested }}', '/attested/true/false'],
    ['/{{ strings.upper(workload.unix.user) }}', '/WEB'],
    ['/{{ workload.kubernetes.labels["app.kubernetes.io/name"] }}-{{ workload.kubernetes.labels.team }}', '/web-core'],
    ['/{{ regexp.replace(workload.unix.binary_path, "^.*/", "") }}', '/node'],
    ['/{{ ifelse(workload.unix.uid == 0, "root", "user") }}', '/user'],
    ['/a{{ "b" }}c', '/abc'],
    ['/bin{{ workload.unix.binary_path }}', '/bin/usr/bin/node'],
    ['/static/path', '/static/path'],
  ])('renders spiffe.id %s', (id, path) => {
    const d = issue({ id });
    expect(d.spiffeId.path).toBe(path);
    expect(d.spiffeId.toString()).toBe(`spiffe://${TD}${path}`);
  });

  it('renders hint, dns_sans, subject_template and extra_claims string leaves', () => {
    const d = issue({
      id: '/w',
      hint: '{{ workload.kubernetes.service_account }}@{{ workload.kubernetes.namespace }}',
      x509: {
        dns_sans: [
          '{{ workload.kubernetes.service_account }}.{{ workload.kubernetes.namespace }}.svc',
          '*.web.local',
          'web.local',
        ],
        subject_template: {
          common_name: '{{ workload.kubernetes.pod_name }}',
          organization: 'Acme',
          organizational_unit: '{{ strings.upper(workload.kubernetes.namespace) }}',
        },
      },
      jwt: {
        extra_claims: {
          team: '{{ workload.kubernetes.labels.team }}',
          uid: '{{ workload.unix.uid }}',
          nested: { list: ['{{ workload.unix.user }}', 1, true, null, { deep: 'x-{{ workload.unix.gid }}' }], n: 2.5 },
          plain: 'no template',
        },
      },
    });
    expect(d.hint).toBe('web@default');
    expect(d.dnsSans).toEqual(['web.default.svc', '*.web.local', 'web.local']);
    expect(d.subject).toEqual({ commonName: 'web-5d8f', organization: 'Acme', organizationalUnit: 'DEFAULT' });
    expect(d.extraClaims).toEqual({
      team: 'core',
      uid: '1000',
      nested: { list: ['web', 1, true, null, { deep: 'x-1000' }], n: 2.5 },
      plain: 'no template',
    });
  });

  it('shares one frozen object for claims without templates, and {} when there are none', () => {
    const r = resource('t', { spiffe: { jwt: { extra_claims: { a: { b: [1] } } } } });
    const set = loadWorkloadIdentities(r, { trustDomain: TD });
    const one = decideOne(r);
    expect(one.kind === 'issue' && Object.isFrozen(one.extraClaims)).toBe(true);
    expect(set.get('t')).toBeDefined();
    expect(issue({ id: '/x' }).extraClaims).toEqual({});
    expect(issue({ id: '/x' }).dnsSans).toEqual([]);
    expect(issue({ id: '/x' }).subject).toBeUndefined();
    expect(issue({ id: '/x' }).hint).toBeUndefined();
  });

  it('removes duplicate DNS SANs', () => {
    expect(issue({ id: '/x', x509: { dns_sans: ['a.local', '{{ "a" }}.local'] } }).dnsSans).toEqual(['a.local']);
  });

  describe('fail the identity, never render an empty or invalid value', () => {
    const noK8s = { workload: { unix: ATTRS.workload.unix } };
    it.each([
      // [spiffe, attrs, code, field, attribute]
      [
        { id: '/ns/{{ workload.kubernetes.namespace }}' },
        noK8s,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.id',
        'workload.kubernetes.namespace',
      ],
      [
        { id: '/{{ workload.kubernetes.labels.nope }}' },
        ATTRS,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.id',
        'workload.kubernetes.labels.nope',
      ],
      [
        { id: '/a/{{ workload.kubernetes.labels.empty }}/b' },
        ATTRS,
        'ERR_WID_RULE_TEMPLATE_EMPTY',
        'spec.spiffe.id',
        'workload.kubernetes.labels.empty',
      ],
      [
        { id: '/a{{ workload.kubernetes.labels.empty }}' },
        ATTRS,
        'ERR_WID_RULE_TEMPLATE_EMPTY',
        'spec.spiffe.id',
        'workload.kubernetes.labels.empty',
      ],
      [
        { id: '/x', hint: '{{ workload.kubernetes.labels.empty }}' },
        ATTRS,
        'ERR_WID_RULE_TEMPLATE_EMPTY',
        'spec.spiffe.hint',
        'workload.kubernetes.labels.empty',
      ],
      [
        { id: '/x', hint: '{{ workload.systemd.service }}' },
        ATTRS,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.hint',
        'workload.systemd.service',
      ],
      [
        { id: '/x', x509: { dns_sans: ['ok.local', '{{ workload.kubernetes.namespace }}.svc'] } },
        noK8s,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.x509.dns_sans[1]',
        'workload.kubernetes.namespace',
      ],
      [
        { id: '/x', x509: { subject_template: { common_name: '{{ join.iam.arn }}' } } },
        ATTRS,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.x509.subject_template',
        'join.iam.arn',
      ],
      [
        { id: '/x', jwt: { extra_claims: { a: { b: ['{{ user.labels.missing }}'] } } } },
        ATTRS,
        'ERR_WID_RULE_ATTRIBUTE_UNSET',
        'spec.spiffe.jwt.extra_claims',
        'user.labels.missing',
      ],
    ] as const)('%j', (spiffe, attrs, code, field, attribute) => {
      const d = denial(spiffe, attrs);
      expect([d.code, d.field, d.attribute]).toEqual([code, field, attribute]);
      expect(d.reason).toContain(field);
    });

    it.each([
      [{ id: '/p/{{ workload.kubernetes.labels.v }}' }, 'a/', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [{ id: '/p/{{ workload.kubernetes.labels.v }}' }, '..', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [{ id: '/p/{{ workload.kubernetes.labels.v }}' }, 'a//b', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [{ id: '/p/{{ workload.kubernetes.labels.v }}' }, 'a b', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [{ id: '/p/{{ workload.kubernetes.labels.v }}' }, 'caf\u00e9', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [{ id: '/p{{ workload.kubernetes.labels.v }}' }, '/', 'ERR_WID_RULE_INVALID_SPIFFE_ID'],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.svc'] } },
        'under_score',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.svc'] } },
        '-lead',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.svc'] } },
        'a..b',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.svc'] } },
        'x'.repeat(64),
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['a.{{ workload.kubernetes.labels.v }}'] } },
        '*.b',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      // A wildcard may come only from the literal template text, never from an attribute value.
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.svc'] } },
        '*',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}'] } },
        '*.svc',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.kubernetes.labels.v }}.b.svc'] } },
        '*.a',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { dns_sans: ['*.{{ workload.kubernetes.labels.v }}'] } },
        '*.b',
        'ERR_WID_RULE_INVALID_DNS_SAN',
      ],
      [
        { id: '/x', x509: { subject_template: { common_name: '{{ workload.kubernetes.labels.v }}' } } },
        'c'.repeat(65),
        'ERR_WID_RULE_INVALID_SUBJECT',
      ],
      [
        { id: '/x', x509: { subject_template: { organization: 'o-{{ workload.kubernetes.labels.v }}' } } },
        'c'.repeat(63),
        'ERR_WID_RULE_INVALID_SUBJECT',
      ],
    ] as const)('%j with label v=%j -> %s', (spiffe, v, code) => {
      const attrs = { workload: { kubernetes: { attested: true, labels: { v } } } };
      expect(denial(spiffe, attrs).code).toBe(code);
    });

    it('denies a wildcard DNS SAN rendered from an attribute (namespace "*"), with the reason', () => {
      const attrs = { workload: { kubernetes: { attested: true, namespace: '*' } } };
      const d = denial({ id: '/x', x509: { dns_sans: ['{{workload.kubernetes.namespace}}.svc'] } }, attrs);
      expect([d.code, d.field]).toEqual(['ERR_WID_RULE_INVALID_DNS_SAN', 'spec.spiffe.x509.dns_sans[0]']);
      expect(d.reason).toContain('a wildcard may only come from the literal template text');
      // A wildcard written in the template stays allowed.
      const ok = issue({ id: '/x', x509: { dns_sans: ['*.{{workload.kubernetes.namespace}}.svc'] } });
      expect(ok.dnsSans).toEqual(['*.default.svc']);
    });

    it('accepts the largest valid values', () => {
      const attrs = { workload: { kubernetes: { attested: true, labels: { v: 'x'.repeat(63) } } } };
      const d = issue(
        {
          id: '/x',
          x509: {
            dns_sans: ['*.{{ workload.kubernetes.labels.v }}.svc'],
            subject_template: { common_name: 'a{{ workload.kubernetes.labels.v }}' },
          },
        },
        attrs,
      );
      expect(d.dnsSans).toEqual([`*.${'x'.repeat(63)}.svc`]);
      expect(d.subject?.commonName).toHaveLength(64);
    });
  });

  describe('load-time checks', () => {
    it.each([
      [{ id: '/a/' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: 'a/b' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '{{ workload.unix.user }}' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '' }, 'ERR_WID_RULE_MISSING_FIELD', 'spec.spiffe.id'],
      [{ id: '/a//{{ workload.unix.user }}' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '/a/{{ workload.unix.user }}/' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '/a b/{{ workload.unix.user }}' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '/{{ workload.unix.user }}/..' }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.id'],
      [{ id: '/{{ workload.unix.user' }, 'ERR_WID_RULE_TEMPLATE_SYNTAX', 'spec.spiffe.id'],
      [{ id: '/{{ }}' }, 'ERR_WID_RULE_TEMPLATE_SYNTAX', 'spec.spiffe.id'],
      [{ id: '/{{ workload.unix.usr }}' }, 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE', 'spec.spiffe.id'],
      [{ id: '/{{ workload.unix.supplementary_gids }}' }, 'ERR_WID_RULE_EXPRESSION_TYPE', 'spec.spiffe.id'],
      [{ id: '/{{ workload.kubernetes.labels }}' }, 'ERR_WID_RULE_EXPRESSION_TYPE', 'spec.spiffe.id'],
      [{ id: '/{{ workload.unix.uid == }}' }, 'ERR_WID_RULE_EXPRESSION_SYNTAX', 'spec.spiffe.id'],
      [{ id: '/x', hint: '{{ nope }}' }, 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE', 'spec.spiffe.hint'],
      [
        { id: '/x', x509: { dns_sans: ['bad_name.local'] } },
        'ERR_WID_RULE_INVALID_FIELD',
        'spec.spiffe.x509.dns_sans[0]',
      ],
      [
        { id: '/x', x509: { dns_sans: ['ok', '{{ workload.unix.user }}..svc'] } },
        'ERR_WID_RULE_INVALID_FIELD',
        'spec.spiffe.x509.dns_sans[1]',
      ],
      [{ id: '/x', x509: { dns_sans: [''] } }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.x509.dns_sans[0]'],
      [
        { id: '/x', x509: { dns_sans: ['{{ workload.unix.foo }}'] } },
        'ERR_WID_RULE_UNKNOWN_ATTRIBUTE',
        'spec.spiffe.x509.dns_sans[0]',
      ],
      [{ id: '/x', x509: { ip_sans: ['10.0.0.300'] } }, 'ERR_WID_RULE_INVALID_FIELD', 'spec.spiffe.x509.ip_sans[0]'],
      [
        { id: '/x', x509: { subject_template: { common_name: 'c'.repeat(65) } } },
        'ERR_WID_RULE_INVALID_FIELD',
        'spec.spiffe.x509.subject_template.common_name',
      ],
      [
        { id: '/x', x509: { subject_template: { organizational_unit: '{{ x }}' } } },
        'ERR_WID_RULE_UNKNOWN_ATTRIBUTE',
        'spec.spiffe.x509.subject_template.organizational_unit',
      ],
      [
        { id: '/x', jwt: { extra_claims: { a: { 'b.c': ['{{ nope }}'] } } } },
        'ERR_WID_RULE_UNKNOWN_ATTRIBUTE',
        'spec.spiffe.jwt.extra_claims.a["b.c"][0]',
      ],
      [
        { id: '/x', jwt: { extra_claims: { iss: 'me' } } },
        'ERR_WID_RULE_RESERVED_CLAIM',
        'spec.spiffe.jwt.extra_claims.iss',
      ],
      [
        { id: '/x', jwt: { extra_claims: { aud: ['x'] } } },
        'ERR_WID_RULE_RESERVED_CLAIM',
        'spec.spiffe.jwt.extra_claims.aud',
      ],
    ] as const)('%j -> %s at %s', (spiffe, code, path) => {
      const e = thrown(() => loadWorkloadIdentities(resource('t', { spiffe: spiffe as Spiffe }), { trustDomain: TD }));
      expect([e.code, e.path, e.resource]).toEqual([code, path, 't']);
    });

    it('gives the column of a template error inside the field', () => {
      const e = thrown(() =>
        loadWorkloadIdentities(
          resource('t', { spiffe: { id: '/a/{{ workload.unix.uid }}/{{ workload.unix.nope }}' } }),
          { trustDomain: TD },
        ),
      );
      expect(e.code).toBe('ERR_WID_RULE_UNKNOWN_ATTRIBUTE');
      expect(e.expressionColumn).toBe('/a/{{ workload.unix.uid }}/{{ '.length + 1);
    });

    it('finds "}}" after string literals that contain it', () => {
      expect(issue({ id: '/x', hint: '{{ ifelse(true, "a}}b", "c") }}!' }).hint).toBe('a}}b!');
      expect(issue({ id: '/x', hint: '{{ `}}` }}' }).hint).toBe('}}');
    });

    it('limits extra_claims nesting to 10 levels', () => {
      const nest = (depth: number): Record<string, unknown> => (depth === 1 ? { v: 1 } : { n: nest(depth - 1) });
      expect(() =>
        loadWorkloadIdentities(resource('t', { spiffe: { jwt: { extra_claims: nest(10) as never } } }), {
          trustDomain: TD,
        }),
      ).not.toThrow();
      const e = thrown(() =>
        loadWorkloadIdentities(resource('t', { spiffe: { jwt: { extra_claims: nest(11) as never } } }), {
          trustDomain: TD,
        }),
      );
      expect([e.code, e.limit]).toEqual(['ERR_WID_RULE_CLAIMS_TOO_DEEP', 10]);
    });
  });
});
