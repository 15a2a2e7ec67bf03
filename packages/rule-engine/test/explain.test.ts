import { decide, explain } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import { ATTRS, load, resource, thrown } from './helpers.js';

const set = load([
  resource('web', {
    labels: { env: 'prod' },
    rules: [
      {
        conditions: [
          { attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } },
          { attribute: 'workload.unix.uid', in: { values: ['0', '33'] } },
          { attribute: 'workload.systemd.service', eq: { value: 'web' } },
        ],
      },
      { expression: 'workload.unix.uid == 1000 && workload.kubernetes.labels["app"] == "db"' },
    ],
  }),
  resource('open', { labels: { env: 'prod' } }),
  resource('broken-template', { labels: { env: 'prod' }, spiffe: { id: '/{{ workload.systemd.service }}' } }),
]);

describe('explain', () => {
  const x = explain(set, ATTRS, { labelSelectors: { env: ['prod'] } });

  it('returns exactly the decisions decide returns', () => {
    expect(x.decisions).toEqual(decide(set, ATTRS, { labelSelectors: { env: ['prod'] } }));
    expect(x.error).toBeUndefined();
  });

  it('reports every condition with the actual value compared, even after one failed', () => {
    const web = x.resources[0]!;
    expect(web.decision).toMatchObject({ kind: 'deny', code: 'ERR_WID_RULE_NO_RULE_MATCHED' });
    const [r0, r1] = web.rules;
    expect(r0).toMatchObject({ index: 0, kind: 'conditions', outcome: 'not_held' });
    expect(r0!.conditions.map((c) => [c.attribute, c.operator, c.values, c.actual, c.outcome])).toEqual([
      ['workload.kubernetes.namespace', 'eq', ['default'], 'default', 'held'],
      ['workload.unix.uid', 'in', ['0', '33'], '1000', 'not_held'],
      ['workload.systemd.service', 'eq', ['web'], undefined, 'error'],
    ]);
    expect(r0!.conditions[2]!.error).toMatchObject({
      code: 'ERR_WID_RULE_ATTRIBUTE_UNSET',
      attribute: 'workload.systemd.service',
    });
    expect(r1).toMatchObject({ index: 1, kind: 'expression', outcome: 'not_held' });
    expect(r1!.steps).toEqual([
      { kind: 'read', attribute: 'workload.unix.uid', value: 1000 },
      { kind: 'test', text: 'workload.unix.uid == 1000', result: true, operands: [1000, 1000] },
      { kind: 'read', attribute: 'workload.kubernetes.labels.app', value: 'web' },
      { kind: 'test', text: 'workload.kubernetes.labels["app"] == "db"', result: false, operands: ['web', 'db'] },
    ]);
  });

  it('renders it for people', () => {
    const text = x.toString();
    expect(text).toBe(x.text);
    expect(text).toContain('3 workload identities selected');
    expect(text).toContain('workload_identity "web"');
    expect(text).toContain('DENIED ERR_WID_RULE_NO_RULE_MATCHED');
    expect(text).toContain('[held]     workload.kubernetes.namespace eq "default" (actual "default")');
    expect(text).toContain('[not held] workload.unix.uid in ["0", "33"] (actual "1000")');
    expect(text).toContain('[error]    workload.systemd.service eq "web" (ERR_WID_RULE_ATTRIBUTE_UNSET');
    expect(text).toContain('read workload.kubernetes.labels.app = "web"');
    expect(text).toContain('workload.kubernetes.labels["app"] == "db" -> false (operands "web", "db")');
    expect(text).toContain(
      `workload_identity "open" (revision ${set.get('open')!.revision}): ISSUED spiffe://example.org/open (no rules: every workload is allowed; ttl 3600s)`,
    );
    expect(text).toMatch(
      /"broken-template".*DENIED ERR_WID_RULE_ATTRIBUTE_UNSET: spec\.spiffe\.id: workload\.systemd\.service is unset/,
    );
  });

  it('explains a rule whose failure is the reason', () => {
    const y = explain(set, { workload: { unix: ATTRS.workload.unix } }, { names: ['web'] });
    expect(y.resources[0]!.rules[1]).toMatchObject({
      outcome: 'error',
      error: { code: 'ERR_WID_RULE_ATTRIBUTE_UNSET', attribute: 'workload.kubernetes.labels.app' },
    });
    expect(y.text).toContain('rule 1 (expression): error: ERR_WID_RULE_ATTRIBUTE_UNSET');
  });

  it('explains names that do not exist', () => {
    const y = explain(set, ATTRS, { names: ['ghost'] });
    expect(y.resources).toEqual([
      { resource: 'ghost', decision: expect.objectContaining({ code: 'ERR_WID_RULE_IDENTITY_NOT_FOUND' }), rules: [] },
    ]);
    expect(y.text).toContain('DENIED ERR_WID_RULE_IDENTITY_NOT_FOUND');
  });

  it('reports the identity cap instead of throwing', () => {
    const two = load([resource('a', { labels: { env: 'prod' } }), resource('b', { labels: { env: 'prod' } })]);
    const req = { labelSelectors: { env: ['prod'] }, maxIdentities: 1 };
    const y = explain(two, ATTRS, req);
    expect(y.decisions.map((d) => d.kind)).toEqual(['issue', 'issue']);
    expect(y.error?.code).toBe('ERR_WID_RULE_TOO_MANY_IDENTITIES');
    expect(y.text).toContain('request error ERR_WID_RULE_TOO_MANY_IDENTITIES');
    expect(thrown(() => decide(two, ATTRS, req)).code).toBe('ERR_WID_RULE_TOO_MANY_IDENTITIES');
  });

  it('rejects a request that selects nothing', () => {
    expect(thrown(() => explain(set, ATTRS, {})).code).toBe('ERR_WID_RULE_NO_SELECTOR');
  });
});
