import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import type { SpiffeId } from '@wid/spiffe-id';
import { SvidIssuerError } from './errors.js';
import { certInfo } from './internal/x509-cert-info.js';
import { isKeyObject } from './internal/x509-keys.js';
import { decodePemOfType, encodePem, looksLikePem } from './internal/x509-pem.js';
import { checkLeaf, checkSigningCert, idFromCert } from './internal/x509-rules.js';
import { parseCertificates } from './x509-bundle.js';

/**
 * Anything that holds a current X.509-SVID: an {@link X509Svid} itself, or a Workload API client's cache.
 *
 * @example
 * function tlsOptions(source: X509SvidSource) { const svid = source.getX509Svid(); ... }
 */
export interface X509SvidSource {
  getX509Svid(): X509Svid;
}

/**
 * Options of {@link X509Svid.parse} and friends.
 *
 * @example
 * X509Svid.parseRaw(msg.x509Svid, msg.x509SvidKey, { hint: msg.hint });
 */
export interface X509SvidParseOptions {
  /** Operator-chosen label from the Workload API (`hint` field); not validated. */
  readonly hint?: string;
}

/**
 * An X.509-SVID with its private key: the leaf certificate first, then intermediates. Built only through the
 * validating constructors, which apply the X509-SVID §5 rules (in go-spiffe's order) but, like go-spiffe, check
 * neither signatures nor dates — use {@link verifyX509Svid} for a peer's chain.
 *
 * @example
 * const svid = X509Svid.parse(certsPem, keyPem);
 * svid.id.toString(); // 'spiffe://example.org/web'
 * tls.createSecureContext({ cert: svid.marshal().certificates, key: svid.marshal().privateKey });
 */
export class X509Svid implements X509SvidSource {
  /** The SPIFFE ID from the leaf's URI SAN. */
  readonly id: SpiffeId;
  /** Leaf first, then intermediates (a fresh frozen array; the certificates are Node's own). */
  readonly certificates: readonly X509Certificate[];
  readonly privateKey: KeyObject;
  readonly hint: string | undefined;

  private constructor(id: SpiffeId, certificates: readonly X509Certificate[], privateKey: KeyObject, hint?: string) {
    this.id = id;
    this.certificates = Object.freeze([...certificates]);
    this.privateKey = privateKey;
    this.hint = hint;
    Object.freeze(this);
  }

  /**
   * Parses PEM certificates (leaf first) and a PEM PKCS#8 private key ("PRIVATE KEY").
   *
   * @example
   * const svid = X509Svid.parse(readFileSync('svid.pem', 'utf8'), readFileSync('svid_key.pem', 'utf8'));
   */
  static parse(
    certsPem: string | Uint8Array,
    keyPem: string | Uint8Array,
    options: X509SvidParseOptions = {},
  ): X509Svid {
    const certs = parseCertificates(certsPem);
    const text = typeof keyPem === 'string' ? keyPem : Buffer.from(keyPem).toString('latin1');
    const keys = decodePemOfType(text, ['PRIVATE KEY'], 'private key');
    if (keys.length !== 1) {
      throw new SvidIssuerError(
        'ERR_WID_X509_BAD_PRIVATE_KEY',
        `expected one PRIVATE KEY PEM block, found ${keys.length}`,
      );
    }
    return X509Svid.fromParts(certs, pkcs8(keys[0]!), options);
  }

  /**
   * Parses concatenated DER certificates (leaf first) and a PKCS#8 DER private key — the Workload API's
   * `x509_svid` and `x509_svid_key` fields.
   *
   * @example
   * const svid = X509Svid.parseRaw(msg.x509Svid, msg.x509SvidKey, { hint: msg.hint });
   */
  static parseRaw(certsDer: Uint8Array, keyDer: Uint8Array, options: X509SvidParseOptions = {}): X509Svid {
    if (!(certsDer instanceof Uint8Array) || looksLikePem(certsDer)) {
      throw new SvidIssuerError(
        'ERR_WID_X509_BAD_CERTIFICATE',
        'parseRaw expects concatenated DER certificates (use parse for PEM)',
      );
    }
    return X509Svid.fromParts(parseCertificates(certsDer), pkcs8(keyDer), options);
  }

  /**
   * Builds an SVID from already-parsed parts, applying the same rules as {@link X509Svid.parse}.
   *
   * @example
   * const svid = X509Svid.fromParts(issued.certificates, privateKey);
   */
  static fromParts(
    certificates: readonly X509Certificate[],
    privateKey: KeyObject,
    options: X509SvidParseOptions = {},
  ): X509Svid {
    // X509-SVID §5, in order: one valid URI SAN; non-root path; cA=false; digitalSignature; no keyCertSign;
    // no cRLSign; every further certificate a CA with keyCertSign; the private key matches the leaf.
    const leaf = certificates[0];
    if (leaf === undefined) throw new SvidIssuerError('ERR_WID_X509_NO_CERTIFICATES', 'no certificates found');
    const leafInfo = certInfo(leaf, 0);
    const id = idFromCert(leafInfo, 0);
    checkLeaf(leafInfo, id);
    for (let i = 1; i < certificates.length; i++) checkSigningCert(certInfo(certificates[i]!, i), i);
    if (!isKeyObject(privateKey) || privateKey.type !== 'private') {
      throw new SvidIssuerError('ERR_WID_X509_BAD_PRIVATE_KEY', 'privateKey must be a private KeyObject');
    }
    let matches = false;
    try {
      matches = leaf.publicKey.equals(createPublicKey(privateKey));
    } catch {
      matches = false;
    }
    if (!matches) {
      throw new SvidIssuerError('ERR_WID_X509_KEY_MISMATCH', 'private key does not match certificate public key', {
        index: 0,
        input: id.toString(),
      });
    }
    return new X509Svid(id, certificates, privateKey, options.hint);
  }

  /** The leaf certificate. */
  get leaf(): X509Certificate {
    return this.certificates[0]!;
  }

  /** The leaf's notAfter. */
  get expiresAt(): Date {
    return new Date(certInfo(this.leaf).notAfter);
  }

  /** PEM certificates (leaf first) and the PEM PKCS#8 key, ready for `tls.createSecureContext`. */
  marshal(): { certificates: string; privateKey: string } {
    return {
      certificates: this.certificates.map((c) => encodePem('CERTIFICATE', c.raw)).join(''),
      privateKey: this.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  /** Concatenated DER certificates and PKCS#8 DER key (the Workload API's wire format). */
  marshalRaw(): { certificates: Uint8Array; privateKey: Uint8Array } {
    return {
      certificates: Buffer.concat(this.certificates.map((c) => c.raw)),
      privateKey: this.privateKey.export({ type: 'pkcs8', format: 'der' }),
    };
  }

  /** Itself, so an SVID is an {@link X509SvidSource}. */
  getX509Svid(): X509Svid {
    return this;
  }

  toString(): string {
    return `X509Svid(${this.id})`;
  }
}

function pkcs8(der: Uint8Array): KeyObject {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_PRIVATE_KEY', 'private key must be non-empty PKCS#8 DER');
  }
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new SvidIssuerError(
      'ERR_WID_X509_BAD_PRIVATE_KEY',
      'cannot parse private key: not an unencrypted PKCS#8 key',
      {
        cause,
      },
    );
  }
}
