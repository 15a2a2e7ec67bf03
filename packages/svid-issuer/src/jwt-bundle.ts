import type { KeyObject } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { addJwtAuthority, checkJwtAuthorityKey, JWT_SVID_USE, parseJwks, publicKeyJwk } from './internal/jwk.js';

/**
 * Anything that can hand out the JWT bundle of a trust domain: a {@link JwtBundle} itself, a bundle set, a SPIFFE
 * bundle, a certificate authority, or a Workload API client's cache.
 *
 * @example
 * const source: JwtBundleSource = JwtBundleSet.of(localBundle, federatedBundle);
 * JwtSvid.parseAndValidate(token, source, ['spiffe://example.org/api']);
 */
export interface JwtBundleSource {
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined;
}

/**
 * The JWT authorities (public keys by key ID) of one trust domain (JWT-SVID §6). Immutable; a bundle never exists
 * without its trust domain name, since the JWKS itself carries none.
 *
 * @example
 * const bundle = JwtBundle.parse(TrustDomain.parse('example.org'), jwksJson);
 * bundle.findJwtAuthority('k1'); // KeyObject | undefined
 */
export class JwtBundle implements JwtBundleSource {
  readonly trustDomain: TrustDomain;
  readonly #authorities: ReadonlyMap<string, KeyObject>;

  private constructor(trustDomain: TrustDomain, authorities: ReadonlyMap<string, KeyObject>) {
    this.trustDomain = trustDomain;
    this.#authorities = authorities;
    Object.freeze(this);
  }

  /**
   * A bundle holding `authorities` (key ID → EC P-256/P-384/P-521 or RSA public key; a private key is reduced to its
   * public half).
   *
   * @throws {SvidIssuerError} `ERR_WID_BUNDLE_MISSING_KID` for an empty key ID, `ERR_WID_BUNDLE_BAD_KEY` for an
   *   unsupported key.
   * @example
   * const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k1', publicKey]]));
   */
  static fromJwtAuthorities(
    trustDomain: TrustDomain | string,
    authorities: ReadonlyMap<string, KeyObject> | Readonly<Record<string, KeyObject>>,
  ): JwtBundle {
    const td = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
    const entries = authorities instanceof Map ? [...authorities] : Object.entries(authorities);
    const map = new Map<string, KeyObject>();
    for (const [kid, key] of entries) {
      addJwtAuthority(map, kid, checkJwtAuthorityKey(kid, key, td.name), td.name);
    }
    return new JwtBundle(td, map);
  }

  /**
   * Parses a JWK Set (RFC 7517), as the Workload API's `FetchJWTBundles` sends it: keys with `use` absent or
   * `"jwt-svid"` are JWT authorities and need a `kid`. JWKs with another `use` or an unknown `kty` are ignored; a
   * missing `keys` is an error, `"keys": []` an empty bundle.
   *
   * @throws {SvidIssuerError} `ERR_WID_BUNDLE_*`.
   * @example
   * const bundle = JwtBundle.parse('example.org', '{"keys":[{"kty":"EC","kid":"k1","crv":"P-256","x":"…","y":"…"}]}');
   */
  static parse(trustDomain: TrustDomain | string, jwks: string | Uint8Array): JwtBundle {
    const td = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
    return new JwtBundle(td, parseJwks(jwks, 'jwt', td.name).jwtAuthorities);
  }

  /** The authorities, key ID → public key (a fresh Map each call). */
  jwtAuthorities(): Map<string, KeyObject> {
    return new Map(this.#authorities);
  }

  /** The public key with key ID `kid`, or undefined. */
  findJwtAuthority(kid: string): KeyObject | undefined {
    return this.#authorities.get(kid);
  }

  /** True when the bundle has a key with ID `kid`. */
  hasJwtAuthority(kid: string): boolean {
    return this.#authorities.has(kid);
  }

  /** Number of authorities. */
  get size(): number {
    return this.#authorities.size;
  }

  /** The JWK Set JSON: every key with `use: "jwt-svid"` and its `kid` (what FetchJWTBundles sends). */
  marshal(): string {
    const keys = [...this.#authorities].map(([kid, key]) => ({ use: JWT_SVID_USE, kid, ...publicKeyJwk(key) }));
    return JSON.stringify({ keys });
  }

  /** Itself when `trustDomain` is this bundle's trust domain, so a single bundle is a {@link JwtBundleSource}. */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this : undefined;
  }

  /** Same trust domain and the same key IDs with equal keys. */
  equals(other: JwtBundle | undefined): boolean {
    if (other === undefined || !this.trustDomain.equals(other.trustDomain)) return false;
    const theirs = other.#authorities;
    if (theirs.size !== this.#authorities.size) return false;
    for (const [kid, key] of this.#authorities) {
      const k = theirs.get(kid);
      if (k === undefined || !k.equals(key)) return false;
    }
    return true;
  }

  toString(): string {
    return `JwtBundle(${this.trustDomain.name}, ${this.#authorities.size} authorities)`;
  }
}
