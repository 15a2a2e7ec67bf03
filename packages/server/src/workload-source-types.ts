// The shapes of @wid/workload-api-server's WorkloadIdentitySource, re-declared structurally so @wid/server does not
// depend on the server package: any object of these shapes plugs into createWorkloadApiServer.

/** Attributes of one caller, e.g. `{ workload: { unix: { attested: true, uid: 1000, ... } } }`. */
export type WorkloadAttributes = Readonly<Record<string, unknown>>;

/** One X.509-SVID as the Workload API sends it. */
export interface WorkloadX509Svid {
  readonly spiffeId: string;
  /** DER certificates, leaf first, then intermediates. */
  readonly certChain: readonly Uint8Array[];
  /** Unencrypted PKCS#8 DER. */
  readonly privateKey: Uint8Array;
  /** DER CA certificates of the SVID's trust domain. */
  readonly bundle: readonly Uint8Array[];
  readonly hint?: string;
}

/** Everything FetchX509SVID streams to one caller. */
export interface X509Context {
  readonly svids: readonly WorkloadX509Svid[];
  readonly federatedBundles: ReadonlyMap<string, readonly Uint8Array[]>;
  readonly crl?: readonly Uint8Array[];
}

/** X.509 bundles keyed by trust domain ID `spiffe://<td>`. */
export interface X509BundleSet {
  readonly bundles: ReadonlyMap<string, readonly Uint8Array[]>;
  readonly crl?: readonly Uint8Array[];
}

/** JWKS JSON bytes keyed by trust domain ID `spiffe://<td>`. */
export interface JwtBundleSet {
  readonly bundles: ReadonlyMap<string, Uint8Array>;
}

/** One minted JWT-SVID. */
export interface WorkloadJwtSvid {
  readonly spiffeId: string;
  readonly token: string;
  readonly hint?: string;
}

/** What FetchJWTSVID asks for. */
export interface JwtSvidRequest {
  readonly audience: readonly string[];
  readonly spiffeId?: string;
}

/** What ValidateJWTSVID answers. */
export interface ValidatedJwtSvid {
  readonly spiffeId: string;
  readonly claims: Readonly<Record<string, unknown>>;
}
