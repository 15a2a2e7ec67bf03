/**
 * @wid/join-kubernetes: the Kubernetes join method. An agent proves which service account and pod it runs as with
 * a projected service-account token; the server verifies it by a configured JWKS (`static_jwks`), by OIDC discovery
 * at the cluster's issuer (`oidc`), or by a TokenReview against its own API server (`in_cluster`) — Teleport's three
 * types — and matches `service_account: "ns:name"` allow rules.
 *
 * - Agent: {@link createKubernetesTokenReader} → `read()` on every join (KUBERNETES_TOKEN_PATH or the default path).
 * - Server: {@link createKubernetesJoinVerifier} → `verify(token, { allow })` → `join.kubernetes.*` attributes.
 *
 * @example
 * const token = await createKubernetesTokenReader().read();                       // agent
 * const verifier = createKubernetesJoinVerifier({ type: 'in_cluster', audience: 'example.org' }); // server
 * const attrs = await verifier.verify(token, { allow: [{ service_account: 'wid-system:wid-agent' }] });
 */
export type { KubernetesAllowMatcher, KubernetesAllowRule } from './allow-rules.js';
export { compileKubernetesAllowRules } from './allow-rules.js';
export type { KubernetesJoinErrorCode, KubernetesJoinErrorFields } from './errors.js';
export { JOIN_KUBERNETES_ERROR_CODES, KubernetesJoinError } from './errors.js';
export type {
  InClusterVerifierOptions,
  KubernetesJoinAttributes,
  KubernetesJoinVerifier,
  KubernetesJoinVerifierCommonOptions,
  KubernetesJoinVerifierOptions,
  KubernetesJoinVerifyOptions,
  OidcVerifierOptions,
  StaticJwksVerifierOptions,
} from './join-verifier.js';
export { createKubernetesJoinVerifier, DEFAULT_KUBERNETES_CA_PATH } from './join-verifier.js';
export type { KubernetesTokenReader, KubernetesTokenReaderOptions } from './token-reader.js';
export { createKubernetesTokenReader, DEFAULT_KUBERNETES_TOKEN_PATH } from './token-reader.js';
