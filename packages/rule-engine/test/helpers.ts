// Shared fixtures for the rule-engine tests (not a test file itself).
import {
  type DecideRequest,
  type Decision,
  decide,
  explain,
  loadWorkloadIdentities,
  type RuleEngineError,
  type WorkloadIdentityResource,
  type WorkloadIdentitySet,
} from '@wid/rule-engine';
import { expect } from 'vitest';

export const TD = 'example.org';

/** A workload attested by unix and kubernetes (systemd did not attest; no join.iam block). */
export const ATTRS = Object.freeze({
  workload: {
    unix: {
      attested: true,
      pid: 4242,
      uid: 1000,
      gid: 1000,
      binary_path: '/usr/bin/node',
      binary_hash: 'ab'.repeat(32),
      user: 'web',
      group: 'web',
      supplementary_gids: [10, 20],
    },
    kubernetes: {
      attested: true,
      namespace: 'default',
      pod_name: 'web-5d8f',
      pod_uid: '0b8f6f2e',
      service_account: 'web',
      labels: { app: 'web', 'app.kubernetes.io/name': 'web', team: 'core', empty: '' },
      container: { name: 'main', image: 'ghcr.io/acme/web:1.2', image_digest: 'sha256:abc' },
    },
  },
  join: {
    meta: { join_method: 'kubernetes', join_token_name: 'tok' },
    kubernetes: {
      subject: 'system:serviceaccount:default:web',
      service_account: { name: 'web', namespace: 'default' },
      pod: { name: 'web-5d8f' },
    },
  },
  user: { name: 'bot-web', bot_name: 'web', bot_instance_id: 'i-1', labels: { env: 'prod' } },
});

type Spiffe = WorkloadIdentityResource['spec']['spiffe'];
type Rule = NonNullable<NonNullable<WorkloadIdentityResource['spec']['rules']>['allow']>[number];

export function resource(
  name: string,
  opts: { rules?: Rule[]; spiffe?: Partial<Spiffe>; labels?: Record<string, string> } = {},
): WorkloadIdentityResource {
  return {
    kind: 'workload_identity',
    version: 'v1',
    metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: {
      ...(opts.rules ? { rules: { allow: opts.rules } } : {}),
      spiffe: { id: `/${name}`, ...opts.spiffe },
    },
  };
}

export function load(resources: WorkloadIdentityResource | WorkloadIdentityResource[] | string): WorkloadIdentitySet {
  return loadWorkloadIdentities(resources, { trustDomain: TD });
}

/** Decides one resource by name. */
export function decideOne(
  r: WorkloadIdentityResource,
  attrs: unknown = ATTRS,
  req: Omit<DecideRequest, 'names'> = {},
): Decision {
  const d = decide(load(r), attrs, { ...req, names: [r.metadata.name] });
  expect(d).toHaveLength(1);
  return d[0]!;
}

/** 'held' | 'not_held' | the denial code of a single-expression rule. */
export function exprOutcome(expression: string, attrs: unknown = ATTRS): string {
  const set = load(resource('e', { rules: [{ expression }] }));
  const x = explain(set, attrs, { names: ['e'] });
  const rule = x.resources[0]!.rules[0]!;
  // explain and decide must agree.
  const d = decide(set, attrs, { names: ['e'] })[0]!;
  expect(d.kind === 'issue').toBe(rule.outcome === 'held');
  return rule.outcome === 'error' ? rule.error!.code : rule.outcome;
}

/** Runs `fn`, expecting a RuleEngineError; returns it. */
export function thrown(fn: () => unknown): RuleEngineError {
  try {
    fn();
  } catch (e) {
    expect((e as { code?: unknown }).code).toMatch(/^ERR_WID_RULE_/);
    return e as RuleEngineError;
  }
  throw new Error('expected a RuleEngineError, nothing was thrown');
}
