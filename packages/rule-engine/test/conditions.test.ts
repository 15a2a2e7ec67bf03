import { explain, loadWorkloadIdentities, type WorkloadIdentityCondition } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import { ATTRS, decideOne, load, resource, TD, thrown } from './helpers.js';

function outcome(condition: WorkloadIdentityCondition, attrs: unknown = ATTRS): string {
  const d = decideOne(resource('c', { rules: [{ conditions: [condition] }] }), attrs);
  return d.kind === 'issue' ? 'held' : d.code === 'ERR_WID_RULE_NO_RULE_MATCHED' ? 'not_held' : d.code;
}

const cond = (attribute: string, op: Omit<WorkloadIdentityCondition, 'attribute'>): WorkloadIdentityCondition => ({
  attribute,
  ...op,
});

describe('conditions', () => {
  it.each([
    // every operator, on strings
    ['workload.kubernetes.namespace', { eq: { value: 'default' } }, 'held'],
    ['workload.kubernetes.namespace', { eq: { value: 'Default' } }, 'not_held'],
    ['workload.kubernetes.namespace', { not_eq: { value: 'default' } }, 'not_held'],
    ['workload.kubernetes.namespace', { not_eq: { value: 'kube-system' } }, 'held'],
    ['workload.kubernetes.namespace', { in: { values: ['prod', 'default'] } }, 'held'],
    ['workload.kubernetes.namespace', { in: { values: ['prod'] } }, 'not_held'],
    ['workload.kubernetes.namespace', { in: { values: [] } }, 'not_held'],
    ['workload.kubernetes.namespace', { not_in: { values: ['prod', 'default'] } }, 'not_held'],
    ['workload.kubernetes.namespace', { not_in: { values: ['prod'] } }, 'held'],
    ['workload.kubernetes.namespace', { not_in: { values: [] } }, 'held'],
    // integers compare in decimal
    ['workload.unix.uid', { eq: { value: '1000' } }, 'held'],
    ['workload.unix.uid', { eq: { value: '01000' } }, 'not_held'],
    ['workload.unix.uid', { in: { values: ['0', '1000'] } }, 'held'],
    ['workload.unix.pid', { not_eq: { value: '1' } }, 'held'],
    // bools compare as true / false
    ['workload.unix.attested', { eq: { value: 'true' } }, 'held'],
    ['workload.unix.attested', { eq: { value: 'True' } }, 'not_held'],
    ['workload.systemd.attested', { eq: { value: 'false' } }, 'held'],
    // map entries, dotted and bracketed (a map swallows the rest of a dotted path as its key)
    ['workload.kubernetes.labels.app', { eq: { value: 'web' } }, 'held'],
    ['workload.kubernetes.labels["app"]', { eq: { value: 'web' } }, 'held'],
    ['workload.kubernetes.labels.app.kubernetes.io/name', { eq: { value: 'web' } }, 'held'],
    ['workload.kubernetes.labels["app.kubernetes.io/name"]', { eq: { value: 'web' } }, 'held'],
    ['user.labels.env', { in: { values: ['prod'] } }, 'held'],
    ['workload.kubernetes.container.image_digest', { eq: { value: 'sha256:abc' } }, 'held'],
    ['join.kubernetes.service_account.name', { eq: { value: 'web' } }, 'held'],
    // unset attributes fail the rule, whatever the operator (never a silent match for not_eq / not_in)
    ['workload.systemd.service', { eq: { value: 'web' } }, 'ERR_WID_RULE_ATTRIBUTE_UNSET'],
    ['workload.systemd.service', { not_eq: { value: 'web' } }, 'ERR_WID_RULE_ATTRIBUTE_UNSET'],
    ['workload.systemd.service', { not_in: { values: ['web'] } }, 'ERR_WID_RULE_ATTRIBUTE_UNSET'],
    ['workload.kubernetes.labels.missing', { not_eq: { value: 'x' } }, 'ERR_WID_RULE_ATTRIBUTE_UNSET'],
    ['join.iam.account', { not_in: { values: ['1'] } }, 'ERR_WID_RULE_ATTRIBUTE_UNSET'],
  ] as const)('%s %j -> %s', (attribute, op, want) => {
    expect(outcome(cond(attribute, op))).toBe(want);
  });

  it('ANDs the conditions of a rule; a false one wins over an unreadable one, in any order', () => {
    const both = [
      cond('workload.kubernetes.namespace', { eq: { value: 'default' } }),
      cond('workload.unix.uid', { eq: { value: '1000' } }),
    ];
    expect(decideOne(resource('c', { rules: [{ conditions: both }] })).kind).toBe('issue');
    const second = [both[0]!, cond('workload.unix.uid', { eq: { value: '0' } })];
    expect(decideOne(resource('c', { rules: [{ conditions: second }] })).kind).toBe('deny');
    const isFalse = cond('workload.unix.uid', { eq: { value: '0' } });
    const unset = cond('workload.systemd.service', { eq: { value: 'x' } });
    for (const conditions of [
      [isFalse, unset],
      [unset, isFalse],
    ]) {
      const d = decideOne(resource('c', { rules: [{ conditions }] }));
      expect(d.kind === 'deny' && d.code).toBe('ERR_WID_RULE_NO_RULE_MATCHED');
    }
    // No false condition: the unreadable one is the rule's failure, and the reason names it.
    const d2 = decideOne(resource('c', { rules: [{ conditions: [both[1]!, unset, both[0]!] }] }));
    expect(d2.kind === 'deny' && [d2.code, d2.attribute, d2.rule]).toEqual([
      'ERR_WID_RULE_ATTRIBUTE_UNSET',
      'workload.systemd.service',
      0,
    ]);
  });

  it('converts YAML integers and bools in values to strings', () => {
    const set = load(`
kind: workload_identity
version: v1
metadata: { name: c }
spec:
  rules:
    allow:
      - conditions:
          - { attribute: workload.unix.uid, eq: { value: 1000 } }
          - { attribute: workload.unix.attested, in: { values: [true] } }
  spiffe: { id: /c }
`);
    const cond0 = set.get('c')!.resource.spec.rules!.allow![0]!.conditions!;
    expect(cond0[0]!.eq).toEqual({ value: '1000' });
    expect(cond0[1]!.in).toEqual({ values: ['true'] });
    expect(explain(set, ATTRS, { names: ['c'] }).decisions[0]!.kind).toBe('issue');
  });

  it.each([
    ['workload.unix.uuid', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.unix', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.unix.uid.x', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.kubernetes.labels[app]', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.kubernetes.namespace["x"]', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['__proto__.x', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.constructor', 'ERR_WID_RULE_UNKNOWN_ATTRIBUTE'],
    ['workload.kubernetes.labels', 'ERR_WID_RULE_EXPRESSION_TYPE'],
    ['workload.unix.supplementary_gids', 'ERR_WID_RULE_EXPRESSION_TYPE'],
  ])('rejects attribute %j at load with %s', (attribute, code) => {
    const r = resource('c', {
      rules: [
        { conditions: [cond('workload.unix.uid', { eq: { value: '1' } })] },
        { conditions: [cond('workload.unix.uid', { eq: { value: '1' } }), cond(attribute, { eq: { value: 'x' } })] },
      ],
    });
    const e = thrown(() => loadWorkloadIdentities(r, { trustDomain: TD }));
    expect(e.code).toBe(code);
    expect(e.resource).toBe('c');
    expect(e.path).toBe('spec.rules.allow[1].conditions[1].attribute');
  });

  it('names the line of an unknown attribute in YAML', () => {
    const text = `kind: workload_identity
version: v1
metadata:
  name: c
spec:
  rules:
    allow:
      - conditions:
          - attribute: workload.unix.uid
            eq: { value: "1" }
          - attribute: workload.kubernets.namespace
            eq: { value: x }
  spiffe: { id: /c }
`;
    const e = thrown(() => loadWorkloadIdentities(text, { trustDomain: TD }));
    expect([e.code, e.path, e.line, e.column]).toEqual([
      'ERR_WID_RULE_UNKNOWN_ATTRIBUTE',
      'spec.rules.allow[0].conditions[1].attribute',
      11,
      13,
    ]);
    expect(e.message).toMatch(/line 11:13/);
  });
});
