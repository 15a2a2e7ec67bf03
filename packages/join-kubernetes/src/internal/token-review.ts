import type { Dispatcher } from 'undici';
import { KubernetesJoinError } from '../errors.js';
import { fetchJson } from './http.js';

export interface TokenReviewResult {
  readonly username: string;
  readonly podName: string | undefined;
  readonly audiences: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** POSTs an authentication.k8s.io/v1 TokenReview for `token` with `audience`, and reads its status. */
export async function reviewToken(req: {
  readonly apiServerUrl: string;
  readonly bearerToken: string;
  readonly token: string;
  readonly audience: string;
  readonly dispatcher: Dispatcher | undefined;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly signal: AbortSignal | undefined;
}): Promise<TokenReviewResult> {
  const url = `${req.apiServerUrl.replace(/\/$/, '')}/apis/authentication.k8s.io/v1/tokenreviews`;
  const doc = await fetchJson({
    url,
    method: 'POST',
    headers: { authorization: `Bearer ${req.bearerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: req.token, audiences: [req.audience] },
    }),
    dispatcher: req.dispatcher,
    timeoutMs: req.timeoutMs,
    maxBytes: req.maxResponseBytes,
    signal: req.signal,
    code: 'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    okStatuses: [200, 201],
  });
  const status = isRecord(doc) && doc['kind'] === 'TokenReview' && isRecord(doc['status']) ? doc['status'] : undefined;
  if (status === undefined) {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
      'the answer is not a TokenReview with a status',
      { url },
    );
  }
  if (status['authenticated'] !== true) {
    const reason = typeof status['error'] === 'string' ? status['error'].slice(0, 300) : 'no reason given';
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_REJECTED',
      `the API server rejected the token: ${reason}`,
      { url },
    );
  }
  const user = isRecord(status['user']) ? status['user'] : {};
  const username = user['username'];
  if (typeof username !== 'string') {
    throw new KubernetesJoinError(
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
      'the TokenReview status has no user.username',
      { url },
    );
  }
  const extra = isRecord(user['extra']) ? user['extra'] : {};
  const podNames = extra['authentication.kubernetes.io/pod-name'];
  const podName = Array.isArray(podNames) && typeof podNames[0] === 'string' ? podNames[0] : undefined;
  const audiences = Array.isArray(status['audiences'])
    ? status['audiences'].filter((a): a is string => typeof a === 'string')
    : [];
  return { username, podName, audiences };
}
