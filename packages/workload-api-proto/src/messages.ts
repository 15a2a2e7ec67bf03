/**
 * TypeScript shapes of the Workload API messages as @grpc/proto-loader decodes them with
 * {@link WORKLOAD_PROTO_LOADER_OPTIONS} (`keepCase`, `defaults`, `oneofs`): field names are the proto names
 * (snake_case), every scalar field is present (empty string / empty bytes when unset), `bytes` are `Uint8Array`
 * (Node `Buffer`s when decoded), maps are plain objects. Senders may pass `Uint8Array` for bytes and omit fields
 * (proto3 defaults).
 *
 * @module
 */

/** FetchX509SVID request: empty. */
export type X509SVIDRequest = Record<string, never>;

/** One X.509-SVID with its key and the CA certificates of its own trust domain. */
export interface X509SVID {
  /** The SPIFFE ID of the SVID. */
  spiffe_id: string;
  /** Leaf first, then intermediates: concatenated ASN.1 DER certificates. */
  x509_svid: Uint8Array;
  /** Unencrypted PKCS#8 DER private key of the leaf. */
  x509_svid_key: Uint8Array;
  /** CA certificates of the SVID's trust domain, concatenated DER. */
  bundle: Uint8Array;
  /** Operator-chosen name, unique within a response when not empty. */
  hint: string;
}

/** FetchX509SVID response: the full X.509 state, never a delta (Workload API §5). */
export interface X509SVIDResponse {
  /** The caller's SVIDs; `svids[0]` is the default identity. */
  svids: X509SVID[];
  /** DER certificate revocation lists. */
  crl: Uint8Array[];
  /** Federated trust domains' CA certificates keyed by trust domain ID `spiffe://<td>`, concatenated DER. */
  federated_bundles: Record<string, Uint8Array>;
}

/** FetchX509Bundles request: empty. */
export type X509BundlesRequest = Record<string, never>;

/** FetchX509Bundles response: every bundle the caller should trust. */
export interface X509BundlesResponse {
  /** DER certificate revocation lists. */
  crl: Uint8Array[];
  /** CA certificates keyed by trust domain ID `spiffe://<td>`, concatenated DER. */
  bundles: Record<string, Uint8Array>;
}

/** FetchJWTSVID request. */
export interface JWTSVIDRequest {
  /** Mandatory: the audiences to mint for. */
  audience: string[];
  /** Optional (empty = all of the caller's identities). */
  spiffe_id: string;
}

/** One JWT-SVID. */
export interface JWTSVID {
  /** The SPIFFE ID in `sub`. */
  spiffe_id: string;
  /** The compact JWS. */
  svid: string;
  /** Operator-chosen name, unique within a response when not empty. */
  hint: string;
}

/** FetchJWTSVID response. */
export interface JWTSVIDResponse {
  svids: JWTSVID[];
}

/** FetchJWTBundles request: empty. */
export type JWTBundlesRequest = Record<string, never>;

/** FetchJWTBundles response. */
export interface JWTBundlesResponse {
  /** JWKS JSON bytes keyed by trust domain ID `spiffe://<td>`. */
  bundles: Record<string, Uint8Array>;
}

/** ValidateJWTSVID request. */
export interface ValidateJWTSVIDRequest {
  /** Mandatory: the audience the validator expects. */
  audience: string;
  /** Mandatory: the token. */
  svid: string;
}

/** ValidateJWTSVID response. */
export interface ValidateJWTSVIDResponse {
  /** The SPIFFE ID in the token's `sub`. */
  spiffe_id: string;
  /** The token's claims as a `google.protobuf.Struct` (see {@link toProtoStruct} / {@link fromProtoStruct}). */
  claims: ProtoStruct | null;
}

/** FetchWITSVID request (incubating). */
export interface WITSVIDRequest {
  spiffe_id: string;
}

/** One Workload Identity Token (incubating). */
export interface WITSVID {
  spiffe_id: string;
  wit: string;
  wit_key: Uint8Array;
  hint: string;
}

/** FetchWITSVID response (incubating). */
export interface WITSVIDResponse {
  svids: WITSVID[];
}

/** FetchWITBundles request (incubating): empty. */
export type WITBundlesRequest = Record<string, never>;

/** FetchWITBundles response (incubating). */
export interface WITBundlesResponse {
  bundles: Record<string, Uint8Array>;
}

/** `google.protobuf.Struct` as proto-loader represents it. */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

/** `google.protobuf.ListValue` as proto-loader represents it. */
export interface ProtoListValue {
  values: ProtoValue[];
}

/** `google.protobuf.Value` as proto-loader represents it (`kind` names the member that is set). */
export interface ProtoValue {
  kind?: 'nullValue' | 'numberValue' | 'stringValue' | 'boolValue' | 'structValue' | 'listValue';
  nullValue?: 'NULL_VALUE' | 0;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: ProtoListValue;
}
