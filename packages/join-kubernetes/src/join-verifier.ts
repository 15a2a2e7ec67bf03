import { readFileSync } from 'node:fs';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import { Agent, type Dispatcher } from 'undici';
import { compileKubernetesAllowRules, type KubernetesAllowRule } from './allow-rules.js';
import { KubernetesJoinError } from './errors.js';
import { checkServiceAccountClaims, type KubernetesJoinAttributes } from './internal/claims.js';
import { keySetFrom, OidcKeySource } from './internal/oidc-keys.js';
import { type KeyResolver, parsePayload, preflight, verifySignature } from './internal/signature.js';
import { reviewToken } from './internal/token-review.js';
import { DEFAULT_KUBERNETES_TOKEN_PATH, readTokenFile } from './token-reader.js';

export type { KubernetesJoinAttributes } from './internal/claims.js';

/** Where Kubernetes mounts the cluster CA for pods. */
export const DEFAULT_KUBERNETES_CA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

/** Options every verifier type shares. */
export interface KubernetesJoinVerifierCommonOptions {
  /** The audience tokens must be minted for: the cluster / trust-domain name. Required. */
  readonly audience: string;
  /** Time source. Default: the system clock. */
  readonly clock?: { now(): Date };
  /** Clock skew tolerated on exp/nbf/iat, in seconds. Default 30. */
  readonly clockToleranceSeconds?: number;
  /** Longest token lifetime (exp - iat) accepted, in seconds, 1..1800. Default 1800 (30 min). */
  readonly maxTokenLifetimeSeconds?: number;
}

/** Verify tokens with a configured JWKS (the cluster's `/openid/v1/jwks`), without contacting the cluster. */
export interface StaticJwksVerifierOptions extends KubernetesJoinVerifierCommonOptions {
  readonly type: 'static_jwks';
  /** The JWK Set, as JSON text or object. */
  readonly jwks: string | JSONWebKeySet;
  /** When set, the token's `iss` must equal it. */
  readonly issuer?: string;
}

/** Verify tokens with keys found by OIDC discovery at the cluster's issuer (EKS, GKE, AKS publish one). */
export interface OidcVerifierOptions extends KubernetesJoinVerifierCommonOptions {
  readonly type: 'oidc';
  /** Issuer URL; tokens' `iss` must equal it, as must the discovery document's `issuer`. https unless allowed below. */
  readonly issuer: string;
  /** Accept an `http:` issuer and jwks_uri. Default `false`. */
  readonly allowInsecureHttp?: boolean;
  /** undici dispatcher for discovery and JWKS fetches. Default: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
  /** Per-request limit, in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
  /** Largest discovery or JWKS document read, in bytes. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** How long fetched keys are used before re-fetching, in seconds. Default 300. */
  readonly jwksCacheSeconds?: number;
  /** Least time between refreshes caused by an unknown `kid`, in seconds. Default 10. */
  readonly minRefreshIntervalSeconds?: number;
}

/** Verify tokens by TokenReview against the API server of the cluster the verifier runs in. */
export interface InClusterVerifierOptions extends KubernetesJoinVerifierCommonOptions {
  readonly type: 'in_cluster';
  /** API server base URL. Default: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` from `env`. */
  readonly apiServerUrl?: string;
  /** Environment for the default API server address. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The verifier's own service-account token (re-read on every review). Default: the pod's mounted token. */
  readonly credentialTokenPath?: string;
  /** CA of the API server, used when no `dispatcher` is given. Default: the pod's mounted ca.crt. */
  readonly caPath?: string;
  /** undici dispatcher for the TokenReview call; when given, `caPath` is not read. */
  readonly dispatcher?: Dispatcher;
  /** Per-request limit, in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
  /** Largest TokenReview answer read, in bytes. Default 1 MiB. */
  readonly maxResponseBytes?: number;
}

/** Options of {@link createKubernetesJoinVerifier}: one of the three verifier types Teleport offers. */
export type KubernetesJoinVerifierOptions = StaticJwksVerifierOptions | OidcVerifierOptions | InClusterVerifierOptions;

/** Per-call input of {@link KubernetesJoinVerifier.verify}. */
export interface KubernetesJoinVerifyOptions {
  /** The join token's allow rules; the service account must be named by one. */
  readonly allow: readonly KubernetesAllowRule[];
  readonly signal?: AbortSignal;
}

/** The server half of the Kubernetes join method. */
export interface KubernetesJoinVerifier {
  readonly type: KubernetesJoinVerifierOptions['type'];
  /**
   * Verifies a service-account token and matches its service account against `allow`. Resolves to the
   * `join.kubernetes.*` attributes or rejects with a {@link KubernetesJoinError} naming the failed check.
   */
  verify(token: string, options: KubernetesJoinVerifyOptions): Promise<KubernetesJoinAttributes>;
  /** Closes the dispatcher the verifier created (in_cluster without an injected one). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function badOption(key: string, message: string): KubernetesJoinError {
  return new KubernetesJoinError('ERR_WID_JOIN_KUBERNETES_BAD_OPTION', message, { key });
}

function integer(
  value: number | undefined,
  key: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badOption(key, `${key} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function httpUrl(value: unknown, key: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw badOption(key, `${key} ${JSON.stringify(value)} is not a URL`);
  }
  if (!(url.protocol === 'https:' || (allowHttp && url.protocol === 'http:')) || url.search !== '' || url.hash !== '') {
    throw badOption(
      key,
      `${key} must be an ${allowHttp ? 'http(s)' : 'https'} URL without query or fragment, got ${String(value)}`,
    );
  }
  return String(value);
}

/**
 * Creates the server half of the Kubernetes join method (Teleport's `kubernetes` join with types `static_jwks`,
 * `oidc` and `in_cluster`). Every type checks the audience, `exp`/`iat` presence, the time window, a lifetime of at
 * most 30 minutes, the pod binding and the subject, then matches `service_account: "ns:name"` rules exactly.
 *
 * @example
 * const verifier = createKubernetesJoinVerifier({ type: 'oidc', issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC', audience: 'example.org' });
 * const attrs = await verifier.verify(tokenFromAgent, { allow: [{ service_account: 'wid-system:wid-agent' }] });
 * // attrs: { subject, service_account: { name, namespace }, pod: { name } }
 */
export function createKubernetesJoinVerifier(options: KubernetesJoinVerifierOptions): KubernetesJoinVerifier {
  if (typeof options !== 'object' || options === null) throw badOption('type', 'options are required');
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw badOption('audience', 'audience must be a non-empty string (the cluster / trust domain name)');
  }
  const clock = options.clock ?? { now: () => new Date() };
  const tolerance = integer(options.clockToleranceSeconds, 'clockToleranceSeconds', 30, 0, 300);
  const maxLifetime = integer(options.maxTokenLifetimeSeconds, 'maxTokenLifetimeSeconds', 1800, 1, 1800);
  const claimOptions = (issuer: string | undefined) => ({
    audience: options.audience,
    issuer,
    nowSeconds: Math.floor(clock.now().getTime() / 1000),
    toleranceSeconds: tolerance,
    maxLifetimeSeconds: maxLifetime,
  });

  let verifyToken: (token: string, signal: AbortSignal | undefined) => Promise<KubernetesJoinAttributes>;
  let close = async () => {};

  switch (options.type) {
    case 'static_jwks': {
      let doc: unknown = options.jwks;
      if (typeof doc === 'string') {
        try {
          doc = JSON.parse(doc);
        } catch {
          throw badOption('jwks', 'jwks is not JSON');
        }
      }
      let keys: KeyResolver;
      try {
        keys = keySetFrom(doc, undefined);
      } catch (cause) {
        if (cause instanceof KubernetesJoinError) throw cause;
        throw new KubernetesJoinError(
          'ERR_WID_JOIN_KUBERNETES_BAD_OPTION',
          'jwks is not a JWK Set',
          { key: 'jwks' },
          { cause },
        );
      }
      if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '')) {
        throw badOption('issuer', 'issuer must be a non-empty string');
      }
      verifyToken = async (token) => {
        const header = preflight(token);
        const payload = parsePayload(await verifySignature(token, header, keys));
        return checkServiceAccountClaims(payload, claimOptions(options.issuer));
      };
      break;
    }
    case 'oidc': {
      const allowHttp = options.allowInsecureHttp === true;
      const issuer = httpUrl(options.issuer, 'issuer', allowHttp);
      const source = new OidcKeySource({
        issuer,
        allowInsecureHttp: allowHttp,
        dispatcher: options.dispatcher,
        timeoutMs: integer(options.timeoutMs, 'timeoutMs', 10_000, 1),
        maxResponseBytes: integer(options.maxResponseBytes, 'maxResponseBytes', 1024 * 1024, 1),
        cacheSeconds: integer(options.jwksCacheSeconds, 'jwksCacheSeconds', 300, 0),
        minRefreshSeconds: integer(options.minRefreshIntervalSeconds, 'minRefreshIntervalSeconds', 10, 0),
        clock,
      });
      verifyToken = async (token, signal) => {
        const header = preflight(token);
        let bytes: Uint8Array;
        try {
          bytes = await verifySignature(token, header, await source.current(signal));
        } catch (error) {
          // A new kid: the issuer may have rotated keys since the last fetch. Re-fetch once, rate limited.
          if (
            !(error instanceof KubernetesJoinError && error.code === 'ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID') ||
            !source.mayRefresh()
          ) {
            throw error;
          }
          bytes = await verifySignature(token, header, await source.refresh(signal));
        }
        return checkServiceAccountClaims(parsePayload(bytes), claimOptions(issuer));
      };
      break;
    }
    case 'in_cluster': {
      const env = options.env ?? process.env;
      let apiServerUrl = options.apiServerUrl;
      if (apiServerUrl === undefined) {
        const host = env['KUBERNETES_SERVICE_HOST'];
        const port = env['KUBERNETES_SERVICE_PORT'];
        if (!host || !port) {
          throw badOption(
            'apiServerUrl',
            'apiServerUrl is not set and KUBERNETES_SERVICE_HOST/PORT are not in the environment',
          );
        }
        apiServerUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      }
      apiServerUrl = httpUrl(apiServerUrl, 'apiServerUrl', false);
      const tokenPath = options.credentialTokenPath ?? DEFAULT_KUBERNETES_TOKEN_PATH;
      const caPath = options.caPath ?? DEFAULT_KUBERNETES_CA_PATH;
      const timeoutMs = integer(options.timeoutMs, 'timeoutMs', 10_000, 1);
      const maxResponseBytes = integer(options.maxResponseBytes, 'maxResponseBytes', 1024 * 1024, 1);
      let dispatcher = options.dispatcher;
      let owned: Agent | undefined;
      close = async () => {
        await owned?.close();
        owned = undefined;
      };
      const getDispatcher = (): Dispatcher => {
        if (dispatcher !== undefined) return dispatcher;
        let ca: string;
        try {
          ca = readFileSync(caPath, 'utf8');
        } catch (cause) {
          throw new KubernetesJoinError(
            'ERR_WID_JOIN_KUBERNETES_TOKEN_REVIEW_FAILED',
            `cannot read the API server CA at ${caPath}`,
            { path: caPath },
            { cause },
          );
        }
        owned = new Agent({ connect: { ca } });
        dispatcher = owned;
        return owned;
      };
      verifyToken = async (token, signal) => {
        preflight(token);
        const review = await reviewToken({
          apiServerUrl: apiServerUrl as string,
          bearerToken: await readTokenFile(tokenPath),
          token,
          audience: options.audience,
          dispatcher: getDispatcher(),
          timeoutMs,
          maxResponseBytes,
          signal,
        });
        if (!review.audiences.includes(options.audience)) {
          throw new KubernetesJoinError(
            'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE',
            `the TokenReview did not confirm audience "${options.audience}"`,
            {
              expected: options.audience,
              actual: review.audiences.join(','),
            },
          );
        }
        // The API server vouched for the signature; the claims still carry lifetime and binding facts to check.
        let claims: unknown;
        try {
          claims = decodeJwt(token);
        } catch (cause) {
          throw new KubernetesJoinError(
            'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN',
            'the token payload is not JSON',
            {},
            { cause },
          );
        }
        const attributes = checkServiceAccountClaims(claims, claimOptions(undefined));
        if (review.username !== attributes.subject) {
          throw new KubernetesJoinError(
            'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
            `the TokenReview user ${review.username} is not the token subject`,
            {
              expected: attributes.subject,
              actual: review.username,
            },
          );
        }
        if (review.podName !== attributes.pod.name) {
          throw new KubernetesJoinError(
            'ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND',
            'the TokenReview does not confirm the pod the token is bound to',
            {
              expected: attributes.pod.name,
              actual: review.podName,
            },
          );
        }
        return attributes;
      };
      break;
    }
    default:
      throw badOption(
        'type',
        `type must be static_jwks, oidc or in_cluster, got ${JSON.stringify((options as { type?: unknown }).type)}`,
      );
  }

  return {
    type: options.type,
    async verify(token, { allow, signal }) {
      const match = compileKubernetesAllowRules(allow);
      if (signal?.aborted) throw new KubernetesJoinError('ERR_WID_JOIN_KUBERNETES_ABORTED', 'the join was aborted');
      const attributes = await verifyToken(token, signal);
      const { namespace, name } = attributes.service_account;
      if (match({ namespace, name }) === -1) {
        throw new KubernetesJoinError(
          'ERR_WID_JOIN_KUBERNETES_NOT_ALLOWED',
          `service account ${namespace}:${name} matches no allow rule`,
          {
            namespace,
            serviceAccount: name,
          },
        );
      }
      return attributes;
    },
    close: () => close(),
    [Symbol.asyncDispose]: () => close(),
  };
}
