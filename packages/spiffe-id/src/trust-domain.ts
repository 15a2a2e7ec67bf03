import { validateTrustDomainName } from './internal/validate.js';
import { SpiffeId } from './spiffe-id.js';

/**
 * A SPIFFE trust domain (SPIFFE-ID §2.1), e.g. `example.org`. Built only by `TrustDomain.parse`, so every instance is
 * valid; frozen; compare with `equals`.
 *
 * @example
 * const td = TrustDomain.parse('example.org');
 * td.idString(); // 'spiffe://example.org'
 */
export class TrustDomain {
  /** The trust domain name, e.g. `example.org`. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
    Object.freeze(this);
  }

  /**
   * Parses a trust domain name (`example.org`) or a SPIFFE ID (`spiffe://example.org/x`, whose trust domain is
   * returned). As in go-spiffe, any input containing `:/` is parsed as a full ID.
   * @throws {SpiffeIdError} naming the rule broken.
   */
  static parse(nameOrId: string): TrustDomain {
    if (nameOrId.includes(':/')) return SpiffeId.parse(nameOrId).trustDomain;
    validateTrustDomainName(nameOrId, nameOrId);
    return new TrustDomain(nameOrId);
  }

  /** @internal Builds from a name already validated by the caller. */
  static fromValidatedName(name: string): TrustDomain {
    return new TrustDomain(name);
  }

  /** True when `nameOrId` parses as a trust domain. */
  static isValid(nameOrId: string): boolean {
    try {
      TrustDomain.parse(nameOrId);
      return true;
    } catch {
      return false;
    }
  }

  /** The trust domain's own SPIFFE ID, `spiffe://<name>` (root path). */
  id(): SpiffeId {
    return SpiffeId.fromPath(this, '');
  }

  /** `spiffe://<name>`: the key used for bundle maps on the Workload API wire. */
  idString(): string {
    return `spiffe://${this.name}`;
  }

  equals(other: TrustDomain | undefined): boolean {
    return other !== undefined && other.name === this.name;
  }

  /** The name, e.g. `example.org`. */
  toString(): string {
    return this.name;
  }

  toJSON(): string {
    return this.name;
  }
}
