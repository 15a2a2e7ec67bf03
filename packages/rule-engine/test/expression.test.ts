import { decide, loadWorkloadIdentities, type RuleEngineError } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import cases from './fixtures/expressions.json' with { type: 'json' };
import { ATTRS, exprOutcome, load, resource, TD, thrown } from './helpers.js';

describe('expression rules', () => {
  it.each(cases.evaluate)('$expr -> $expect', ({ expr, expect: want }) => {
    expect(exprOutcome(expr)).toBe(want);
  });
});

describe('expression load errors', () => {
  it.each(cases.loadErrors)('$expr -> $code', ({ expr, code, at }) => {
    const e: RuleEngineError = thrown(() =>
      loadWorkloadIdentities(resource('e', { rules: [{ expression: expr }] }), { trustDomain: TD }),
    );
    expect(e.code).toBe(code);
    expect(e.resource).toBe('e');
    expect(e.path).toBe('spec.rules.allow[0].expression');
    expect(e.expressionColumn).toBeTypeOf('number');
    if (at !== null) expect(e.expressionColumn).toBe(expr.indexOf(at) + 1);
  });

  it('reports the line of the expression and the column inside it, from YAML', () => {
    const text = [
      'kind: workload_identity',
      'version: v1',
      'metadata: { name: web }',
      'spec:',
      '  rules:',
      '    allow:',
      '      - expression: workload.unix.uid == 1000',
      '      - expression: workload.unix.uid == 1000 && workload.unix.uuid == 1',
      '  spiffe: { id: /web }',
    ].join('\n');
    const e = thrown(() => loadWorkloadIdentities({ text, source: 'web.yaml' }, { trustDomain: TD }));
    expect(e.code).toBe('ERR_WID_RULE_UNKNOWN_ATTRIBUTE');
    expect(e.path).toBe('spec.rules.allow[1].expression');
    expect(e.line).toBe(8);
    expect(e.source).toBe('web.yaml');
    expect(e.expressionColumn).toBe(30);
    expect(e.message).toContain('workload_identity "web"');
    expect(e.message).toContain('web.yaml:8');
    expect(e.message).toContain('workload.unix.uuid');
  });

  it('rejects a regexp with more than 32 capture groups at load, with the column and the offset', () => {
    const expr = `regexp.match(workload.unix.binary_path, "${'()'.repeat(333)}")`;
    const e = thrown(() =>
      loadWorkloadIdentities(resource('e', { rules: [{ expression: expr }] }), { trustDomain: TD }),
    );
    expect(e.code).toBe('ERR_WID_RULE_UNSUPPORTED_REGEX');
    expect(e.expressionColumn).toBe(expr.indexOf('"') + 1);
    expect(e.message).toContain('more than 32 capture groups');
    expect(e.message).toContain('at offset 64 of the pattern');
    const nested = `regexp.match(workload.unix.binary_path, "${'()'.repeat(32)}(?:())")`;
    expect(
      thrown(() => loadWorkloadIdentities(resource('e', { rules: [{ expression: nested }] }), { trustDomain: TD }))
        .message,
    ).toContain('at offset 67 of the pattern');
    const ok = `regexp.match(workload.unix.binary_path, "${'()'.repeat(32)}(?:a)")`;
    expect(loadWorkloadIdentities(resource('e', { rules: [{ expression: ok }] }), { trustDomain: TD }).size).toBe(1);
  });

  it('lists the known attributes of the group in an unknown-attribute error', () => {
    const e = thrown(() =>
      loadWorkloadIdentities(resource('e', { rules: [{ expression: 'workload.kubernetes.podname == "x"' }] }), {
        trustDomain: TD,
      }),
    );
    expect(e.message).toContain('pod_name');
  });

  it('rejects an expression longer than 4096 characters', () => {
    const expression = Array.from({ length: 300 }, () => 'workload.unix.uid == 1').join(' || ');
    expect(
      thrown(() => loadWorkloadIdentities(resource('e', { rules: [{ expression }] }), { trustDomain: TD })).code,
    ).toBe('ERR_WID_RULE_EXPRESSION_SYNTAX');
  });
});

describe('expression runtime values', () => {
  const withUnix = (unix: Record<string, unknown>) => ({ workload: { unix: { attested: true, ...unix } } });

  it('denies with ERR_WID_RULE_ATTRIBUTE_TYPE when an attestor produced the wrong type', () => {
    expect(exprOutcome('workload.unix.uid == 1000', withUnix({ uid: '1000' }))).toBe('ERR_WID_RULE_ATTRIBUTE_TYPE');
    expect(exprOutcome('workload.unix.uid == 1000', withUnix({ uid: 1000.5 }))).toBe('ERR_WID_RULE_ATTRIBUTE_TYPE');
    expect(exprOutcome('workload.unix.attested && workload.unix.uid == 1', withUnix({ uid: [1] }))).toBe(
      'ERR_WID_RULE_ATTRIBUTE_TYPE',
    );
    expect(
      exprOutcome('contains(workload.unix.supplementary_gids, 3)', withUnix({ supplementary_gids: ['1', 3] })),
    ).toBe('ERR_WID_RULE_ATTRIBUTE_TYPE');
    expect(exprOutcome('contains(workload.unix.supplementary_gids, 3)', withUnix({ supplementary_gids: '3' }))).toBe(
      'ERR_WID_RULE_ATTRIBUTE_TYPE',
    );
    const k8s = { workload: { kubernetes: { attested: true, labels: { app: 7 } } } };
    expect(exprOutcome('workload.kubernetes.labels.app == "7"', k8s)).toBe('ERR_WID_RULE_ATTRIBUTE_TYPE');
    expect(exprOutcome('workload.kubernetes.labels[strings.lower("APP")] == "7"', k8s)).toBe(
      'ERR_WID_RULE_ATTRIBUTE_TYPE',
    );
    expect(
      exprOutcome('contains(workload.kubernetes.labels, "app")', {
        workload: { kubernetes: { attested: true, labels: [] } },
      }),
    ).toBe('ERR_WID_RULE_ATTRIBUTE_TYPE');
  });

  it('treats null as unset', () => {
    expect(exprOutcome('workload.unix.uid == 1', withUnix({ uid: null }))).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
  });

  it('refuses regexp input longer than 4096 characters and oversized results', () => {
    const long = withUnix({ binary_path: `/${'a'.repeat(5000)}` });
    expect(exprOutcome('regexp.match(workload.unix.binary_path, "a")', long)).toBe('ERR_WID_RULE_VALUE_TOO_LONG');
    expect(exprOutcome('regexp.replace(workload.unix.binary_path, "a", "b") == ""', long)).toBe(
      'ERR_WID_RULE_VALUE_TOO_LONG',
    );
    const big = withUnix({ binary_path: 'a'.repeat(4000), user: 'b'.repeat(4000) });
    expect(exprOutcome('strings.replaceall(workload.unix.binary_path, "a", workload.unix.user) == ""', big)).toBe(
      'ERR_WID_RULE_VALUE_TOO_LONG',
    );
    expect(exprOutcome('regexp.replace(workload.unix.binary_path, "a", workload.unix.user) == ""', big)).toBe(
      'ERR_WID_RULE_VALUE_TOO_LONG',
    );
  });

  it('denies with ERR_WID_RULE_REGEX_TOO_COSTLY when regexp.replace would rescan its input for every match', () => {
    const attrs = withUnix({ binary_path: `/${'a'.repeat(4000)}` });
    const pattern = `(?:${'a*'.repeat(200)}b)|a`;
    const expression = `regexp.replace(workload.unix.binary_path, "${pattern}", "x") == "nope"`;
    expect(exprOutcome(expression, attrs)).toBe('ERR_WID_RULE_REGEX_TOO_COSTLY');
    // Negating the failing comparison must not turn the failure into a grant.
    expect(exprOutcome(`!(${expression})`, attrs)).toBe('ERR_WID_RULE_REGEX_TOO_COSTLY');
    const set = load(resource('e', { rules: [{ expression }] }));
    const d = decide(set, attrs, { names: ['e'] })[0]!;
    expect(d).toMatchObject({ kind: 'deny', code: 'ERR_WID_RULE_REGEX_TOO_COSTLY', rule: 0 });
    expect(d.kind === 'deny' && d.reason).toContain('exceeded its budget of');
    // The same pattern on a short input, and a plain pattern on the long one, still evaluate.
    expect(exprOutcome(expression.replace('"nope"', '"/xxx"'), withUnix({ binary_path: '/aaa' }))).toBe('held');
    expect(exprOutcome('regexp.replace(workload.unix.binary_path, "a", "") == "/"', attrs)).toBe('held');
  });

  it('runs a catastrophic-backtracking pattern in linear time', () => {
    // With a backtracking engine, (a+)+$ against 4000 a's and a b would not finish.
    const attrs = withUnix({ binary_path: `${'a'.repeat(4000)}b` });
    expect(exprOutcome('regexp.match(workload.unix.binary_path, "^(a+)+$")', attrs)).toBe('not_held');
    expect(exprOutcome('regexp.match(workload.unix.binary_path, "(a|aa)*c")', attrs)).toBe('not_held');
    expect(exprOutcome('regexp.match(workload.unix.binary_path, ".*a.*a.*a.*a.*c")', attrs)).toBe('not_held');
  });

  it('reads only own properties of the attributes', () => {
    const proto = { workload: { unix: { attested: true, uid: 0 } } };
    expect(exprOutcome('workload.unix.uid == 0', Object.create(proto))).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
    const inherited = { workload: { unix: Object.assign(Object.create({ uid: 0 }), { attested: true }) } };
    expect(exprOutcome('workload.unix.uid == 0', inherited)).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
    const k8s = { workload: { kubernetes: { attested: true, labels: { app: 'web' } } } };
    expect(exprOutcome('workload.kubernetes.labels["constructor"] == "x"', k8s)).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
    expect(exprOutcome('workload.kubernetes.labels.__proto__ == "x"', k8s)).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
    expect(exprOutcome('contains(workload.kubernetes.labels, "toString")', k8s)).toBe('not_held');
    const own = JSON.parse('{"workload":{"kubernetes":{"attested":true,"labels":{"__proto__":"x"}}}}');
    expect(exprOutcome('workload.kubernetes.labels.__proto__ == "x"', own)).toBe('held');
  });

  it('requires attested === true for an attestor block', () => {
    const attrs = { workload: { systemd: { attested: 'true', service: 'web' } } };
    expect(exprOutcome('workload.systemd.service == "web"', attrs)).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
    expect(exprOutcome('workload.systemd.attested', attrs)).toBe('not_held');
    expect(
      exprOutcome('workload.systemd.service == "web"', { workload: { systemd: { attested: true, service: 'web' } } }),
    ).toBe('held');
  });

  it('never fails on attributes that are not objects', () => {
    for (const attrs of [null, Object.create(null), 42, 'x', [], { workload: [] }, { workload: { unix: 'x' } }]) {
      expect(exprOutcome('workload.unix.uid == 0', attrs)).toBe('ERR_WID_RULE_ATTRIBUTE_UNSET');
      expect(exprOutcome('workload.unix.attested', attrs)).toBe('not_held');
    }
  });

  it('uses the same attributes object the test fixture describes', () => {
    expect(ATTRS.workload.unix.uid).toBe(1000);
  });
});
