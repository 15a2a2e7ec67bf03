import { TrustDomain } from '@wid/spiffe-id';
import type { JwtBundle, JwtBundleSource } from './jwt-bundle.js';
import type { SpiffeBundle, SpiffeBundleSource } from './spiffe-bundle.js';
import type { X509Bundle, X509BundleSource } from './x509-bundle.js';

/** Bundles of several trust domains, at most one per trust domain, keyed by trust domain name. */
abstract class BundleSet<B extends { readonly trustDomain: TrustDomain }> {
  readonly #bundles = new Map<string, B>();

  constructor(bundles: Iterable<B> = []) {
    for (const b of bundles) this.add(b);
  }

  /** Adds `bundle`, replacing the bundle of the same trust domain if there is one. */
  add(bundle: B): void {
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  /** Removes the bundle of `trustDomain`; true when there was one. */
  remove(trustDomain: TrustDomain | string): boolean {
    return this.#bundles.delete(nameOf(trustDomain));
  }

  /** True when the set holds a bundle for `trustDomain`. */
  has(trustDomain: TrustDomain | string): boolean {
    return this.#bundles.has(nameOf(trustDomain));
  }

  /** The bundle of `trustDomain`, or undefined. */
  get(trustDomain: TrustDomain | string): B | undefined {
    return this.#bundles.get(nameOf(trustDomain));
  }

  /** Every bundle, sorted by trust domain name (a fresh array each call). */
  bundles(): B[] {
    return [...this.#bundles.values()].sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : 1));
  }

  /** Number of trust domains in the set. */
  get size(): number {
    return this.#bundles.size;
  }
}

function nameOf(trustDomain: TrustDomain | string): string {
  return typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain).name : trustDomain.name;
}

/**
 * X.509 bundles of several trust domains (the local one and federated ones), usable wherever an
 * {@link X509BundleSource} is expected.
 *
 * @example
 * const set = X509BundleSet.of(localBundle, partnerBundle);
 * verifyX509Svid(peerChain, set);
 */
export class X509BundleSet extends BundleSet<X509Bundle> implements X509BundleSource {
  /** A set holding `bundles` (a later bundle of the same trust domain replaces an earlier one). */
  static of(...bundles: X509Bundle[]): X509BundleSet {
    return new X509BundleSet(bundles);
  }

  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined {
    return this.get(trustDomain);
  }
}

/**
 * JWT bundles of several trust domains, usable wherever a {@link JwtBundleSource} is expected: a token is validated
 * against the bundle of its own (`sub`'s) trust domain.
 *
 * @example
 * const set = JwtBundleSet.of(localJwtBundle, partnerJwtBundle);
 * JwtSvid.parseAndValidate(token, set, ['spiffe://example.org/api']);
 */
export class JwtBundleSet extends BundleSet<JwtBundle> implements JwtBundleSource {
  /** A set holding `bundles` (a later bundle of the same trust domain replaces an earlier one). */
  static of(...bundles: JwtBundle[]): JwtBundleSet {
    return new JwtBundleSet(bundles);
  }

  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined {
    return this.get(trustDomain);
  }
}

/**
 * SPIFFE bundles of several trust domains; serves their X.509 and JWT halves as well, so one set backs both X.509-SVID
 * verification and JWT-SVID validation.
 *
 * @example
 * const set = SpiffeBundleSet.of(SpiffeBundle.parse('partner.org', body));
 * set.getJwtBundleForTrustDomain(TrustDomain.parse('partner.org'));
 */
export class SpiffeBundleSet
  extends BundleSet<SpiffeBundle>
  implements X509BundleSource, JwtBundleSource, SpiffeBundleSource
{
  /** A set holding `bundles` (a later bundle of the same trust domain replaces an earlier one). */
  static of(...bundles: SpiffeBundle[]): SpiffeBundleSet {
    return new SpiffeBundleSet(bundles);
  }

  getSpiffeBundleForTrustDomain(trustDomain: TrustDomain): SpiffeBundle | undefined {
    return this.get(trustDomain);
  }

  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined {
    return this.get(trustDomain)?.x509Bundle();
  }

  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined {
    return this.get(trustDomain)?.jwtBundle();
  }
}
