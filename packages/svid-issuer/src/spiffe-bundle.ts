import type { KeyObject, X509Certificate } from 'node:crypto';
import { TrustDomain } from '@wid/spiffe-id';
import { type JwtBundleErrorCode, SvidIssuerError, type SvidIssuerErrorFields } from './errors.js';
import { rawTopLevelMember } from './internal/json-int.js';
import {
  addJwtAuthority,
  checkJwtAuthorityKey,
  checkX509AuthorityCert,
  JWT_SVID_USE,
  parseJwks,
  publicKeyJwk,
  X509_SVID_USE,
} from './internal/jwk.js';
import { JwtBundle, type JwtBundleSource } from './jwt-bundle.js';
import { X509Bundle, type X509BundleSource } from './x509-bundle.js';

/** The largest `spiffe_sequence`: a uint64. */
const MAX_SEQUENCE = (1n << 64n) - 1n;

/**
 * Anything that can hand out the SPIFFE bundle of a trust domain: a {@link SpiffeBundle} itself or a
 * {@link SpiffeBundleSet}.
 *
 * @example
 * const source: SpiffeBundleSource = SpiffeBundleSet.of(bundle);
 * source.getSpiffeBundleForTrustDomain(td)?.sequence;
 */
export interface SpiffeBundleSource {
  getSpiffeBundleForTrustDomain(trustDomain: TrustDomain): SpiffeBundle | undefined;
}

/** Options of {@link SpiffeBundle.create}. */
export interface SpiffeBundleOptions {
  readonly trustDomain: TrustDomain | string;
  /** X.509 authorities (CA certificates with EC P-256/P-384/P-521 or RSA keys). Default: none. */
  readonly x509Authorities?: readonly X509Certificate[];
  /** JWT authorities, key ID → public key (EC P-256/P-384/P-521 or RSA). Default: none. */
  readonly jwtAuthorities?: ReadonlyMap<string, KeyObject>;
  /** `spiffe_sequence`, 0 to 2^64-1. Default: absent. */
  readonly sequence?: bigint;
  /** `spiffe_refresh_hint` in seconds, a non-negative integer. Default: absent (consumers poll every 5 minutes). */
  readonly refreshHintSeconds?: number;
}

function fail(code: JwtBundleErrorCode, message: string, fields?: SvidIssuerErrorFields): never {
  throw new SvidIssuerError(code, message, fields);
}

/**
 * A SPIFFE bundle (Trust Domain and Bundle §4): the X.509 and JWT authorities of one trust domain as an RFC 7517 JWK
 * Set, with `spiffe_sequence` (a uint64, kept exact as a bigint) and `spiffe_refresh_hint` (seconds). This is what a
 * federation bundle endpoint serves. Immutable.
 *
 * @example
 * const bundle = SpiffeBundle.parse('example.org', await (await fetch(url)).text());
 * bundle.sequence; // 12n
 * bundle.x509Bundle().x509Authorities();
 */
export class SpiffeBundle implements X509BundleSource, JwtBundleSource, SpiffeBundleSource {
  readonly trustDomain: TrustDomain;
  /** `spiffe_sequence`, exact (JSON.parse would round values above 2^53). */
  readonly sequence: bigint | undefined;
  /** `spiffe_refresh_hint` in seconds. */
  readonly refreshHintSeconds: number | undefined;
  readonly #x509: X509Bundle;
  readonly #jwt: JwtBundle;

  private constructor(
    x509: X509Bundle,
    jwt: JwtBundle,
    sequence: bigint | undefined,
    refreshHintSeconds: number | undefined,
  ) {
    this.trustDomain = x509.trustDomain;
    this.sequence = sequence;
    this.refreshHintSeconds = refreshHintSeconds;
    this.#x509 = x509;
    this.#jwt = jwt;
    Object.freeze(this);
  }

  /**
   * Builds a bundle from authorities.
   *
   * @throws {SvidIssuerError} `ERR_WID_BUNDLE_BAD_SEQUENCE`, `ERR_WID_BUNDLE_BAD_REFRESH_HINT`,
   *   `ERR_WID_BUNDLE_BAD_KEY`, `ERR_WID_BUNDLE_MISSING_KID`.
   * @example
   * const bundle = SpiffeBundle.create({ trustDomain: 'example.org', x509Authorities: [caCert],
   *   jwtAuthorities: new Map([['k1', jwtPublicKey]]), sequence: 1n, refreshHintSeconds: 300 });
   */
  static create(options: SpiffeBundleOptions): SpiffeBundle {
    const td = typeof options.trustDomain === 'string' ? TrustDomain.parse(options.trustDomain) : options.trustDomain;
    const certs = (options.x509Authorities ?? []).map((c, i) => checkX509AuthorityCert(c, td.name, i));
    const jwt = new Map<string, KeyObject>();
    for (const [kid, key] of options.jwtAuthorities ?? []) {
      addJwtAuthority(jwt, kid, checkJwtAuthorityKey(kid, key, td.name), td.name);
    }
    return new SpiffeBundle(
      X509Bundle.fromX509Authorities(td, certs),
      JwtBundle.fromJwtAuthorities(td, jwt),
      checkSequence(options.sequence, td.name),
      checkRefreshHint(options.refreshHintSeconds, td.name),
    );
  }

  /**
   * Parses a SPIFFE bundle document. `keys` is required (`[]` is valid); `x509-svid` entries give the first
   * certificate of their `x5c`, `jwt-svid` entries need a `kid`. Entries with an unknown `use` or `kty`, and
   * `x509-svid` entries without `x5c`, are ignored (interop over strictness, as the standard asks).
   *
   * @throws {SvidIssuerError} `ERR_WID_BUNDLE_*`.
   * @example
   * const bundle = SpiffeBundle.parse(TrustDomain.parse('example.org'), bodyText);
   */
  static parse(trustDomain: TrustDomain | string, json: string | Uint8Array): SpiffeBundle {
    const td = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
    const parsed = parseJwks(json, 'spiffe', td.name);
    return new SpiffeBundle(
      X509Bundle.fromX509Authorities(td, parsed.x509Authorities),
      JwtBundle.fromJwtAuthorities(td, parsed.jwtAuthorities),
      parseSequence(parsed.document, parsed.text, td.name),
      parseRefreshHint(parsed.document, td.name),
    );
  }

  /**
   * A SPIFFE bundle holding the authorities of an X.509 bundle (no JWT authorities, no sequence or refresh hint).
   *
   * @example
   * const bundle = SpiffeBundle.fromX509Bundle(X509Bundle.parse('example.org', pem));
   */
  static fromX509Bundle(bundle: X509Bundle): SpiffeBundle {
    return SpiffeBundle.create({ trustDomain: bundle.trustDomain, x509Authorities: bundle.x509Authorities() });
  }

  /**
   * A SPIFFE bundle holding the authorities of a JWT bundle (no X.509 authorities, no sequence or refresh hint).
   *
   * @example
   * const bundle = SpiffeBundle.fromJwtBundle(JwtBundle.parse('example.org', jwks));
   */
  static fromJwtBundle(bundle: JwtBundle): SpiffeBundle {
    return SpiffeBundle.create({ trustDomain: bundle.trustDomain, jwtAuthorities: bundle.jwtAuthorities() });
  }

  /** The X.509 authorities (a fresh array each call). */
  x509Authorities(): X509Certificate[] {
    return this.#x509.x509Authorities();
  }

  /** The JWT authorities, key ID → public key (a fresh Map each call). */
  jwtAuthorities(): Map<string, KeyObject> {
    return this.#jwt.jwtAuthorities();
  }

  /** The JWT public key with ID `kid`, or undefined. */
  findJwtAuthority(kid: string): KeyObject | undefined {
    return this.#jwt.findJwtAuthority(kid);
  }

  /** The X.509 half as an {@link X509Bundle}. */
  x509Bundle(): X509Bundle {
    return this.#x509;
  }

  /** The JWT half as a {@link JwtBundle}. */
  jwtBundle(): JwtBundle {
    return this.#jwt;
  }

  /**
   * The bundle document: `keys` (X.509 authorities as `use: "x509-svid"` with a one-certificate `x5c`, then JWT
   * authorities as `use: "jwt-svid"` with `kid`), then `spiffe_refresh_hint` and `spiffe_sequence` when set (the
   * sequence written exactly).
   */
  marshal(): string {
    const keys = [
      ...this.#x509.x509Authorities().map((cert) => ({
        use: X509_SVID_USE,
        ...publicKeyJwk(cert.publicKey),
        x5c: [cert.raw.toString('base64')],
      })),
      ...[...this.#jwt.jwtAuthorities()].map(([kid, key]) => ({ use: JWT_SVID_USE, kid, ...publicKeyJwk(key) })),
    ];
    let out = `{"keys":${JSON.stringify(keys)}`;
    if (this.refreshHintSeconds !== undefined) out += `,"spiffe_refresh_hint":${this.refreshHintSeconds}`;
    if (this.sequence !== undefined) out += `,"spiffe_sequence":${this.sequence.toString()}`;
    return `${out}}`;
  }

  /** The X.509 half when `trustDomain` is this bundle's. */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this.#x509 : undefined;
  }

  /** The JWT half when `trustDomain` is this bundle's. */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this.#jwt : undefined;
  }

  /** Itself when `trustDomain` is this bundle's. */
  getSpiffeBundleForTrustDomain(trustDomain: TrustDomain): SpiffeBundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this : undefined;
  }

  /** Same trust domain, authorities, sequence and refresh hint. */
  equals(other: SpiffeBundle | undefined): boolean {
    return (
      other !== undefined &&
      this.sequence === other.sequence &&
      this.refreshHintSeconds === other.refreshHintSeconds &&
      this.#x509.equals(other.#x509) &&
      this.#jwt.equals(other.#jwt)
    );
  }

  toString(): string {
    const seq = this.sequence === undefined ? '' : `, sequence ${this.sequence}`;
    return `SpiffeBundle(${this.trustDomain.name}, ${this.#x509.x509Authorities().length} X.509 and ${this.#jwt.size} JWT authorities${seq})`;
  }
}

function checkSequence(sequence: unknown, trustDomain: string): bigint | undefined {
  if (sequence === undefined) return undefined;
  if (typeof sequence !== 'bigint' || sequence < 0n || sequence > MAX_SEQUENCE) {
    fail('ERR_WID_BUNDLE_BAD_SEQUENCE', `sequence must be a bigint from 0 to 2^64-1, got ${String(sequence)}`, {
      trustDomain,
    });
  }
  return sequence;
}

function checkRefreshHint(hint: unknown, trustDomain: string): number | undefined {
  if (hint === undefined) return undefined;
  if (typeof hint !== 'number' || !Number.isSafeInteger(hint) || hint < 0) {
    fail(
      'ERR_WID_BUNDLE_BAD_REFRESH_HINT',
      `refresh hint must be a non-negative integer of seconds, got ${String(hint)}`,
      {
        trustDomain,
      },
    );
  }
  return hint;
}

const UINT_LITERAL = /^(?:0|[1-9][0-9]*)$/;

/** Trust Domain and Bundle §4.1.1: a uint64, read from the raw text so no digit is lost. `null` means absent. */
function parseSequence(document: Record<string, unknown>, text: string, trustDomain: string): bigint | undefined {
  const value = document['spiffe_sequence'];
  if (value === undefined || value === null) return undefined;
  const raw = typeof value === 'number' ? rawTopLevelMember(text, 'spiffe_sequence') : undefined;
  if (raw === undefined || !UINT_LITERAL.test(raw)) {
    fail(
      'ERR_WID_BUNDLE_BAD_SEQUENCE',
      `"spiffe_sequence" must be an unsigned integer, got ${(raw ?? JSON.stringify(value) ?? '').slice(0, 40)}`,
      { trustDomain, input: (raw ?? JSON.stringify(value) ?? '').slice(0, 40) },
    );
  }
  const sequence = BigInt(raw);
  if (sequence > MAX_SEQUENCE) {
    fail('ERR_WID_BUNDLE_BAD_SEQUENCE', `"spiffe_sequence" ${raw} does not fit in 64 bits`, {
      trustDomain,
      input: raw,
    });
  }
  return sequence;
}

/** Trust Domain and Bundle §4.1.2: seconds, a non-negative integer. `null` means absent. */
function parseRefreshHint(document: Record<string, unknown>, trustDomain: string): number | undefined {
  const value = document['spiffe_refresh_hint'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(
      'ERR_WID_BUNDLE_BAD_REFRESH_HINT',
      `"spiffe_refresh_hint" must be a non-negative integer, got ${JSON.stringify(value)}`,
      {
        trustDomain,
        input: String(JSON.stringify(value)).slice(0, 40),
      },
    );
  }
  return value;
}
