import { createHash, createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { type Logger, SpiffeId, TrustDomain } from '@wid/spiffe-id';
import { SvidIssuerError } from './errors.js';
import { publicKeyJwk } from './internal/jwk.js';
import { detachedKey } from './internal/key-copy.js';
import { certInfo, toX509Certificate } from './internal/x509-cert-info.js';
import { publicKeyFromCsr } from './internal/x509-csr.js';
import {
  type GeneratedSvidKey,
  generateSvidKey,
  isKeyObject,
  keyIdentifier,
  workloadPublicKey,
} from './internal/x509-keys.js';
import { decodePemOfType, encodePem } from './internal/x509-pem.js';
import { checkSigningCert } from './internal/x509-rules.js';
import {
  buildCaCertificate,
  checkName,
  type DistinguishedName,
  encodeName,
  LeafTemplate,
} from './internal/x509-template.js';
import type { JwtBundle } from './jwt-bundle.js';
import { JWT_SVID_LEEWAY_SECONDS, type JwtSvid, signJwtSvid } from './jwt-svid.js';
import { generateKeyPair, isKeyType, type KeyType, keyTypeOf } from './key-type.js';
import { SpiffeBundle } from './spiffe-bundle.js';
import { verifyX509Svid } from './verify-x509-svid.js';
import { parseCertificates, X509Bundle, type X509BundleSource } from './x509-bundle.js';
import { X509Svid } from './x509-svid.js';

export type { DistinguishedName } from './internal/x509-template.js';

/**
 * The pino-compatible logger shape wid components accept. Silent by default.
 *
 * @example
 * createCertificateAuthority({ trustDomain: 'example.org', logger: pino() });
 */
export type CaLogger = Logger;

/**
 * An upstream CA to issue beneath: its certificate chain (the signing CA first, then its issuers), the signing CA's
 * private key, and the trust bundle (root certificates) that chain leads to. Without `bundle`, the self-signed
 * certificates at the end of the chain are the bundle. Either PEM text or parsed objects.
 *
 * @example
 * createCertificateAuthority({ trustDomain: 'example.org',
 *   upstream: { certChainPem: readFileSync('upstream-chain.pem', 'utf8'), privateKeyPem: readFileSync('upstream-key.pem', 'utf8') } });
 */
export type UpstreamAuthority =
  | { readonly certChainPem: string; readonly privateKeyPem: string; readonly bundlePem?: string }
  | {
      readonly certificates: readonly X509Certificate[];
      readonly privateKey: KeyObject;
      readonly bundle?: readonly X509Certificate[];
    };

/**
 * When the CA rotates, as fractions of the active authority's lifetime (the same for X.509 authorities and JWT keys).
 * The next authority is prepared and published in the bundle at `prepareAt`, becomes the signer at `activateAt`,
 * and the old one stays in the bundle until everything it signed has expired. Defaults: SPIRE's 1/2 and 5/6.
 *
 * @example
 * // Publish the next CA after a quarter of the lifetime, switch to it at half.
 * createCertificateAuthority({ trustDomain: 'example.org', rotation: { prepareAt: 0.25, activateAt: 0.5 } });
 */
export interface RotationOptions {
  /** Default 0.5. */
  readonly prepareAt?: number;
  /** Default 5/6. Must be greater than `prepareAt` and less than 1. */
  readonly activateAt?: number;
}

/**
 * Options of {@link createCertificateAuthority}.
 *
 * @example
 * const options: CertificateAuthorityOptions = { trustDomain: 'example.org', keyType: 'ec-p384', caTtlSeconds: 7 * 86_400 };
 */
export interface CertificateAuthorityOptions {
  /** The trust domain the CA issues for. */
  readonly trustDomain: TrustDomain | string;
  /** Key type of X.509 CA keys. Default `'ec-p256'`. */
  readonly keyType?: KeyType;
  /** Key type of JWT signing keys. Default `'ec-p256'`. */
  readonly jwtKeyType?: KeyType;
  /** Key type the CA generates for an SVID when the request carries no key. Default `'ec-p256'`. */
  readonly svidKeyType?: KeyType;
  /** Lifetime of each X.509 CA certificate, in seconds. Default 86 400 (24 h), like SPIRE. */
  readonly caTtlSeconds?: number;
  /** Lifetime of each JWT signing key, in seconds. Default: `caTtlSeconds`. */
  readonly jwtKeyTtlSeconds?: number;
  /** Default X.509-SVID lifetime, in seconds. Default 3600. */
  readonly x509SvidTtlSeconds?: number;
  /** Default JWT-SVID lifetime, in seconds. Default 300. */
  readonly jwtSvidTtlSeconds?: number;
  /** Subject of the CA certificates. Default `{ country: 'US', organization: 'SPIFFE' }` (SPIRE's default). */
  readonly subject?: DistinguishedName;
  /** Issue beneath an upstream CA instead of a self-signed root. */
  readonly upstream?: UpstreamAuthority;
  /** Rotation thresholds. */
  readonly rotation?: RotationOptions;
  /** `spiffe_refresh_hint` of {@link CertificateAuthority.bundle}, in seconds. Default 300. */
  readonly refreshHintSeconds?: number;
  /** Time source. Default: the system clock. */
  readonly clock?: { now(): Date };
  /** pino-compatible logger. Default: silent. */
  readonly logger?: CaLogger;
  /** Resume from a state saved with {@link CertificateAuthority.exportState}. */
  readonly state?: CertificateAuthorityState;
}

/**
 * A request for an X.509-SVID. Give `publicKey` or `csr`, or neither to have the CA generate the key.
 *
 * @example
 * ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', csr: csrPem, ttlSeconds: 3600, dnsSans: ['web.svc'] });
 */
export interface IssueX509SvidRequest {
  /** The SPIFFE ID (URI SAN); must be in the CA's trust domain and have a path. */
  readonly spiffeId: SpiffeId | string;
  /** The workload's public key: a public KeyObject or SubjectPublicKeyInfo DER. */
  readonly publicKey?: KeyObject | Uint8Array;
  /** A PKCS#10 CSR (PEM or DER); its signature is verified and only its public key is used. */
  readonly csr?: Uint8Array | string;
  /** Lifetime in seconds (whole seconds ≥ 1). Default: the CA's `x509SvidTtlSeconds`. Clamped to the CA's expiry. */
  readonly ttlSeconds?: number;
  /** DNS SANs to add after the URI SAN. */
  readonly dnsSans?: readonly string[];
  /** Certificate subject. Default: empty (the SAN extension is then critical, X509-SVID §2). */
  readonly subject?: DistinguishedName;
  /** Workload API hint carried with the result. */
  readonly hint?: string;
}

/**
 * A freshly issued X.509-SVID. `certificates` are parsed lazily, so issuance pays only for DER and a signature.
 *
 * @example
 * const issued = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web' });
 * send({ x509Svid: issued.marshalRaw(), x509SvidKey: issued.privateKeyDer, bundle: ca.x509Bundle().marshalDer() });
 */
export interface IssuedX509Svid {
  readonly id: SpiffeId;
  readonly hint: string | undefined;
  /** DER certificates: the leaf, then the intermediates up to (not including) the bundle's root. */
  readonly certificatesDer: readonly Uint8Array[];
  /** The same certificates as Node X509Certificate objects (parsed on first access). */
  readonly certificates: readonly X509Certificate[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True when the requested lifetime ran past the CA's expiry and notAfter was cut to it. */
  readonly clamped: boolean;
  /** The key the CA generated, when the request carried no public key (a KeyObject built on first access). */
  readonly privateKey: KeyObject | undefined;
  /** The generated key as unencrypted PKCS#8 DER (the Workload API's `x509_svid_key`), when the CA made it. */
  readonly privateKeyDer: Uint8Array | undefined;
  /** Key identifier (hex SKI) of the CA that signed it. */
  readonly authorityId: string;
  /** PEM certificates, leaf first. */
  marshal(): string;
  /** Concatenated DER certificates (the Workload API's `x509_svid` field). */
  marshalRaw(): Uint8Array;
  /** An {@link X509Svid} with `privateKey` (default: the generated key). */
  toX509Svid(privateKey?: KeyObject): X509Svid;
}

/**
 * A request for a JWT-SVID.
 *
 * @example
 * ca.issueJwtSvid({ spiffeId: 'spiffe://example.org/web', audience: ['spiffe://example.org/api'] }).token;
 */
export interface IssueJwtSvidRequest {
  readonly spiffeId: SpiffeId | string;
  /** At least one audience. */
  readonly audience: readonly string[];
  /** Lifetime in seconds. Default: the CA's `jwtSvidTtlSeconds`. Clamped to the signing key's expiry. */
  readonly ttlSeconds?: number;
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  readonly hint?: string;
}

/**
 * Lifecycle of a CA key: `prepared` (published in the bundle, not signing yet), `active` (signing), `retired` (still
 * published until everything it signed has expired).
 *
 * @example
 * ca.x509Authorities().filter((a) => a.status === 'active');
 */
export type AuthorityStatus = 'prepared' | 'active' | 'retired';

/**
 * A view of one X.509 authority of the CA.
 *
 * @example
 * for (const a of ca.x509Authorities()) console.log(a.id, a.status, a.notAfter);
 */
export interface X509AuthorityInfo {
  /** Hex subject key identifier. */
  readonly id: string;
  readonly status: AuthorityStatus;
  readonly certificate: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * A view of one JWT signing key of the CA.
 *
 * @example
 * const activeKid = ca.jwtKeys().find((k) => k.status === 'active')?.kid;
 */
export interface JwtKeyInfo {
  readonly kid: string;
  readonly status: AuthorityStatus;
  readonly publicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * What a rotation step did.
 *
 * @example
 * ca.onChange((e) => { if (e.type === 'x509-authority-activated') pushNewSvids(); });
 */
export type CertificateAuthorityEventType =
  | 'x509-authority-prepared'
  | 'x509-authority-activated'
  | 'x509-authority-pruned'
  | 'jwt-key-prepared'
  | 'jwt-key-activated'
  | 'jwt-key-pruned';

/**
 * One rotation step. `sequence` is the bundle sequence after it.
 *
 * @example
 * ca.onChange((e) => logger.info({ id: e.id, sequence: String(e.sequence) }, e.type));
 */
export interface CertificateAuthorityEvent {
  readonly type: CertificateAuthorityEventType;
  /** Hex SKI of the X.509 authority, or the JWT key's kid. */
  readonly id: string;
  readonly at: Date;
  readonly sequence: bigint;
}

/**
 * The CA's keys and certificates as JSON-safe data (contains private keys: store it like one).
 *
 * @example
 * writeFileSync(path, JSON.stringify(ca.exportState()), { mode: 0o600 });
 * const again = createCertificateAuthority({ trustDomain: 'example.org', state: JSON.parse(readFileSync(path, 'utf8')) });
 */
export interface CertificateAuthorityState {
  readonly version: 1;
  readonly trustDomain: string;
  /** Bundle sequence, decimal. */
  readonly sequence: string;
  readonly x509Authorities: readonly {
    readonly status: AuthorityStatus;
    readonly certificatePem: string;
    readonly privateKeyPem: string;
    /** ISO time of the latest notAfter it signed. */
    readonly lastSignedNotAfter: string;
    /** ISO time it was created and published. Absent in older states: then taken as the time of the restore. */
    readonly preparedAt?: string;
  }[];
  readonly jwtKeys: readonly {
    readonly status: AuthorityStatus;
    readonly kid: string;
    readonly privateKeyPem: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly lastSignedNotAfter: string;
    /** ISO time it was created and published. Absent in older states: then taken as the time of the restore. */
    readonly preparedAt?: string;
  }[];
}

/**
 * A SPIFFE certificate authority for one trust domain: it issues X.509-SVIDs and JWT-SVIDs, publishes its bundle
 * (with an increasing sequence), and rotates its keys from its clock. Create it with
 * {@link createCertificateAuthority}. It is also an X.509 and JWT bundle source for its own trust domain.
 *
 * @example
 * setTimeout(() => ca.rotateIfNeeded(), ca.nextRotationAt().getTime() - Date.now());
 */
export interface CertificateAuthority extends X509BundleSource {
  readonly trustDomain: TrustDomain;
  /** Bundle sequence (`spiffe_sequence`), incremented on every bundle change. */
  readonly sequence: bigint;
  issueX509Svid(request: IssueX509SvidRequest): IssuedX509Svid;
  issueJwtSvid(request: IssueJwtSvidRequest): JwtSvid;
  /** The trust domain's SPIFFE bundle: X.509 authorities, JWT keys, sequence and refresh hint. */
  bundle(): SpiffeBundle;
  /** The X.509 part of the bundle. */
  x509Bundle(): X509Bundle;
  /** The JWT part of the bundle. */
  jwtBundle(): JwtBundle;
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined;
  x509Authorities(): X509AuthorityInfo[];
  jwtKeys(): JwtKeyInfo[];
  /**
   * Evaluates the clock: prunes retired authorities whose signed credentials have all expired (plus the JWT leeway
   * and 30 s of clock skew), activates the prepared authority at `activateAt` once it has been published for at
   * least min(3 × refresh hint, prepare→activate gap) — never in the call that prepared it, unless the active one
   * is expiring — and prepares (and publishes) the next at `prepareAt`. Issuance calls it too.
   */
  rotateIfNeeded(): CertificateAuthorityEvent[];
  /** When `rotateIfNeeded` next has something to do (for a timer). */
  nextRotationAt(): Date;
  /** Calls `listener` after every rotation step; returns the unsubscribe function. */
  onChange(listener: (event: CertificateAuthorityEvent) => void): () => void;
  exportState(): CertificateAuthorityState;
}

const BACKDATE_MS = 60_000;
/**
 * Minimum time a new key is published in the bundle before it signs, in refresh hints (Federation §4: publish new
 * keys 3–5× the refresh hint ahead, so relying parties polling at the hint have fetched it). Capped at the configured
 * prepare→activate gap (`(activateAt − prepareAt) ×` lifetime), so a short-lived CA keeps its configured schedule.
 * On the normal schedule the gap is the lead; this matters when the clock is first seen past `activateAt` (restore
 * after downtime, clock jump).
 */
const PUBLISH_LEAD_REFRESH_HINTS = 3;
/**
 * A key this close to its expiry counts as expired: the next one is activated at once even if not published for the
 * full lead (JWT issuance refuses a key in its last second anyway). Logged as a warning.
 */
const OVERDUE_MARGIN_MS = 1000;
/**
 * Clock skew allowed between the CA and relying parties when pruning: a retired key stays published until
 * `lastSignedNotAfter + JWT_SVID_LEEWAY_SECONDS + PRUNE_CLOCK_SKEW_SECONDS` has passed. X.509 verifiers still accept
 * a certificate at its notAfter, JWT validators accept exp + leeway, and a relying party whose clock lags ours by up
 * to this much would otherwise see a still-valid credential whose key just left the bundle.
 */
const PRUNE_CLOCK_SKEW_SECONDS = 30;
const PRUNE_GRACE_MS = (JWT_SVID_LEEWAY_SECONDS + PRUNE_CLOCK_SKEW_SECONDS) * 1000;
const SILENT: CaLogger = { debug() {}, info() {}, warn() {}, error() {} };
const SYSTEM_CLOCK = { now: () => new Date() };

interface Entry {
  status: AuthorityStatus;
  readonly notBefore: number;
  readonly notAfter: number;
  lastSignedNotAfter: number;
  /** When it was created and published in the bundle (restore time for states saved without it). */
  readonly preparedAt: number;
}

interface X509Entry extends Entry {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly keyType: KeyType;
  readonly certificate: X509Certificate;
  /** Certificates appended after the leaf. */
  readonly chainDer: readonly Buffer[];
  readonly template: LeafTemplate;
}

interface JwtEntry extends Entry {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

interface Upstream {
  readonly certificates: readonly X509Certificate[];
  readonly privateKey: KeyObject;
  readonly keyType: KeyType;
  readonly subjectKeyId: Buffer;
  readonly bundle: readonly X509Certificate[];
  /** Upstream certificates sent after ours (the chain minus bundle roots). */
  readonly chainDer: readonly Buffer[];
  readonly notAfter: number;
}

/**
 * Creates a certificate authority. Self-signed by default; with `upstream`, its CA certificates are intermediates
 * signed by the upstream CA and the bundle is the upstream's roots. Rotation (see {@link RotationOptions}) runs on
 * `rotateIfNeeded()` and on every issuance, driven only by `clock`.
 *
 * @example
 * const ca = createCertificateAuthority({ trustDomain: 'example.org' });
 * const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/web', publicKey });
 * verifyX509Svid(svid.certificates, ca.x509Bundle()).id.toString(); // 'spiffe://example.org/web'
 */
export function createCertificateAuthority(options: CertificateAuthorityOptions): CertificateAuthority {
  return new Ca(options);
}

function badOption(key: string, message: string, cause?: unknown): SvidIssuerError {
  return new SvidIssuerError('ERR_WID_CA_BAD_OPTION', `option "${key}": ${message}`, { input: key, cause });
}

function positiveSeconds(options: object, key: string, fallback: number): number {
  const v = (options as Record<string, unknown>)[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw badOption(key, `must be a whole number of seconds ≥ 1, got ${String(v)}`);
  }
  return v;
}

function keyTypeOption(options: object, key: string): KeyType {
  const v = (options as Record<string, unknown>)[key];
  if (v === undefined) return 'ec-p256';
  if (!isKeyType(v))
    throw badOption(key, `must be one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, got ${String(v)}`);
  return v;
}

const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

class Ca implements CertificateAuthority {
  readonly trustDomain: TrustDomain;
  readonly #keyType: KeyType;
  readonly #jwtKeyType: KeyType;
  readonly #svidKeyType: KeyType;
  readonly #caTtlMs: number;
  readonly #jwtKeyTtlMs: number;
  readonly #x509SvidTtl: number;
  readonly #jwtSvidTtl: number;
  readonly #subjectDer: Buffer;
  readonly #upstream: Upstream | undefined;
  readonly #prepareAt: number;
  readonly #activateAt: number;
  readonly #refreshHint: number;
  readonly #clock: { now(): Date };
  readonly #log: CaLogger;
  readonly #uri: string;
  #x509: X509Entry[] = [];
  #jwt: JwtEntry[] = [];
  #sequence = 0n;
  #nextCheck = Number.NEGATIVE_INFINITY;
  #listeners = new Set<(e: CertificateAuthorityEvent) => void>();
  #bundleCache: SpiffeBundle | undefined;
  #x509BundleCache: X509Bundle | undefined;
  #upstreamWarned = false;

  constructor(o: CertificateAuthorityOptions) {
    if (typeof o !== 'object' || o === null) throw badOption('options', 'must be an object');
    try {
      this.trustDomain = typeof o.trustDomain === 'string' ? TrustDomain.parse(o.trustDomain) : o.trustDomain;
      if (!(this.trustDomain instanceof TrustDomain)) throw new TypeError('not a TrustDomain');
    } catch (cause) {
      throw badOption('trustDomain', `must be a trust domain name or TrustDomain (${(cause as Error).message})`, cause);
    }
    this.#uri = this.trustDomain.idString();
    this.#keyType = keyTypeOption(o, 'keyType');
    this.#jwtKeyType = keyTypeOption(o, 'jwtKeyType');
    this.#svidKeyType = keyTypeOption(o, 'svidKeyType');
    const caTtl = positiveSeconds(o, 'caTtlSeconds', 86_400);
    this.#caTtlMs = caTtl * 1000;
    this.#jwtKeyTtlMs = positiveSeconds(o, 'jwtKeyTtlSeconds', caTtl) * 1000;
    this.#x509SvidTtl = positiveSeconds(o, 'x509SvidTtlSeconds', 3600);
    this.#jwtSvidTtl = positiveSeconds(o, 'jwtSvidTtlSeconds', 300);
    const refresh = o.refreshHintSeconds ?? 300;
    if (typeof refresh !== 'number' || !Number.isInteger(refresh) || refresh < 0) {
      throw badOption('refreshHintSeconds', `must be a whole number of seconds ≥ 0, got ${String(refresh)}`);
    }
    this.#refreshHint = refresh;
    const subject = o.subject ?? { country: 'US', organization: 'SPIFFE' };
    const nameProblem = typeof subject === 'object' && subject !== null ? checkName(subject) : 'must be an object';
    if (nameProblem !== undefined) throw badOption('subject', nameProblem);
    if (Object.keys(subject).length === 0) throw badOption('subject', 'a CA subject cannot be empty');
    this.#subjectDer = encodeName(subject);
    const prepareAt = o.rotation?.prepareAt ?? 0.5;
    const activateAt = o.rotation?.activateAt ?? 5 / 6;
    if (!(typeof prepareAt === 'number' && prepareAt > 0 && prepareAt < 1)) {
      throw badOption('rotation.prepareAt', `must be a fraction between 0 and 1, got ${String(prepareAt)}`);
    }
    if (!(typeof activateAt === 'number' && activateAt > prepareAt && activateAt < 1)) {
      throw badOption(
        'rotation.activateAt',
        `must be a fraction between prepareAt (${prepareAt}) and 1, got ${String(activateAt)}`,
      );
    }
    this.#prepareAt = prepareAt;
    this.#activateAt = activateAt;
    const clock = o.clock ?? SYSTEM_CLOCK;
    if (typeof clock?.now !== 'function') throw badOption('clock', 'must have a now(): Date method');
    this.#clock = clock;
    this.#log = o.logger ?? SILENT;
    const now = this.#now();
    this.#upstream = o.upstream === undefined ? undefined : this.#loadUpstream(o.upstream, now);

    if (o.state !== undefined) {
      this.#restore(o.state);
      this.rotateIfNeeded();
    } else {
      this.#x509.push({ ...this.#newX509Entry(now), status: 'active' });
      this.#jwt.push({ ...this.#newJwtEntry(now), status: 'active' });
      this.#sequence = 1n;
      this.#computeNextCheck();
    }
    this.#selfCheck();
  }

  get sequence(): bigint {
    return this.#sequence;
  }

  #now(): number {
    const d = this.#clock.now();
    const t = d instanceof Date ? d.getTime() : Number.NaN;
    if (!Number.isFinite(t)) throw badOption('clock', 'now() must return a valid Date');
    return t;
  }

  // ---- upstream ----

  #loadUpstream(u: UpstreamAuthority, now: number): Upstream {
    const bad = (msg: string, cause?: unknown) =>
      new SvidIssuerError('ERR_WID_CA_BAD_UPSTREAM', `upstream CA: ${msg}`, {
        trustDomain: this.trustDomain.name,
        cause,
      });
    let certificates: X509Certificate[];
    let privateKey: KeyObject;
    let bundle: X509Certificate[] | undefined;
    try {
      if ('certChainPem' in u) {
        certificates = parseCertificates(u.certChainPem);
        const keys = decodePemOfType(u.privateKeyPem, ['PRIVATE KEY'], 'upstream private key');
        if (keys.length !== 1) throw bad('privateKeyPem must hold exactly one PKCS#8 "PRIVATE KEY" block');
        privateKey = createPrivateKey({ key: keys[0]!, format: 'der', type: 'pkcs8' });
        bundle = u.bundlePem === undefined ? undefined : parseCertificates(u.bundlePem);
      } else {
        certificates = [...u.certificates];
        privateKey = u.privateKey;
        bundle = u.bundle === undefined ? undefined : [...u.bundle];
      }
    } catch (cause) {
      if (cause instanceof SvidIssuerError && cause.code === 'ERR_WID_CA_BAD_UPSTREAM') throw cause;
      throw bad(`cannot parse the chain, key or bundle (${(cause as Error).message})`, cause);
    }
    const signer = certificates[0];
    if (signer === undefined) throw bad('the certificate chain is empty');
    if (!isKeyObject(privateKey) || privateKey.type !== 'private')
      throw bad('the private key must be a private KeyObject');
    // The caller's KeyObject is never inspected (deadlock hazard on Node 20, see internal/key-copy.ts): the CA
    // keeps, checks and signs with a copy re-imported from its PKCS#8 DER.
    privateKey = detachedKey(privateKey);
    const keyType = keyTypeOf(privateKey);
    if (keyType === undefined) throw bad('the private key is not EC P-256/P-384 or RSA 2048/3072/4096');
    if (!signer.publicKey.equals(createPublicKey(privateKey))) {
      throw bad('the private key does not match the first certificate of the chain');
    }
    const infos = certificates.map((c, i) => certInfo(c, i));
    try {
      checkSigningCert(infos[0]!, 0);
    } catch (cause) {
      throw bad(`the first certificate is not a CA that may sign certificates (${(cause as Error).message})`, cause);
    }
    if (infos[0]!.basicConstraints?.pathLen === 0) {
      throw bad('its pathLenConstraint is 0, so it cannot issue an intermediate CA');
    }
    const selfSigned = (c: X509Certificate) => {
      const i = certInfo(c);
      return Buffer.from(i.subjectDer).equals(i.issuerDer) && c.verify(c.publicKey);
    };
    bundle ??= certificates.filter(selfSigned);
    if (bundle.length === 0) throw bad('no trust bundle given and the chain ends in no self-signed root');
    const roots = bundle;
    const inBundle = (c: X509Certificate) => roots.some((r) => r.raw.equals(c.raw));
    const notAfter = Math.min(...infos.map((i) => i.notAfter), ...roots.map((r) => certInfo(r).notAfter));
    if (notAfter <= now) throw bad(`the upstream chain expired at ${new Date(notAfter).toISOString()}`);
    return {
      certificates,
      privateKey,
      keyType,
      subjectKeyId: Buffer.from(infos[0]!.subjectKeyId ?? keyIdentifier(infos[0]!.spkiDer)),
      bundle: roots,
      chainDer: certificates.filter((c) => !inBundle(c)).map((c) => c.raw),
      notAfter,
    };
  }

  /** Issues and verifies a throwaway SVID, so a CA that cannot produce verifiable SVIDs fails at construction. */
  #selfCheck(): void {
    const active = this.#active(this.#x509);
    if (active === undefined) return;
    try {
      const issued = this.issueX509Svid({
        spiffeId: SpiffeId.fromSegments(this.trustDomain, 'wid-ca-self-check'),
        publicKey: generateSvidKey('ec-p256').spki,
        ttlSeconds: 60,
      });
      verifyX509Svid(issued.certificates, this.x509Bundle(), { now: new Date(this.#now()) });
    } catch (cause) {
      const code = this.#upstream === undefined ? 'ERR_WID_CA_BAD_STATE' : 'ERR_WID_CA_BAD_UPSTREAM';
      throw new SvidIssuerError(
        code,
        `SVIDs issued by this CA do not verify against its bundle: ${(cause as Error).message}`,
        {
          trustDomain: this.trustDomain.name,
          cause,
        },
      );
    }
  }

  // ---- authorities ----

  #newX509Entry(now: number): Omit<X509Entry, 'status'> {
    const { privateKey, publicKey } = generateKeyPair(this.#keyType);
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const notBefore = now - BACKDATE_MS;
    let notAfter = Math.floor((now + this.#caTtlMs) / 1000) * 1000;
    const up = this.#upstream;
    if (up !== undefined && notAfter > up.notAfter) {
      notAfter = up.notAfter;
      if (notAfter <= now) {
        throw new SvidIssuerError(
          'ERR_WID_CA_EXPIRED',
          `the upstream CA expired at ${new Date(up.notAfter).toISOString()}`,
          {
            trustDomain: this.trustDomain.name,
          },
        );
      }
      this.#log.warn(
        { trustDomain: this.trustDomain.name, notAfter: new Date(notAfter).toISOString() },
        'CA certificate lifetime clamped to the upstream CA expiry',
      );
    }
    const der = buildCaCertificate({
      issuer:
        up === undefined
          ? { privateKey, keyType: this.#keyType, subjectDer: this.#subjectDer, subjectKeyId: undefined }
          : {
              privateKey: up.privateKey,
              keyType: up.keyType,
              subjectDer: certInfo(up.certificates[0]!).subjectDer,
              subjectKeyId: up.subjectKeyId,
            },
      subjectDer: this.#subjectDer,
      spki,
      notBefore,
      notAfter,
      uri: this.#uri,
    });
    return this.#x509EntryFrom(toX509Certificate(der), privateKey, now - BACKDATE_MS, now);
  }

  #x509EntryFrom(
    certificate: X509Certificate,
    privateKey: KeyObject,
    lastSignedNotAfter: number,
    preparedAt: number,
  ): Omit<X509Entry, 'status'> {
    const info = certInfo(certificate);
    const keyType = keyTypeOf(privateKey);
    if (keyType === undefined) throw new TypeError('unsupported CA key');
    const ski = Buffer.from(info.subjectKeyId ?? keyIdentifier(info.spkiDer));
    return {
      id: ski.toString('hex'),
      privateKey,
      keyType,
      certificate,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      lastSignedNotAfter,
      preparedAt,
      chainDer: this.#upstream === undefined ? [] : [certificate.raw, ...this.#upstream.chainDer],
      template: new LeafTemplate({ privateKey, keyType, subjectDer: info.subjectDer, subjectKeyId: ski }),
    };
  }

  #newJwtEntry(now: number): Omit<JwtEntry, 'status'> {
    const { privateKey, publicKey } = generateKeyPair(this.#jwtKeyType);
    return {
      kid: thumbprint(publicKey),
      privateKey,
      publicKey,
      notBefore: now,
      notAfter: Math.floor((now + this.#jwtKeyTtlMs) / 1000) * 1000,
      lastSignedNotAfter: now,
      preparedAt: now,
    };
  }

  #active<E extends Entry>(list: E[]): E | undefined {
    return list.find((e) => e.status === 'active');
  }

  #threshold(e: Entry, fraction: number): number {
    return e.notBefore + (e.notAfter - e.notBefore) * fraction;
  }

  /**
   * How long a prepared key must have been published before it may replace `active` (see
   * PUBLISH_LEAD_REFRESH_HINTS). Zero when the key is not in the bundle (intermediates under an upstream CA: relying
   * parties trust the upstream roots, and the chain carries the intermediate).
   */
  #lead(active: Entry, inBundle: boolean): number {
    if (!inBundle) return 0;
    const gap = (this.#activateAt - this.#prepareAt) * (active.notAfter - active.notBefore);
    return Math.min(PUBLISH_LEAD_REFRESH_HINTS * this.#refreshHint * 1000, gap);
  }

  rotateIfNeeded(): CertificateAuthorityEvent[] {
    const now = this.#now();
    const events: CertificateAuthorityEvent[] = [];
    this.#rotate(
      now,
      this.#x509,
      'x509-authority',
      () => this.#newX509Entry(now),
      this.#upstream === undefined,
      events,
    );
    this.#rotate(now, this.#jwt, 'jwt-key', () => this.#newJwtEntry(now), true, events);
    if (events.length > 0) {
      this.#bundleCache = undefined;
      this.#x509BundleCache = undefined;
    }
    this.#computeNextCheck();
    for (const e of events) {
      for (const l of this.#listeners) {
        try {
          l(e);
        } catch (error) {
          this.#log.error({ err: error, event: e.type }, 'certificate authority change listener threw');
        }
      }
    }
    return events;
  }

  #rotate<E extends Entry & ({ id: string } | { kid: string })>(
    now: number,
    list: E[],
    kind: 'x509-authority' | 'jwt-key',
    create: () => Omit<E, 'status'>,
    inBundle: boolean,
    events: CertificateAuthorityEvent[],
  ): void {
    const idOf = (e: E) => ('id' in e ? e.id : e.kid);
    const emit = (type: 'prepared' | 'activated' | 'pruned', e: E, bundleChanged: boolean) => {
      if (bundleChanged) this.#sequence++;
      events.push(
        Object.freeze({ type: `${kind}-${type}` as const, id: idOf(e), at: new Date(now), sequence: this.#sequence }),
      );
      this.#log.info(
        { trustDomain: this.trustDomain.name, id: idOf(e), sequence: String(this.#sequence) },
        `${kind} ${type}`,
      );
    };
    const tryCreate = (): E | undefined => {
      try {
        return { ...create(), status: 'prepared' } as E;
      } catch (error) {
        this.#log.error({ err: error, trustDomain: this.trustDomain.name }, `cannot create the next ${kind}`);
        return undefined;
      }
    };
    // A key prepared in this call is never activated in it: it must be seen in a published bundle first.
    const preparedNow = new Set<E>();
    for (let guard = 0; guard < 6; guard++) {
      let changed = false;
      // Prune retired authorities once everything they signed has expired, with the validators' leeway and a clock
      // skew margin (Federation §4.3; PRUNE_GRACE_MS), and prepared ones that expired before they were ever used.
      for (const e of [...list]) {
        if (
          (e.status === 'retired' && now > e.lastSignedNotAfter + PRUNE_GRACE_MS) ||
          (e.status === 'prepared' && now >= e.notAfter)
        ) {
          list.splice(list.indexOf(e), 1);
          emit('pruned', e, inBundle);
          changed = true;
        }
      }
      const active = list.find((e) => e.status === 'active');
      const next = list.find((e) => e.status === 'prepared');
      const activate = (n: E) => {
        if (active !== undefined) active.status = 'retired';
        n.status = 'active';
        emit('activated', n, false);
        changed = true;
      };
      const lead = active === undefined ? 0 : this.#lead(active, inBundle);
      if (active === undefined || now >= active.notAfter - OVERDUE_MARGIN_MS) {
        // Overdue (the clock jumped, the upstream cut lifetimes short, or the lead outlasted the active key): use the
        // prepared one, or make one now — which then signs before relying parties saw it in the bundle, so say so.
        if (next !== undefined && now >= next.notBefore) {
          if (inBundle && now < next.preparedAt + lead) {
            this.#log.warn(
              {
                trustDomain: this.trustDomain.name,
                id: idOf(next),
                publishedSeconds: Math.floor((now - next.preparedAt) / 1000),
                leadSeconds: Math.ceil(lead / 1000),
              },
              `${kind} activated after being published for less than the lead (the previous one is expiring)`,
            );
          }
          activate(next);
        } else {
          const fresh = tryCreate();
          if (fresh === undefined) break;
          list.push(fresh);
          emit('prepared', fresh, inBundle);
          this.#log.warn(
            { trustDomain: this.trustDomain.name, id: idOf(fresh) },
            `${kind} activated without being published in advance (the previous one expired)`,
          );
          activate(fresh);
        }
      } else if (
        next !== undefined &&
        !preparedNow.has(next) &&
        now >= this.#threshold(active, this.#activateAt) &&
        now >= next.preparedAt + lead
      ) {
        activate(next);
      } else if (next === undefined && now >= this.#threshold(active, this.#prepareAt)) {
        if (kind === 'x509-authority' && this.#upstream !== undefined && this.#upstream.notAfter <= active.notAfter) {
          if (!this.#upstreamWarned) {
            this.#upstreamWarned = true;
            this.#log.warn(
              { trustDomain: this.trustDomain.name, upstreamNotAfter: new Date(this.#upstream.notAfter).toISOString() },
              'cannot prepare the next CA: the upstream CA expires no later than the active one; renew the upstream',
            );
          }
        } else {
          const fresh = tryCreate();
          if (fresh !== undefined) {
            list.push(fresh);
            preparedNow.add(fresh);
            emit('prepared', fresh, inBundle);
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
  }

  #computeNextCheck(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [list, inBundle] of [
      [this.#x509, this.#upstream === undefined],
      [this.#jwt, true],
    ] as [Entry[], boolean][]) {
      const active = list.find((e) => e.status === 'active');
      const prepared = list.find((e) => e.status === 'prepared');
      for (const e of list) {
        if (e.status === 'retired') next = Math.min(next, e.lastSignedNotAfter + PRUNE_GRACE_MS + 1);
        if (e.status === 'prepared') next = Math.min(next, e.notAfter);
      }
      if (active === undefined) next = Number.NEGATIVE_INFINITY;
      else {
        next = Math.min(next, active.notAfter - OVERDUE_MARGIN_MS);
        next = Math.min(
          next,
          prepared === undefined
            ? this.#threshold(active, this.#prepareAt)
            : Math.max(this.#threshold(active, this.#activateAt), prepared.preparedAt + this.#lead(active, inBundle)),
        );
      }
    }
    this.#nextCheck = next;
  }

  nextRotationAt(): Date {
    return new Date(Math.max(this.#nextCheck, 0));
  }

  onChange(listener: (event: CertificateAuthorityEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ---- issuance ----

  #signerAt(now: number): void {
    if (now >= this.#nextCheck) this.rotateIfNeeded();
  }

  issueX509Svid(request: IssueX509SvidRequest): IssuedX509Svid {
    if (typeof request !== 'object' || request === null) throw badRequest('request', 'must be an object');
    const id = this.#requestId(request.spiffeId, 'x509');
    const ttl = request.ttlSeconds === undefined ? this.#x509SvidTtl : ttlSeconds(request.ttlSeconds);
    const dnsSans = request.dnsSans ?? [];
    if (!Array.isArray(dnsSans)) throw badRequest('dnsSans', 'must be an array of DNS names');
    for (const d of dnsSans) {
      if (typeof d !== 'string' || d.length > 253 || !DNS_NAME.test(d)) {
        throw badRequest('dnsSans', `"${String(d).slice(0, 80)}" is not a valid DNS name`);
      }
    }
    let subjectDer: Buffer | undefined;
    if (request.subject !== undefined) {
      const problem =
        typeof request.subject === 'object' && request.subject !== null
          ? checkName(request.subject)
          : 'must be an object';
      if (problem !== undefined) throw badRequest('subject', problem);
      subjectDer = encodeName(request.subject);
    }
    if (request.publicKey !== undefined && request.csr !== undefined) {
      throw badRequest('publicKey', 'give either publicKey or csr, not both');
    }
    let generated: GeneratedSvidKey | undefined;
    let key: { keyType: KeyType; spki: Buffer };
    if (request.csr !== undefined) key = workloadPublicKey(publicKeyFromCsr(request.csr));
    else if (request.publicKey !== undefined) key = workloadPublicKey(request.publicKey);
    else {
      generated = generateSvidKey(this.#svidKeyType);
      key = generated;
    }

    const now = this.#now();
    this.#signerAt(now);
    const ca = this.#active(this.#x509);
    if (ca === undefined || now >= ca.notAfter) throw this.#expired();
    const notBefore = Math.max(now - BACKDATE_MS, ca.notBefore);
    const requested = Math.floor((now + ttl * 1000) / 1000) * 1000;
    const clamped = requested > ca.notAfter;
    const notAfter = clamped ? ca.notAfter : requested;
    if (clamped) {
      this.#log.warn(
        {
          spiffeId: id.toString(),
          requestedTtlSeconds: ttl,
          notAfter: new Date(notAfter).toISOString(),
          authorityId: ca.id,
        },
        'X.509-SVID lifetime clamped to the CA certificate expiry',
      );
    }
    const der = ca.template.issue({
      notBefore,
      notAfter,
      subjectDer,
      spki: key.spki,
      rsaKey: key.keyType.startsWith('rsa'),
      uri: id.toString(),
      dnsNames: dnsSans,
    });
    if (notAfter > ca.lastSignedNotAfter) ca.lastSignedNotAfter = notAfter;
    return new Issued(id, request.hint, [der, ...ca.chainDer], notBefore, notAfter, clamped, generated, ca.id);
  }

  issueJwtSvid(request: IssueJwtSvidRequest): JwtSvid {
    if (typeof request !== 'object' || request === null) throw badRequest('request', 'must be an object');
    const id = this.#requestId(request.spiffeId, 'jwt');
    const ttl = request.ttlSeconds === undefined ? this.#jwtSvidTtl : ttlSeconds(request.ttlSeconds);
    const now = this.#now();
    this.#signerAt(now);
    const key = this.#active(this.#jwt);
    if (key === undefined || now >= key.notAfter - 1000) throw this.#expired();
    const nowSec = Math.floor(now / 1000);
    const maxTtl = Math.floor(key.notAfter / 1000) - nowSec;
    const clampedTtl = Math.min(ttl, maxTtl);
    if (clampedTtl < ttl) {
      this.#log.warn(
        { spiffeId: id.toString(), requestedTtlSeconds: ttl, ttlSeconds: clampedTtl, kid: key.kid },
        'JWT-SVID lifetime clamped to the signing key expiry',
      );
    }
    const svid = signJwtSvid({
      privateKey: key.privateKey,
      kid: key.kid,
      spiffeId: id,
      audience: request.audience,
      ttlSeconds: clampedTtl,
      now: new Date(now),
      ...(request.extraClaims === undefined ? {} : { extraClaims: request.extraClaims }),
      ...(request.hint === undefined ? {} : { hint: request.hint }),
    });
    const exp = (nowSec + clampedTtl) * 1000;
    if (exp > key.lastSignedNotAfter) key.lastSignedNotAfter = exp;
    return svid;
  }

  #requestId(input: unknown, kind: 'x509' | 'jwt'): SpiffeId {
    let id: SpiffeId;
    if (input instanceof SpiffeId) id = input;
    else if (typeof input === 'string') id = SpiffeId.parse(input);
    else throw badRequest('spiffeId', 'must be a SpiffeId or a string');
    if (!id.memberOf(this.trustDomain)) {
      throw new SvidIssuerError(
        'ERR_WID_CA_WRONG_TRUST_DOMAIN',
        `cannot issue "${id}": this CA issues only for trust domain "${this.trustDomain.name}"`,
        { input: id.toString(), trustDomain: this.trustDomain.name },
      );
    }
    if (id.isRoot()) {
      if (kind === 'x509') {
        throw new SvidIssuerError(
          'ERR_WID_X509_ROOT_PATH_ID',
          `cannot issue an X.509-SVID for "${id}": a workload SPIFFE ID needs a path`,
          { input: id.toString(), trustDomain: this.trustDomain.name },
        );
      }
      throw badRequest('spiffeId', `"${id}" has no path; a workload SPIFFE ID needs one`);
    }
    return id;
  }

  #expired(): SvidIssuerError {
    return new SvidIssuerError(
      'ERR_WID_CA_EXPIRED',
      'the certificate authority has no valid key to sign with (expired)',
      {
        trustDomain: this.trustDomain.name,
      },
    );
  }

  // ---- bundles ----

  x509Bundle(): X509Bundle {
    this.#x509BundleCache ??= X509Bundle.fromX509Authorities(
      this.trustDomain,
      this.#upstream === undefined ? this.#x509.map((e) => e.certificate) : this.#upstream.bundle,
    );
    return this.#x509BundleCache;
  }

  bundle(): SpiffeBundle {
    this.#bundleCache ??= SpiffeBundle.create({
      trustDomain: this.trustDomain,
      x509Authorities: this.x509Bundle().x509Authorities(),
      jwtAuthorities: new Map(this.#jwt.map((e) => [e.kid, e.publicKey])),
      sequence: this.#sequence,
      refreshHintSeconds: this.#refreshHint,
    });
    return this.#bundleCache;
  }

  jwtBundle(): JwtBundle {
    return this.bundle().jwtBundle();
  }

  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this.x509Bundle() : undefined;
  }

  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle | undefined {
    return this.trustDomain.equals(trustDomain) ? this.jwtBundle() : undefined;
  }

  x509Authorities(): X509AuthorityInfo[] {
    return this.#x509.map((e) =>
      Object.freeze({
        id: e.id,
        status: e.status,
        certificate: e.certificate,
        notBefore: new Date(e.notBefore),
        notAfter: new Date(e.notAfter),
      }),
    );
  }

  jwtKeys(): JwtKeyInfo[] {
    return this.#jwt.map((e) =>
      Object.freeze({
        kid: e.kid,
        status: e.status,
        publicKey: e.publicKey,
        notBefore: new Date(e.notBefore),
        notAfter: new Date(e.notAfter),
      }),
    );
  }

  // ---- state ----

  exportState(): CertificateAuthorityState {
    const iso = (ms: number) => new Date(ms).toISOString();
    const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
    return {
      version: 1,
      trustDomain: this.trustDomain.name,
      sequence: this.#sequence.toString(),
      x509Authorities: this.#x509.map((e) => ({
        status: e.status,
        certificatePem: encodePem('CERTIFICATE', e.certificate.raw),
        privateKeyPem: pem(e.privateKey),
        lastSignedNotAfter: iso(e.lastSignedNotAfter),
        preparedAt: iso(e.preparedAt),
      })),
      jwtKeys: this.#jwt.map((e) => ({
        status: e.status,
        kid: e.kid,
        privateKeyPem: pem(e.privateKey),
        notBefore: iso(e.notBefore),
        notAfter: iso(e.notAfter),
        lastSignedNotAfter: iso(e.lastSignedNotAfter),
        preparedAt: iso(e.preparedAt),
      })),
    };
  }

  #restore(state: CertificateAuthorityState): void {
    const bad = (msg: string, cause?: unknown) =>
      new SvidIssuerError('ERR_WID_CA_BAD_STATE', `CA state: ${msg}`, { trustDomain: this.trustDomain.name, cause });
    if (typeof state !== 'object' || state === null || state.version !== 1) throw bad('unsupported or missing version');
    if (state.trustDomain !== this.trustDomain.name) {
      throw bad(`belongs to trust domain "${String(state.trustDomain)}", not "${this.trustDomain.name}"`);
    }
    const time = (s: unknown, what: string) => {
      const t = typeof s === 'string' ? Date.parse(s) : Number.NaN;
      if (!Number.isFinite(t)) throw bad(`${what} is not an ISO time`);
      return t;
    };
    const restoredAt = this.#now();
    const preparedAt = (s: unknown, what: string) => (s === undefined ? restoredAt : time(s, what));
    const status = (s: unknown): AuthorityStatus => {
      if (s !== 'prepared' && s !== 'active' && s !== 'retired') throw bad(`unknown status ${String(s)}`);
      return s;
    };
    const key = (pemText: unknown) => {
      try {
        return createPrivateKey({ key: String(pemText), format: 'pem' });
      } catch (cause) {
        throw bad('a private key does not parse', cause);
      }
    };
    try {
      this.#sequence = BigInt(state.sequence);
    } catch (cause) {
      throw bad('sequence is not an integer', cause);
    }
    for (const [i, a] of (state.x509Authorities ?? []).entries()) {
      let cert: X509Certificate;
      try {
        const [c, ...rest] = parseCertificates(a.certificatePem);
        if (c === undefined || rest.length > 0) throw new TypeError('expected one certificate');
        cert = c;
      } catch (cause) {
        throw bad(`x509Authorities[${i}].certificatePem is not one certificate`, cause);
      }
      const k = key(a.privateKeyPem);
      if (!cert.publicKey.equals(createPublicKey(k)) || keyTypeOf(k) === undefined) {
        throw bad(`x509Authorities[${i}]: the key does not match the certificate, or has an unsupported type`);
      }
      const info = certInfo(cert);
      const selfSigned = Buffer.from(info.subjectDer).equals(info.issuerDer) && cert.verify(cert.publicKey);
      const up = this.#upstream;
      if (up === undefined ? !selfSigned : !cert.verify(up.certificates[0]!.publicKey)) {
        throw bad(
          `x509Authorities[${i}] was not ${up === undefined ? 'self-signed' : 'signed by the configured upstream CA'}`,
        );
      }
      this.#x509.push({
        ...this.#x509EntryFrom(
          cert,
          k,
          time(a.lastSignedNotAfter, `x509Authorities[${i}].lastSignedNotAfter`),
          preparedAt(a.preparedAt, `x509Authorities[${i}].preparedAt`),
        ),
        status: status(a.status),
      });
    }
    for (const [i, j] of (state.jwtKeys ?? []).entries()) {
      const k = key(j.privateKeyPem);
      const publicKey = createPublicKey(k);
      if (keyTypeOf(k) === undefined || thumbprint(publicKey) !== j.kid) {
        throw bad(`jwtKeys[${i}]: the key has an unsupported type or does not match its kid`);
      }
      this.#jwt.push({
        kid: j.kid,
        privateKey: k,
        publicKey,
        notBefore: time(j.notBefore, `jwtKeys[${i}].notBefore`),
        notAfter: time(j.notAfter, `jwtKeys[${i}].notAfter`),
        lastSignedNotAfter: time(j.lastSignedNotAfter, `jwtKeys[${i}].lastSignedNotAfter`),
        preparedAt: preparedAt(j.preparedAt, `jwtKeys[${i}].preparedAt`),
        status: status(j.status),
      });
    }
    for (const [name, list] of [
      ['x509Authorities', this.#x509],
      ['jwtKeys', this.#jwt],
    ] as const) {
      const count = (s: AuthorityStatus) => (list as Entry[]).filter((e) => e.status === s).length;
      if (count('active') !== 1 || count('prepared') > 1) {
        throw bad(`${name} must hold exactly one active and at most one prepared entry`);
      }
    }
  }
}

function badRequest(key: string, message: string): SvidIssuerError {
  return new SvidIssuerError('ERR_WID_CA_BAD_REQUEST', `${key}: ${message}`, { input: key });
}

function ttlSeconds(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw badRequest('ttlSeconds', `must be a whole number of seconds ≥ 1, got ${String(v)}`);
  }
  return v;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): a stable, collision-free kid. */
function thumbprint(publicKey: KeyObject): string {
  // publicKeyJwk works from the key's SPKI DER, never a JWK export of the object itself (Node 20 deadlock hazard).
  const jwk = publicKeyJwk(publicKey);
  const members =
    jwk['kty'] === 'EC'
      ? { crv: jwk['crv'], kty: jwk['kty'], x: jwk['x'], y: jwk['y'] }
      : { e: jwk['e'], kty: jwk['kty'], n: jwk['n'] };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

class Issued implements IssuedX509Svid {
  readonly id: SpiffeId;
  readonly hint: string | undefined;
  readonly certificatesDer: readonly Uint8Array[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly clamped: boolean;
  readonly authorityId: string;
  readonly #generated: GeneratedSvidKey | undefined;
  #privateKey: KeyObject | undefined;
  #certificates: readonly X509Certificate[] | undefined;

  constructor(
    id: SpiffeId,
    hint: string | undefined,
    der: readonly Uint8Array[],
    notBefore: number,
    notAfter: number,
    clamped: boolean,
    generated: GeneratedSvidKey | undefined,
    authorityId: string,
  ) {
    this.id = id;
    this.hint = hint;
    this.certificatesDer = Object.freeze(der);
    this.notBefore = new Date(notBefore);
    this.notAfter = new Date(notAfter);
    this.clamped = clamped;
    this.#generated = generated;
    this.authorityId = authorityId;
    Object.freeze(this);
  }

  get privateKey(): KeyObject | undefined {
    if (this.#generated === undefined) return undefined;
    this.#privateKey ??= this.#generated.toKeyObject();
    return this.#privateKey;
  }

  get privateKeyDer(): Uint8Array | undefined {
    return this.#generated?.pkcs8;
  }

  get certificates(): readonly X509Certificate[] {
    this.#certificates ??= Object.freeze(this.certificatesDer.map((d, i) => toX509Certificate(d, i)));
    return this.#certificates;
  }

  marshal(): string {
    return this.certificatesDer.map((d) => encodePem('CERTIFICATE', d)).join('');
  }

  marshalRaw(): Uint8Array {
    return Buffer.concat(this.certificatesDer);
  }

  toX509Svid(privateKey?: KeyObject): X509Svid {
    const key = privateKey ?? this.privateKey;
    if (key === undefined) {
      throw badRequest('privateKey', 'the CA did not generate this key; pass the workload private key');
    }
    return X509Svid.fromParts(this.certificates, key, this.hint === undefined ? {} : { hint: this.hint });
  }
}
