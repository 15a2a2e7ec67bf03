import { SpiffeIdError } from './errors.js';
import {
  isTrustDomainChar,
  SCHEME_PREFIX,
  validatePath,
  validateSegment,
  validateTrustDomainName,
} from './internal/validate.js';
import { TrustDomain } from './trust-domain.js';

/**
 * A SPIFFE ID (SPIFFE-ID §2): `spiffe://<trust-domain><path>`. Built only through validating constructors; frozen;
 * compare with `equals`, print with `toString`.
 *
 * @example
 * const id = SpiffeId.parse('spiffe://example.org/ns/prod/sa/web');
 * id.trustDomain.name; // 'example.org'
 * id.path;             // '/ns/prod/sa/web'
 */
export class SpiffeId {
  /** The trust domain the ID belongs to. */
  readonly trustDomain: TrustDomain;
  /** The path, `''` for the trust domain's root ID, otherwise starting with `/`. */
  readonly path: string;

  private constructor(trustDomain: TrustDomain, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
    Object.freeze(this);
  }

  /**
   * Parses and validates a SPIFFE ID string. No normalisation: uppercase trust domains, percent-encoding, ports,
   * userinfo, queries and fragments are rejected.
   * @throws {SpiffeIdError} with go-spiffe's wording and a stable `code`.
   */
  static parse(id: string): SpiffeId {
    if (typeof id !== 'string' || id.length === 0) {
      throw new SpiffeIdError('ERR_WID_SPIFFE_ID_EMPTY', 'cannot be empty', typeof id === 'string' ? id : String(id));
    }
    if (!id.startsWith(SCHEME_PREFIX)) {
      throw new SpiffeIdError('ERR_WID_SPIFFE_ID_WRONG_SCHEME', 'scheme is missing or invalid', id);
    }
    let i = SCHEME_PREFIX.length;
    for (; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c === 0x2f) break;
      if (!isTrustDomainChar(c)) {
        validateTrustDomainName(id.slice(SCHEME_PREFIX.length, i + 1), id, SCHEME_PREFIX.length);
      }
    }
    const name = id.slice(SCHEME_PREFIX.length, i);
    validateTrustDomainName(name, id, SCHEME_PREFIX.length);
    const path = id.slice(i);
    validatePath(path, id, i);
    return new SpiffeId(TrustDomain.fromValidatedName(name), path);
  }

  /** True when `id` parses as a SPIFFE ID. */
  static isValid(id: string): boolean {
    try {
      SpiffeId.parse(id);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Builds an ID from a trust domain and a path (`''` or `/a/b`).
   * @example SpiffeId.fromPath(td, '/web') // spiffe://example.org/web
   */
  static fromPath(trustDomain: TrustDomain, path: string): SpiffeId {
    validatePath(path, path);
    return new SpiffeId(trustDomain, path);
  }

  /**
   * Builds an ID from path segments (no slashes inside a segment).
   * @example SpiffeId.fromSegments(td, 'ns', 'prod') // spiffe://example.org/ns/prod
   */
  static fromSegments(trustDomain: TrustDomain, ...segments: string[]): SpiffeId {
    for (const s of segments) validateSegment(s);
    return new SpiffeId(trustDomain, segments.length === 0 ? '' : `/${segments.join('/')}`);
  }

  /** Builds an ID from a WHATWG `URL` (its serialised form is validated like a string). */
  static fromUri(url: URL): SpiffeId {
    return SpiffeId.parse(url.href);
  }

  /** True when the ID has no path (the trust domain's own ID). Workload SVIDs never have a root ID. */
  isRoot(): boolean {
    return this.path === '';
  }

  /** True when the ID belongs to `trustDomain`. */
  memberOf(trustDomain: TrustDomain): boolean {
    return this.trustDomain.equals(trustDomain);
  }

  equals(other: SpiffeId | undefined): boolean {
    return other !== undefined && other.path === this.path && other.trustDomain.equals(this.trustDomain);
  }

  /** A new ID with `path` (which must start with `/`) appended. */
  appendPath(path: string): SpiffeId {
    validatePath(path, path);
    return new SpiffeId(this.trustDomain, this.path + path);
  }

  /** A new ID with the segments appended. */
  appendSegments(...segments: string[]): SpiffeId {
    for (const s of segments) validateSegment(s);
    return segments.length === 0 ? this : new SpiffeId(this.trustDomain, `${this.path}/${segments.join('/')}`);
  }

  /** A new ID in the same trust domain with `path` instead of the current one. */
  replacePath(path: string): SpiffeId {
    return SpiffeId.fromPath(this.trustDomain, path);
  }

  /** `spiffe://<trust-domain><path>`. */
  toString(): string {
    return `${SCHEME_PREFIX}${this.trustDomain.name}${this.path}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** True when `id` is a valid SPIFFE ID string. */
export function isValid(id: string): boolean {
  return SpiffeId.isValid(id);
}
