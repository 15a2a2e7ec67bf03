import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import {
  createFakeServiceAccountIssuer,
  type FakeServiceAccountIssuer,
  type FakeServiceAccountIssuerOptions,
} from './fake-service-account-issuer.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from './tls.js';

/** A local HTTPS OIDC issuer publishing a service-account issuer's discovery document and JWKS. */
export interface FakeOidcIssuer {
  /** `https://localhost:<port>`: the issuer URL, and the `iss` of its tokens. */
  readonly url: string;
  /** Signs tokens and rotates keys; its JWKS is what the double serves. */
  readonly tokens: FakeServiceAccountIssuer;
  /** Number of discovery and JWKS requests served. */
  readonly fetches: { discovery: number; jwks: number };
  /** Fields merged over the discovery document (e.g. another `issuer`, an http `jwks_uri`). */
  discoveryOverride: Record<string, unknown> | undefined;
  /** Answer the JWKS path with this status and body instead. */
  jwksOverride: { status: number; body: unknown } | undefined;
  /** An undici dispatcher trusting the double's certificate. Closed by {@link close}. */
  dispatcher(): Agent;
  close(): Promise<void>;
}

/**
 * Starts an OIDC issuer double serving `/.well-known/openid-configuration` and `/openid/v1/jwks` the way the
 * Kubernetes API server's service-account issuer discovery does.
 *
 * @example
 * const oidc = await createFakeOidcIssuer();
 * const verifier = createKubernetesJoinVerifier({ type: 'oidc', issuer: oidc.url, audience: 'example.org', dispatcher: oidc.dispatcher() });
 * await verifier.verify(await oidc.tokens.sign(), { allow: [{ service_account: 'wid-system:wid-agent' }] });
 */
export async function createFakeOidcIssuer(
  options: Omit<FakeServiceAccountIssuerOptions, 'issuer'> = {},
): Promise<FakeOidcIssuer> {
  let fake: FakeOidcIssuer | undefined;
  const fetches = { discovery: 0, jwks: 0 };
  const http = await startHttps(async (req) => {
    const f = fake!;
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      fetches.discovery++;
      return {
        status: 200,
        body: {
          issuer: f.url,
          jwks_uri: `${f.url}/openid/v1/jwks`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [options.alg ?? 'ES256'],
          ...f.discoveryOverride,
        },
      };
    }
    if (req.method === 'GET' && req.url === '/openid/v1/jwks') {
      fetches.jwks++;
      return f.jwksOverride ?? { status: 200, body: f.tokens.jwks() };
    }
    return {
      status: 404,
      body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 },
    };
  });
  const url = `https://localhost:${http.port}`;
  const tokens = await createFakeServiceAccountIssuer({ ...options, issuer: url });
  fake = {
    url,
    tokens,
    fetches,
    discoveryOverride: undefined,
    jwksOverride: undefined,
    dispatcher() {
      const agent = new Agent({ connect: { ca: TEST_TLS_CERT } });
      http.agents.push(agent);
      return agent;
    },
    close: () => http.close(),
  };
  return fake;
}

/** A TokenReview the double received. */
export interface FakeTokenReviewRequest {
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/** A local HTTPS Kubernetes API server double answering `authentication.k8s.io/v1` TokenReviews. */
export interface FakeKubernetesApiServer {
  /** `https://localhost:<port>`. */
  readonly url: string;
  /** The service-account issuer whose tokens it authenticates. */
  readonly tokens: FakeServiceAccountIssuer;
  /** Every TokenReview received. */
  readonly reviews: FakeTokenReviewRequest[];
  /** Replace the answer (status and JSON body), or `'hang'`. */
  respond: ((request: FakeTokenReviewRequest) => { status: number; body: unknown } | 'hang' | undefined) | undefined;
  dispatcher(): Agent;
  close(): Promise<void>;
}

/** Options of {@link createFakeKubernetesApiServer}. */
export interface FakeKubernetesApiServerOptions extends FakeServiceAccountIssuerOptions {
  /** The bearer token callers must present. Default `wid-server-token`. */
  readonly bearerToken?: string;
  /** Audiences assumed when a review names none (the API server's own). Default `['https://kubernetes.default.svc']`. */
  readonly apiAudiences?: readonly string[];
}

const unauthorized = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
};

/**
 * Starts a Kubernetes API server double that authenticates its bearer token and answers TokenReviews for tokens of
 * its service-account issuer, with the audiences, user and pod extras the real authenticator returns.
 *
 * @example
 * const api = await createFakeKubernetesApiServer();
 * const verifier = createKubernetesJoinVerifier({ type: 'in_cluster', apiServerUrl: api.url, dispatcher: api.dispatcher(), credentialTokenPath, audience: 'example.org' });
 */
export async function createFakeKubernetesApiServer(
  options: FakeKubernetesApiServerOptions = {},
): Promise<FakeKubernetesApiServer> {
  const tokens = await createFakeServiceAccountIssuer(options);
  const bearer = `Bearer ${options.bearerToken ?? 'wid-server-token'}`;
  const apiAudiences = options.apiAudiences ?? ['https://kubernetes.default.svc'];
  const reviews: FakeTokenReviewRequest[] = [];
  let fake: FakeKubernetesApiServer | undefined;

  const review = async (body: unknown) => {
    const spec = (body as { spec?: { token?: unknown; audiences?: unknown } } | null)?.spec ?? {};
    const wanted =
      Array.isArray(spec.audiences) && spec.audiences.length > 0 ? (spec.audiences as string[]) : [...apiAudiences];
    const base = {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
    };
    const reject = (error: string) => ({ status: 201, body: { ...base, status: { user: {}, error } } });
    if (typeof spec.token !== 'string') return reject('token is required');
    let payload: Record<string, unknown>;
    try {
      payload = (await tokens.verify(spec.token)) as Record<string, unknown>;
    } catch {
      return reject('[invalid bearer token, square/go-jose: error in cryptographic primitive, unknown]');
    }
    const aud = Array.isArray(payload['aud']) ? (payload['aud'] as string[]) : [String(payload['aud'])];
    const audiences = wanted.filter((a) => aud.includes(a));
    if (audiences.length === 0) {
      return reject(
        `[invalid bearer token, token audiences ${JSON.stringify(aud)} is invalid for the target audiences ${JSON.stringify(wanted)}, unknown]`,
      );
    }
    const k8s = (payload['kubernetes.io'] ?? {}) as {
      namespace?: string;
      pod?: { name: string; uid: string };
      node?: { name: string; uid: string };
      serviceaccount?: { name: string; uid: string };
    };
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    if (k8s.node) {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
    }
    if (typeof payload['jti'] === 'string')
      extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload['jti']}`];
    return {
      status: 201,
      body: {
        ...base,
        status: {
          authenticated: true,
          user: {
            username: payload['sub'],
            uid: k8s.serviceaccount?.uid,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${k8s.namespace}`, 'system:authenticated'],
            extra,
          },
          audiences,
        },
      },
    };
  };

  const http = await startHttps(async (req, text) => {
    if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
      return {
        status: 404,
        body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 },
      };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const received = { authorization: req.headers.authorization, body };
    reviews.push(received);
    const override = fake!.respond?.(received);
    if (override !== undefined) return override;
    if (req.headers.authorization !== bearer) return { status: 401, body: unauthorized };
    return review(body);
  });
  fake = {
    url: `https://localhost:${http.port}`,
    tokens,
    reviews,
    respond: undefined,
    dispatcher() {
      const agent = new Agent({ connect: { ca: TEST_TLS_CERT } });
      http.agents.push(agent);
      return agent;
    },
    close: () => http.close(),
  };
  return fake;
}

async function startHttps(
  handler: (req: IncomingMessage, body: string) => Promise<{ status: number; body: unknown } | 'hang'>,
): Promise<{ port: number; agents: Agent[]; close(): Promise<void> }> {
  const server = createServer(
    { key: TEST_TLS_KEY, cert: TEST_TLS_CERT },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void handler(req, Buffer.concat(chunks).toString('utf8')).then((answer) => {
          if (answer === 'hang') return;
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const agents: Agent[] = [];
  return {
    port: (server.address() as AddressInfo).port,
    agents,
    async close() {
      await Promise.all(agents.map((a) => a.destroy().catch(() => {})));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
