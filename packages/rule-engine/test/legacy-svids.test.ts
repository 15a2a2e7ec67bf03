import { decide, loadWorkloadIdentities, translateLegacySvids } from '@wid/rule-engine';
import { describe, expect, it } from 'vitest';
import { TD, thrown } from './helpers.js';

const unixOnly = (u: Record<string, unknown>) => ({
  workload: { unix: { attested: true, pid: 1, uid: 1000, gid: 1000, ...u } },
});
const both = (u: Record<string, unknown>, k: Record<string, unknown>) => ({
  workload: {
    unix: { attested: true, pid: 1, uid: 1000, gid: 1000, ...u },
    kubernetes: { attested: true, namespace: 'default', service_account: 'web', pod_name: 'web-1', ...k },
  },
});

function issued(svids: unknown, attrs: unknown): boolean {
  const resources = translateLegacySvids(svids);
  const set = loadWorkloadIdentities(resources, { trustDomain: TD });
  const [d] = decide(set, attrs, { names: ['legacy-svid-0'] });
  return d?.kind === 'issue';
}

describe('translateLegacySvids', () => {
  it('translates into workload_identity resources', () => {
    const resources = translateLegacySvids(
      `svids:
  - path: /svc/web
    hint: web
    sans:
      dns: [web.local, "*.web.local"]
      ip: [10.0.0.1, "::1"]
    rules:
      - unix: { uid: 1000, gid: 50 }
      - kubernetes: { namespace: default, service_account: web }
  - path: /svc/any
`,
      { namePrefix: 'api-', labels: { service: 'api' } },
    );
    expect(resources).toEqual([
      {
        kind: 'workload_identity',
        version: 'v1',
        metadata: { name: 'api-0', labels: { service: 'api' } },
        spec: {
          rules: {
            allow: [
              {
                conditions: [
                  { attribute: 'workload.unix.attested', eq: { value: 'true' } },
                  { attribute: 'workload.unix.uid', eq: { value: '1000' } },
                  { attribute: 'workload.unix.gid', eq: { value: '50' } },
                ],
              },
              {
                conditions: [
                  { attribute: 'workload.kubernetes.attested', eq: { value: 'true' } },
                  { attribute: 'workload.kubernetes.namespace', eq: { value: 'default' } },
                  { attribute: 'workload.kubernetes.service_account', eq: { value: 'web' } },
                ],
              },
            ],
          },
          spiffe: {
            id: '/svc/web',
            hint: 'web',
            x509: { dns_sans: ['web.local', '*.web.local'], ip_sans: ['10.0.0.1', '::1'] },
          },
        },
      },
      {
        kind: 'workload_identity',
        version: 'v1',
        metadata: { name: 'api-1', labels: { service: 'api' } },
        spec: { spiffe: { id: '/svc/any' } },
      },
    ]);
    const set = loadWorkloadIdentities(resources, { trustDomain: TD });
    const [d] = decide(set, unixOnly({ gid: 50 }), { labelSelectors: { service: ['api'] } });
    expect(d?.kind === 'issue' && [d.spiffeId.toString(), d.hint, d.dnsSans, d.ipSans]).toEqual([
      'spiffe://example.org/svc/web',
      'web',
      ['web.local', '*.web.local'],
      ['10.0.0.1', '::1'],
    ]);
  });

  it.each([
    // [rules, attributes, issued?]
    ['no rules: every workload', undefined, {}, true],
    ['empty rule: every workload', [{}], {}, true],
    ['uid matches', [{ unix: { uid: 1000 } }], unixOnly({}), true],
    ['uid differs', [{ unix: { uid: 0 } }], unixOnly({}), false],
    ['uid 0 matches root', [{ unix: { uid: 0 } }], unixOnly({ uid: 0 }), true],
    ['pid, uid and gid are ANDed', [{ unix: { pid: 1, uid: 1000, gid: 7 } }], unixOnly({}), false],
    ['pid, uid and gid all match', [{ unix: { pid: 1, uid: 1000, gid: 1000 } }], unixOnly({}), true],
    ['unix named but not attested', [{ unix: { uid: 1000 } }], {}, false],
    [
      'unix named but attested:false',
      [{ unix: { uid: 1000 } }],
      { workload: { unix: { attested: false, uid: 1000 } } },
      false,
    ],
    ['empty unix block requires unix', [{ unix: {} }], {}, false],
    [
      'kubernetes matches',
      [{ kubernetes: { namespace: 'default', service_account: 'web', pod_name: 'web-1' } }],
      both({}, {}),
      true,
    ],
    ['kubernetes differs', [{ kubernetes: { namespace: 'prod' } }], both({}, {}), false],
    ['kubernetes named but not attested', [{ kubernetes: { namespace: 'default' } }], unixOnly({}), false],
    ['empty string field is unset, as in tbot', [{ kubernetes: { namespace: '' } }], both({}, {}), true],
    [
      'fields across attestors are ANDed',
      [{ unix: { uid: 1000 }, kubernetes: { namespace: 'prod' } }],
      both({}, {}),
      false,
    ],
    ['rules are ORed', [{ unix: { uid: 0 } }, { kubernetes: { namespace: 'default' } }], both({}, {}), true],
    ['rules are ORed, none holds', [{ unix: { uid: 0 } }, { kubernetes: { namespace: 'x' } }], both({}, {}), false],
    [
      'a failing rule does not hide a later one',
      [{ kubernetes: { namespace: 'default' } }, { unix: { uid: 1000 } }],
      unixOnly({}),
      true,
    ],
  ])('%s', (_name, rules, attrs, want) => {
    expect(issued([{ path: '/svc/x', ...(rules ? { rules } : {}) }], attrs)).toBe(want);
  });

  it.each([
    ['svids:\n  - path: /a\n    hint: x\n    rulez: []\n', 'ERR_WID_RULE_UNKNOWN_FIELD', 'svids[0].rulez', 4],
    ['svids:\n  - hint: x\n', 'ERR_WID_RULE_MISSING_FIELD', 'svids[0].path', 2],
    ['svids:\n  - path: svc/a\n', 'ERR_WID_RULE_INVALID_FIELD', 'svids[0].path', 2],
    ['svids:\n  - path: /a/{{ workload.unix.uid }}\n', 'ERR_WID_RULE_INVALID_FIELD', 'svids[0].path', 2],
    [
      'svids:\n  - path: /a\n    rules:\n      - unix: { uid: -1 }\n',
      'ERR_WID_RULE_INVALID_FIELD',
      'svids[0].rules[0].unix.uid',
      4,
    ],
    [
      'svids:\n  - path: /a\n    rules:\n      - unix: { uid: "1000" }\n',
      'ERR_WID_RULE_INVALID_FIELD',
      'svids[0].rules[0].unix.uid',
      4,
    ],
    [
      'svids:\n  - path: /a\n    rules:\n      - unix: { user: root }\n',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'svids[0].rules[0].unix.user',
      4,
    ],
    [
      'svids:\n  - path: /a\n    rules:\n      - docker: {}\n',
      'ERR_WID_RULE_UNKNOWN_FIELD',
      'svids[0].rules[0].docker',
      4,
    ],
    [
      'svids:\n  - path: /a\n    rules:\n      - kubernetes: { namespace: 5 }\n',
      'ERR_WID_RULE_INVALID_FIELD',
      'svids[0].rules[0].kubernetes.namespace',
      4,
    ],
    ['svids:\n  - path: /a\n    sans: { uri: [x] }\n', 'ERR_WID_RULE_UNKNOWN_FIELD', 'svids[0].sans.uri', 3],
    ['svids:\n  - path: /a\n    sans: { dns: x.local }\n', 'ERR_WID_RULE_INVALID_FIELD', 'svids[0].sans.dns', 3],
    ['svids: {}\n', 'ERR_WID_RULE_INVALID_FIELD', 'svids', 1],
    ['services: []\n', 'ERR_WID_RULE_UNKNOWN_FIELD', 'services', 1],
    ['42\n', 'ERR_WID_RULE_INVALID_FIELD', '', 1],
  ])('rejects %j', (text, code, path, line) => {
    const e = thrown(() => translateLegacySvids(text, { source: 'tbot.yaml' }));
    expect([e.code, e.path, e.line]).toEqual([code, path, line]);
    if (line !== undefined) expect(e.message).toContain(`tbot.yaml:${line}:`);
  });

  it('accepts the list itself, or an object holding it', () => {
    expect(translateLegacySvids([{ path: '/a' }])[0]?.metadata.name).toBe('legacy-svid-0');
    expect(translateLegacySvids({ svids: [{ path: '/a' }, { path: '/b' }] }).map((r) => r.spec.spiffe.id)).toEqual([
      '/a',
      '/b',
    ]);
    expect(translateLegacySvids({})).toEqual([]);
  });

  it('leaves SPIFFE path validation to the loader, which names the resource', () => {
    const resources = translateLegacySvids([{ path: '/a//b' }]);
    const e = thrown(() => loadWorkloadIdentities(resources, { trustDomain: TD }));
    expect([e.code, e.resource, e.path]).toEqual(['ERR_WID_RULE_INVALID_FIELD', 'legacy-svid-0', 'spec.spiffe.id']);
  });
});
