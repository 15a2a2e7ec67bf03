import { compileKubernetesAllowRules } from '@wid/join-kubernetes';
import { describe, expect, it } from 'vitest';
import { expectThrowCode } from './helpers.js';

describe('compileKubernetesAllowRules', () => {
  it('matches namespace and name exactly', () => {
    const match = compileKubernetesAllowRules([
      { service_account: 'a:b' },
      { service_account: 'wid-system:wid-agent' },
    ]);
    expect(match({ namespace: 'wid-system', name: 'wid-agent' })).toBe(1);
    expect(match({ namespace: 'wid-system', name: 'wid-agent2' })).toBe(-1);
    expect(match({ namespace: 'wid', name: 'system:wid-agent' })).toBe(-1);
    expect(match({ namespace: 'b', name: 'a' })).toBe(-1);
  });

  it.each([
    [[], undefined],
    [[{}], 0],
    [[{ service_account: 'wid-system/wid-agent' }], 0],
    [[{ service_account: 'wid-system:*' }], 0],
    [[{ service_account: 'a:b:c' }], 0],
    [[{ service_account: 'Wid:agent' }], 0],
    [[{ service_account: 'a:b' }, { service_account: 'a:b', namespace: 'x' }], 1],
  ])('rejects %j', (rules, index) => {
    const e = expectThrowCode(() => compileKubernetesAllowRules(rules as never), 'ERR_WID_JOIN_KUBERNETES_BAD_RULES');
    expect(e['index']).toBe(index);
  });
});
