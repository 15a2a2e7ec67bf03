import type { WorkloadAttributes } from './attestor.js';

/**
 * One X.509-SVID as the server sends it: plain bytes, no parsing here.
 *
 * @example
 * const svid: WorkloadX509Svid = { spiffeId: 'spiffe://example.org/web', certChain: [leafDer], privateKey: pkcs8Der, bundle: [caDer] };
 */
export interface WorkloadX509Svid {
  /** The SVID's SPIFFE ID. */
  readonly spiffeId: string;
  /** DER certificates, leaf first, then intermediates. */
  readonly certChain: readonly Uint8Array[];
  /** The leaf's private key, unencrypted PKCS#8 DER. */
  readonly privateKey: Uint8Array;
  /** DER CA certificates of the SVID's own trust domain. */
  readonly bundle: readonly Uint8Array[];
  /** Operator-chosen name; when two SVIDs of one response share a hint, the server keeps the first. */
  readonly hint?: string;
}

/**
 * Everything FetchX509SVID streams to one caller (Workload API §5): always the full state.
 *
 * @example
 * const ctx: X509Context = { svids: [svid], federatedBundles: new Map([['spiffe://partner.org', [partnerCaDer]]]) };
 */
export interface X509Context {
  /** The caller's SVIDs; the first is the default identity. Empty = no identity (answered PermissionDenied). */
  readonly svids: readonly WorkloadX509Svid[];
  /** DER CA certificates of federated trust domains, keyed by trust domain ID `spiffe://<td>`. */
  readonly federatedBundles: ReadonlyMap<string, readonly Uint8Array[]>;
  /** DER certificate revocation lists. */
  readonly crl?: readonly Uint8Array[];
}

/**
 * Everything FetchX509Bundles streams: the local and federated X.509 bundles.
 *
 * @example
 * const set: X509BundleSet = { bundles: new Map([['spiffe://example.org', [caDer]]]) };
 */
export interface X509BundleSet {
  /** DER CA certificates keyed by trust domain ID `spiffe://<td>` (local trust domain included). */
  readonly bundles: ReadonlyMap<string, readonly Uint8Array[]>;
  /** DER certificate revocation lists. */
  readonly crl?: readonly Uint8Array[];
}

/**
 * Everything FetchJWTBundles streams.
 *
 * @example
 * const set: JwtBundleSet = { bundles: new Map([['spiffe://example.org', Buffer.from(JSON.stringify(jwks))]]) };
 */
export interface JwtBundleSet {
  /** JWKS JSON bytes (only `jwt-svid` keys, each with a `kid`), keyed by trust domain ID `spiffe://<td>`. */
  readonly bundles: ReadonlyMap<string, Uint8Array>;
}

/**
 * One minted JWT-SVID.
 *
 * @example
 * const jwt: WorkloadJwtSvid = { spiffeId: 'spiffe://example.org/web', token: 'eyJ...' };
 */
export interface WorkloadJwtSvid {
  readonly spiffeId: string;
  /** Compact JWS. */
  readonly token: string;
  readonly hint?: string;
}

/**
 * What FetchJWTSVID asks for.
 *
 * @example
 * const req: JwtSvidRequest = { audience: ['https://api.example.org'] };
 */
export interface JwtSvidRequest {
  /** At least one audience (the server rejects an empty list before asking the source). */
  readonly audience: readonly string[];
  /** Mint only for this ID (already syntax-checked). The source returns nothing for an ID the caller may not have. */
  readonly spiffeId?: string;
}

/**
 * What ValidateJWTSVID answers.
 *
 * @example
 * const ok: ValidatedJwtSvid = { spiffeId: 'spiffe://example.org/web', claims: { sub: '...', aud: ['x'], exp: 1 } };
 */
export interface ValidatedJwtSvid {
  readonly spiffeId: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Whoever holds (or caches) the CA: the agent's cache, an embedded issuer, or a test double
 * (`FakeWorkloadIdentitySource` from `@wid/workload-api-server/testing`). The server never imports an issuer.
 *
 * Signalling, by `code` of the thrown error (see {@link WorkloadIdentityError}):
 * - `ERR_WID_WORKLOAD_NO_IDENTITY`: no identity for this caller → `PermissionDenied`;
 * - `ERR_WID_WORKLOAD_INVALID_TOKEN` (from `validateJwtSvid`): → `InvalidArgument` with the error message as reason;
 * - anything else (thrown, or an iterator rejecting) → `Unavailable`; the call fails, the server keeps running.
 *
 * Streams: each `watch*` iterable yields the full current state at once and again after every change, and finishes
 * (or rejects) promptly when `signal` aborts. The server may stop iterating at any time (calls `return()`).
 * Attributes (and signals) are passed as trailing parameters to the bundle and validation methods, so a source
 * written against the shorter signatures of ARCHITECTURE.md still fits.
 *
 * @example
 * const server = createWorkloadApiServer({ listen: 'unix:///run/wid/agent.sock', attestors: [unix], identities: agentCache });
 */
export interface WorkloadIdentitySource {
  /** The caller's X.509 context now, then again on every rotation, CA or bundle change. */
  watchX509Context(attributes: WorkloadAttributes, signal: AbortSignal): AsyncIterable<X509Context>;
  /** Mints JWT-SVIDs for the caller's identities (all, or only `request.spiffeId`). */
  fetchJwtSvids(
    attributes: WorkloadAttributes,
    request: JwtSvidRequest,
    signal?: AbortSignal,
  ): Promise<readonly WorkloadJwtSvid[]>;
  /** The X.509 bundles the caller should trust, now and on every change. */
  watchX509Bundles(signal: AbortSignal, attributes: WorkloadAttributes): AsyncIterable<X509BundleSet>;
  /** The JWT bundles the caller should trust, now and on every change. */
  watchJwtBundles(signal: AbortSignal, attributes: WorkloadAttributes): AsyncIterable<JwtBundleSet>;
  /** Validates `token` for `audience` against the bundle of the token's own trust domain. */
  validateJwtSvid(
    token: string,
    audience: string,
    attributes: WorkloadAttributes,
    signal?: AbortSignal,
  ): Promise<ValidatedJwtSvid>;
}
