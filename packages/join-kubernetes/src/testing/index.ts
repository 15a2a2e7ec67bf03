/**
 * @wid/join-kubernetes/testing: doubles for the Kubernetes join method, for this package's tests and for servers
 * that embed the verifier.
 *
 * - {@link createFakeServiceAccountIssuer}: signing keys, a JWKS and realistic projected service-account tokens.
 * - {@link createFakeOidcIssuer}: an HTTPS OIDC issuer (discovery + JWKS) on 127.0.0.1.
 * - {@link createFakeKubernetesApiServer}: an HTTPS API server answering TokenReviews in the real JSON shape.
 *
 * @example
 * import { createFakeOidcIssuer } from '@wid/join-kubernetes/testing';
 * const oidc = await createFakeOidcIssuer();
 * const token = await oidc.tokens.sign({ audience: 'example.org' });
 */

export type {
  FakeKubernetesApiServer,
  FakeKubernetesApiServerOptions,
  FakeOidcIssuer,
  FakeTokenReviewRequest,
} from './fake-servers.js';
export { createFakeKubernetesApiServer, createFakeOidcIssuer } from './fake-servers.js';
export type {
  FakeServiceAccountIssuer,
  FakeServiceAccountIssuerOptions,
  FakeTokenOptions,
} from './fake-service-account-issuer.js';
export { createFakeServiceAccountIssuer } from './fake-service-account-issuer.js';
export { TEST_TLS_CERT, TEST_TLS_KEY } from './tls.js';
