import type { X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { SvidIssuerError } from './errors.js';
import { splitConcatenatedDer, toX509Certificate } from './internal/x509-cert-info.js';
import { decodePemOfType, encodePem, looksLikePem } from './internal/x509-pem.js';

/**
 * Anything that can hand out the X.509 bundle of a trust domain: an {@link X509Bundle} itself, a bundle set, a
 * SPIFFE bundle, a certificate authority, or a Workload API client's cache.
 *
 * @example
 * const source: X509BundleSource = X509Bundle.parse(td, pem);
 * source.getX509BundleForTrustDomain(td)?.x509Authorities();
 */
export interface X509BundleSource {
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined;
}

/**
 * The X.509 authorities (root CA certificates) of one trust domain (X509-SVID §6). Immutable; a bundle never
 * exists without its trust domain name, since the bundle bytes themselves carry none.
 *
 * @example
 * const bundle = X509Bundle.parse(TrustDomain.parse('example.org'), pemText);
 * verifyX509Svid(peerChain, bundle);
 */
export class X509Bundle implements X509BundleSource {
  readonly trustDomain: TrustDomain;
  readonly #authorities: readonly X509Certificate[];

  private constructor(trustDomain: TrustDomain, authorities: readonly X509Certificate[]) {
    this.trustDomain = trustDomain;
    const seen = new Set<string>();
    const unique: X509Certificate[] = [];
    for (const a of authorities) {
      const key = a.raw.toString('base64');
      if (!seen.has(key)) {
        seen.add(key);
        unique.push(a);
      }
    }
    this.#authorities = Object.freeze(unique);
    Object.freeze(this);
  }

  /**
   * A bundle holding `authorities` (duplicates are dropped).
   *
   * @example
   * const bundle = X509Bundle.fromX509Authorities(td, [rootCert]);
   */
  static fromX509Authorities(trustDomain: TrustDomain | string, authorities: readonly X509Certificate[]): X509Bundle {
    const td = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
    return new X509Bundle(td, authorities);
  }

  /**
   * Parses PEM text (CERTIFICATE blocks) or concatenated DER certificates (as the Workload API sends them). Empty
   * input gives an empty bundle; anything malformed throws `ERR_WID_X509_BAD_PEM` / `ERR_WID_X509_BAD_CERTIFICATE`.
   *
   * @example
   * const bundle = X509Bundle.parse('example.org', readFileSync('bundle.pem', 'utf8'));
   */
  static parse(trustDomain: TrustDomain | string, pemOrDer: string | Uint8Array): X509Bundle {
    return X509Bundle.fromX509Authorities(trustDomain, parseCertificates(pemOrDer));
  }

  /** The authorities, in order (a fresh array each call). */
  x509Authorities(): X509Certificate[] {
    return [...this.#authorities];
  }

  /** True when `cert` (compared by DER bytes) is one of the authorities. */
  hasX509Authority(cert: X509Certificate): boolean {
    return this.#authorities.some((a) => a.raw.equals(cert.raw));
  }

  /** PEM text, one CERTIFICATE block per authority. */
  marshal(): string {
    return this.#authorities.map((a) => encodePem('CERTIFICATE', a.raw)).join('');
  }

  /** Concatenated DER certificates, the Workload API's `bundle` field format. */
  marshalDer(): Uint8Array {
    return Buffer.concat(this.#authorities.map((a) => a.raw));
  }

  /** Itself when `trustDomain` is this bundle's trust domain, so a single bundle is an {@link X509BundleSource}. */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this : undefined;
  }

  /** Same trust domain and the same authorities in the same order. */
  equals(other: X509Bundle | undefined): boolean {
    if (other === undefined || !this.trustDomain.equals(other.trustDomain)) return false;
    const theirs = other.#authorities;
    return (
      this.#authorities.length === theirs.length && this.#authorities.every((a, i) => a.raw.equals(theirs[i]!.raw))
    );
  }

  toString(): string {
    return `X509Bundle(${this.trustDomain.name}, ${this.#authorities.length} authorities)`;
  }
}

/** PEM text or concatenated DER → certificates, with coded errors naming the index of a bad one. */
export function parseCertificates(pemOrDer: string | Uint8Array): X509Certificate[] {
  let ders: Uint8Array[];
  if (typeof pemOrDer === 'string') ders = decodePemOfType(pemOrDer, ['CERTIFICATE'], 'certificate');
  else if (pemOrDer instanceof Uint8Array) {
    ders = looksLikePem(pemOrDer)
      ? decodePemOfType(Buffer.from(pemOrDer).toString('latin1'), ['CERTIFICATE'], 'certificate')
      : splitConcatenatedDer(pemOrDer);
  } else {
    throw new SvidIssuerError('ERR_WID_X509_BAD_CERTIFICATE', 'certificates must be PEM text or DER bytes');
  }
  return ders.map((der, index) => toX509Certificate(der, index));
}
