import { KubernetesJoinError } from '../errors.js';

/** What a verified Kubernetes join proves; the server publishes it as `join.kubernetes.*`. */
export interface KubernetesJoinAttributes {
  /** `system:serviceaccount:<namespace>:<name>`. */
  readonly subject: string;
  readonly service_account: { readonly name: string; readonly namespace: string };
  /** The pod the token is bound to. */
  readonly pod: { readonly name: string };
}

export interface ClaimCheckOptions {
  readonly audience: string;
  readonly issuer: string | undefined;
  readonly nowSeconds: number;
  readonly toleranceSeconds: number;
  readonly maxLifetimeSeconds: number;
}

const SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(code: ConstructorParameters<typeof KubernetesJoinError>[0], message: string, fields = {}): never {
  throw new KubernetesJoinError(code, message, fields);
}

/**
 * The claim checks every verifier type applies to a service-account token whose signature (or TokenReview) already
 * passed: issuer, audience, exp/iat present, time window, bounded lifetime, pod binding and the subject's shape.
 */
export function checkServiceAccountClaims(payload: unknown, options: ClaimCheckOptions): KubernetesJoinAttributes {
  if (!isRecord(payload)) fail('ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN', 'the token payload is not a JSON object');
  const { iss, aud, exp, iat, nbf, sub } = payload;
  if (options.issuer !== undefined && iss !== options.issuer) {
    fail('ERR_WID_JOIN_KUBERNETES_WRONG_ISSUER', `token issuer ${JSON.stringify(iss)} is not ${options.issuer}`, {
      expected: options.issuer,
      actual: typeof iss === 'string' ? iss : undefined,
    });
  }
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(options.audience)) {
    fail(
      'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE',
      `token audience ${JSON.stringify(aud)} does not include "${options.audience}"`,
      {
        expected: options.audience,
        actual: audiences.filter((a) => typeof a === 'string').join(','),
      },
    );
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    fail(
      'ERR_WID_JOIN_KUBERNETES_MISSING_EXPIRY',
      'the token has no numeric "exp" claim (a legacy, non-expiring token?)',
    );
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    fail('ERR_WID_JOIN_KUBERNETES_MISSING_ISSUED_AT', 'the token has no numeric "iat" claim');
  }
  const { nowSeconds: now, toleranceSeconds: tol } = options;
  if (now - tol >= exp) {
    fail('ERR_WID_JOIN_KUBERNETES_EXPIRED', `the token expired at ${new Date(exp * 1000).toISOString()}`, {
      actual: exp,
    });
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tol)) {
    fail('ERR_WID_JOIN_KUBERNETES_NOT_YET_VALID', 'the token is not valid yet ("nbf" is in the future)', {
      actual: typeof nbf === 'number' ? nbf : undefined,
    });
  }
  if (iat > now + tol) {
    fail('ERR_WID_JOIN_KUBERNETES_ISSUED_IN_FUTURE', 'the token\'s "iat" is in the future', { actual: iat });
  }
  if (exp - iat > options.maxLifetimeSeconds) {
    fail(
      'ERR_WID_JOIN_KUBERNETES_LIFETIME_TOO_LONG',
      `the token lives ${exp - iat}s (exp - iat); at most ${options.maxLifetimeSeconds}s is accepted`,
      { expected: options.maxLifetimeSeconds, actual: exp - iat },
    );
  }
  const m = typeof sub === 'string' ? SUBJECT.exec(sub) : null;
  if (m === null) {
    fail(
      'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
      `subject ${JSON.stringify(sub)} is not system:serviceaccount:<namespace>:<name>`,
    );
  }
  const [, namespace, name] = m as unknown as [string, string, string];
  const k8s = payload['kubernetes.io'];
  const claimedNs = isRecord(k8s) ? k8s['namespace'] : undefined;
  const claimedSa = isRecord(k8s) && isRecord(k8s['serviceaccount']) ? k8s['serviceaccount']['name'] : undefined;
  if (claimedNs !== namespace || claimedSa !== name) {
    fail(
      'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
      'the subject disagrees with the kubernetes.io namespace/serviceaccount claims',
      {
        namespace,
        serviceAccount: name,
      },
    );
  }
  const pod = isRecord(k8s) && isRecord(k8s['pod']) ? k8s['pod'] : undefined;
  const podName = pod?.['name'];
  if (typeof podName !== 'string' || podName === '' || typeof pod?.['uid'] !== 'string') {
    fail(
      'ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND',
      'the token is not bound to a pod (no kubernetes.io.pod name and uid)',
      {
        namespace,
        serviceAccount: name,
      },
    );
  }
  return Object.freeze({
    subject: sub as string,
    service_account: Object.freeze({ name, namespace }),
    pod: Object.freeze({ name: podName }),
  });
}
