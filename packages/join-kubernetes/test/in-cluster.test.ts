import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubernetesJoinVerifier, type InClusterVerifierOptions } from '@wid/join-kubernetes';
import {
  createFakeKubernetesApiServer,
  type FakeKubernetesApiServer,
  TEST_TLS_CERT,
} from '@wid/join-kubernetes/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALLOW, AUDIENCE, expectCode } from './helpers.js';

let api: FakeKubernetesApiServer;
let dir: string;
let credentialTokenPath: string;

beforeEach(async () => {
  api = await createFakeKubernetesApiServer({ bearerToken: 'server-sa-token' });
  dir = mkdtempSync(join(tmpdir(), 'wid-k8s-incluster-'));
  credentialTokenPath = join(dir, 'token');
  writeFileSync(credentialTokenPath, 'server-sa-token\n');
});
afterEach(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function verifier(extra: Partial<InClusterVerifierOptions> = {}) {
  return createKubernetesJoinVerifier({
    type: 'in_cluster',
    apiServerUrl: api.url,
    dispatcher: api.dispatcher(),
    credentialTokenPath,
    audience: AUDIENCE,
    ...extra,
  });
}

describe('createKubernetesJoinVerifier in_cluster', () => {
  it('verifies by TokenReview with the audience and its own bearer token', async () => {
    const token = await api.tokens.sign({ pod: { name: 'wid-agent-abc', uid: 'u' } });
    await expect(verifier().verify(token, { allow: ALLOW })).resolves.toEqual({
      subject: 'system:serviceaccount:wid-system:wid-agent',
      service_account: { name: 'wid-agent', namespace: 'wid-system' },
      pod: { name: 'wid-agent-abc' },
    });
    expect(api.reviews).toHaveLength(1);
    expect(api.reviews[0]!.authorization).toBe('Bearer server-sa-token');
    expect(api.reviews[0]!.body).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [AUDIENCE] },
    });
  });

  it('re-reads its own credential on every review', async () => {
    const v = verifier();
    await v.verify(await api.tokens.sign(), { allow: ALLOW });
    writeFileSync(credentialTokenPath, 'rotated-but-wrong');
    const e = await expectCode(
      v.verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
    expect(e['status']).toBe(401);
  });

  it('reports an unreadable credential', async () => {
    await expectCode(
      verifier({ credentialTokenPath: join(dir, 'missing') }).verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_UNREADABLE',
    );
  });

  it('refuses tokens the API server rejects (wrong audience, expired, foreign)', async () => {
    const e = await expectCode(
      verifier().verify(await api.tokens.sign({ audience: ['other'] }), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_REJECTED',
    );
    expect(String(e['message'])).toContain('audiences');
    await expectCode(
      verifier().verify(await api.tokens.sign({ issuedAt: new Date(Date.now() - 3_600_000) }), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_REJECTED',
    );
  });

  it('refuses an authenticated review that does not confirm the audience', async () => {
    api.respond = (r) => {
      const token = (r.body as { spec: { token: string } }).spec.token;
      return { status: 201, body: reviewBody(token, { audiences: ['https://kubernetes.default.svc'] }) };
    };
    await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE',
    );
  });

  it('refuses a long-lived token even when the API server accepts it', async () => {
    await expectCode(
      verifier().verify(await api.tokens.sign({ lifetimeSeconds: 3607 }), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_LIFETIME_TOO_LONG',
    );
  });

  it('refuses a token bound to no pod, or a review without the pod', async () => {
    await expectCode(
      verifier().verify(await api.tokens.sign({ pod: null }), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND',
    );
    api.respond = (r) => ({
      status: 201,
      body: reviewBody((r.body as { spec: { token: string } }).spec.token, { podName: undefined }),
    });
    await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND',
    );
  });

  it('refuses a review whose user is not the token subject', async () => {
    api.respond = (r) => ({
      status: 201,
      body: reviewBody((r.body as { spec: { token: string } }).spec.token, {
        username: 'system:serviceaccount:kube-system:admin',
      }),
    });
    await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
    );
  });

  it('reports API failures and non-TokenReview answers', async () => {
    api.respond = () => ({ status: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden' } });
    const e = await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
    expect(e['status']).toBe(403);
    api.respond = () => ({ status: 201, body: { kind: 'Status' } });
    await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
    api.respond = () => ({ status: 201, body: 'not json' });
    await expectCode(
      verifier().verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
  });

  it('times out a silent API server', async () => {
    api.respond = () => 'hang';
    await expectCode(
      verifier({ timeoutMs: 200 }).verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
  });

  it('finds the API server from the environment and trusts the CA file when no dispatcher is given', async () => {
    const caPath = join(dir, 'ca.crt');
    writeFileSync(caPath, TEST_TLS_CERT);
    const port = new URL(api.url).port;
    const v = createKubernetesJoinVerifier({
      type: 'in_cluster',
      env: { KUBERNETES_SERVICE_HOST: 'localhost', KUBERNETES_SERVICE_PORT: port },
      credentialTokenPath,
      caPath,
      audience: AUDIENCE,
    });
    await expect(v.verify(await api.tokens.sign(), { allow: ALLOW })).resolves.toBeDefined();
    await v.close();
  });

  it('reports a missing CA file', async () => {
    const v = verifier({ dispatcher: undefined, caPath: join(dir, 'nope.crt') });
    await expectCode(
      v.verify(await api.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
    );
  });

  it('refuses a service account no rule names', async () => {
    await expectCode(
      verifier().verify(await api.tokens.sign({ namespace: 'default', serviceAccount: 'default' }), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_NOT_ALLOWED',
    );
  });
});

function reviewBody(
  token: string,
  o: { audiences?: string[]; podName?: string | undefined; username?: string },
): Record<string, unknown> {
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
  const podName = 'podName' in o ? o.podName : claims['kubernetes.io'].pod?.name;
  return {
    kind: 'TokenReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { token, audiences: [AUDIENCE] },
    status: {
      authenticated: true,
      user: {
        username: o.username ?? claims.sub,
        uid: 'x',
        groups: ['system:serviceaccounts', 'system:authenticated'],
        extra: podName === undefined ? {} : { 'authentication.kubernetes.io/pod-name': [podName] },
      },
      audiences: o.audiences ?? [AUDIENCE],
    },
  };
}
