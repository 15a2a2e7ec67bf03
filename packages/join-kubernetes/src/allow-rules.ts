import { KubernetesJoinError } from './errors.js';

/** One `allow` rule of a Kubernetes join token (Teleport's shape): a service account as `namespace:name`. */
export interface KubernetesAllowRule {
  /** `<namespace>:<name>`, compared exactly (no globs). */
  readonly service_account: string;
}

/** Compiled allow rules: the index of the first rule naming this service account, or -1. */
export type KubernetesAllowMatcher = (serviceAccount: { readonly namespace: string; readonly name: string }) => number;

// Namespace: DNS-1123 label. Service account name: DNS-1123 subdomain.
const NAMESPACE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

function bad(message: string, index?: number, key?: string): KubernetesJoinError {
  return new KubernetesJoinError('ERR_WID_JOIN_KUBERNETES_BAD_RULES', message, { index, key });
}

/**
 * Validates and compiles `allow` rules once.
 *
 * @example
 * const match = compileKubernetesAllowRules([{ service_account: 'wid-system:wid-agent' }]);
 * match({ namespace: 'wid-system', name: 'wid-agent' }); // 0
 */
export function compileKubernetesAllowRules(rules: readonly KubernetesAllowRule[]): KubernetesAllowMatcher {
  if (!Array.isArray(rules) || rules.length === 0) {
    throw bad('allow rules must be a non-empty array; an empty list would admit nobody');
  }
  const allowed = new Map<string, number>();
  rules.forEach((rule: unknown, index) => {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
      throw bad(`allow rule ${index} is not an object`, index);
    for (const key of Object.keys(rule)) {
      if (key !== 'service_account')
        throw bad(`allow rule ${index} has unknown key "${key}"; use service_account`, index, key);
    }
    const value = (rule as { service_account?: unknown }).service_account;
    const parts = typeof value === 'string' ? value.split(':') : [];
    if (parts.length !== 2 || !NAMESPACE.test(parts[0]!) || !NAME.test(parts[1]!)) {
      throw bad(
        `allow rule ${index}: service_account must be "<namespace>:<name>" (lowercase DNS names), got ${JSON.stringify(value)}`,
        index,
        'service_account',
      );
    }
    if (!allowed.has(value as string)) allowed.set(value as string, index);
  });
  return ({ namespace, name }) => allowed.get(`${namespace}:${name}`) ?? -1;
}
