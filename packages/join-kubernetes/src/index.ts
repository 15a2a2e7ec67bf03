/**
 * @wid/join-kubernetes: Kubernetes join method: read a projected service-account token (client) and verify it by JWKS, OIDC discovery or TokenReview (server).
 */
export {};
