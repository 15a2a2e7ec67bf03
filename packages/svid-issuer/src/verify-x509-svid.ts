import type { X509Certificate } from 'node:crypto';
import type { SpiffeId } from '@wid/spiffe-id';
import { SvidIssuerError } from './errors.js';
import { type CertInfo, certInfo, type GeneralSubtrees, KU } from './internal/x509-cert-info.js';
import { checkLeaf, idFromCert } from './internal/x509-rules.js';
import { parseCertificates, type X509BundleSource } from './x509-bundle.js';

/**
 * Options of {@link verifyX509Svid}.
 *
 * @example
 * verifyX509Svid(chain, bundles, { now: clock.now() });
 */
export interface VerifyX509SvidOptions {
  /** The time at which every certificate must be valid. Default: the current time. */
  readonly now?: Date;
}

/**
 * What a successful {@link verifyX509Svid} returns.
 *
 * @example
 * const { id, verifiedChains } = verifyX509Svid(chain, bundles);
 */
export interface VerifiedX509Svid {
  /** The peer's SPIFFE ID (from the leaf's URI SAN). */
  readonly id: SpiffeId;
  /** Every chain found, each from the leaf to a bundle authority (inclusive). */
  readonly verifiedChains: X509Certificate[][];
}

const MAX_CHAIN_LENGTH = 10;
// Like Go's crypto/x509: bound the signature checks one verification may do, so a hostile chain of many
// cross-signed certificates with equal names cannot make path building explode.
const MAX_SIGNATURE_CHECKS = 100;

/**
 * Verifies a peer's X.509-SVID chain (leaf first, then intermediates) against the bundle of the leaf's own trust
 * domain, as X509-SVID §5 prescribes: the leaf rules (including a non-root path, which go-spiffe forgets), then
 * RFC 5280 path validation at `now` — signatures, validity dates, CA flags and keyCertSign of every signing
 * certificate, pathLenConstraint, name constraints (DNS and URI forms), and no unhandled critical extensions.
 * Intermediates come only from the chain; trust anchors only from that one bundle.
 *
 * @example
 * const peer = tlsSocket.getPeerX509Certificate()!; // plus any intermediates the peer sent
 * const { id } = verifyX509Svid([peer], bundleSet, { now: new Date() });
 */
export function verifyX509Svid(
  chain: readonly X509Certificate[],
  bundles: X509BundleSource,
  options: VerifyX509SvidOptions = {},
): VerifiedX509Svid {
  const leaf = chain[0];
  if (leaf === undefined) throw new SvidIssuerError('ERR_WID_X509_NO_CERTIFICATES', 'empty certificates chain');
  const now = (options.now ?? new Date()).getTime();
  if (!Number.isFinite(now)) {
    throw new SvidIssuerError('ERR_WID_X509_BAD_OPTION', 'options.now must be a valid Date', { input: 'now' });
  }
  const leafInfo = certInfo(leaf, 0);
  const id = idFromCert(leafInfo, 0);
  checkLeaf(leafInfo, id);

  let bundle: ReturnType<X509BundleSource['getX509BundleForTrustDomain']>;
  try {
    bundle = bundles.getX509BundleForTrustDomain(id.trustDomain);
  } catch (cause) {
    throw new SvidIssuerError('ERR_WID_X509_NO_BUNDLE', `could not get X509 bundle: ${(cause as Error).message}`, {
      trustDomain: id.trustDomain.name,
      cause,
    });
  }
  if (bundle === undefined) {
    throw new SvidIssuerError(
      'ERR_WID_X509_NO_BUNDLE',
      `no X.509 bundle found for trust domain "${id.trustDomain.name}"`,
      {
        trustDomain: id.trustDomain.name,
      },
    );
  }

  const ctx: PathContext = {
    now,
    roots: bundle.x509Authorities(),
    intermediates: chain.slice(1),
    leafInfo,
    chains: [],
    failure: undefined,
    signatureChecks: 0,
  };
  checkValidity(leafInfo, now, 0);
  checkCriticalExtensions(leafInfo, 0);
  build(ctx, [leaf], [0]);
  if (ctx.chains.length === 0) {
    throw (
      ctx.failure ??
      new SvidIssuerError(
        'ERR_WID_X509_UNTRUSTED',
        `could not verify leaf certificate: x509: certificate signed by unknown authority (no authority in the bundle of "${id.trustDomain.name}" issued this chain)`,
        { trustDomain: id.trustDomain.name },
      )
    );
  }
  return Object.freeze({ id, verifiedChains: ctx.chains });
}

/**
 * Like {@link verifyX509Svid}, for raw certificates: one DER buffer per certificate, or concatenated DER / PEM.
 *
 * @example
 * const { id } = parseAndVerifyX509Svid(msg.x509Svid, bundle);
 */
export function parseAndVerifyX509Svid(
  rawCerts: readonly Uint8Array[] | Uint8Array | string,
  bundles: X509BundleSource,
  options: VerifyX509SvidOptions = {},
): VerifiedX509Svid {
  const chain =
    typeof rawCerts === 'string' || rawCerts instanceof Uint8Array
      ? parseCertificates(rawCerts)
      : rawCerts.flatMap((der, index) => {
          const [cert, ...rest] = parseCertificates(der);
          if (cert === undefined || rest.length > 0) {
            throw new SvidIssuerError(
              'ERR_WID_X509_BAD_CERTIFICATE',
              `raw certificate ${index} must be exactly one DER certificate`,
              {
                index,
              },
            );
          }
          return [cert];
        });
  return verifyX509Svid(chain, bundles, options);
}

interface PathContext {
  readonly now: number;
  readonly roots: X509Certificate[];
  readonly intermediates: X509Certificate[];
  readonly leafInfo: CertInfo;
  readonly chains: X509Certificate[][];
  failure: SvidIssuerError | undefined;
  signatureChecks: number;
}

/** Index used in errors: the position in the presented chain, or -1 for a bundle authority. */
function chainIndex(ctx: PathContext, cert: X509Certificate, isRoot: boolean): number {
  return isRoot ? -1 : ctx.intermediates.indexOf(cert) + 1;
}

function build(ctx: PathContext, path: X509Certificate[], indices: number[]): void {
  if (path.length > MAX_CHAIN_LENGTH || ctx.chains.length >= 4) return;
  const current = path[path.length - 1]!;
  const currentInfo = certInfo(current);
  const candidates: [X509Certificate, boolean][] = [
    ...ctx.roots.map((c): [X509Certificate, boolean] => [c, true]),
    ...ctx.intermediates.map((c): [X509Certificate, boolean] => [c, false]),
  ];
  for (const [candidate, isRoot] of candidates) {
    if (path.includes(candidate)) continue;
    const index = chainIndex(ctx, candidate, isRoot);
    let info: CertInfo;
    try {
      info = certInfo(candidate, index);
    } catch (e) {
      if (!(e instanceof SvidIssuerError)) throw e;
      record(ctx, e, 2);
      continue;
    }
    if (!Buffer.from(info.subjectDer).equals(currentInfo.issuerDer)) continue;
    if (++ctx.signatureChecks > MAX_SIGNATURE_CHECKS) {
      record(
        ctx,
        new SvidIssuerError('ERR_WID_X509_UNTRUSTED', `gave up after ${MAX_SIGNATURE_CHECKS} signature checks`, {}),
        3,
      );
      return;
    }
    try {
      if (!current.verify(candidate.publicKey)) {
        record(
          ctx,
          new SvidIssuerError(
            'ERR_WID_X509_BAD_SIGNATURE',
            `certificate ${describe(path.length - 1, false)} has a signature that does not verify with the key of its issuer ${describe(index, isRoot)}`,
            { index: indices[indices.length - 1]! },
          ),
          1,
        );
        continue;
      }
      checkIssuer(ctx, info, path.length - 1, index, isRoot);
    } catch (e) {
      if (!(e instanceof SvidIssuerError)) throw e;
      record(ctx, e, 2);
      continue;
    }
    if (isRoot) ctx.chains.push([...path, candidate]);
    else build(ctx, [...path, candidate], [...indices, index]);
  }
}

const priority = new WeakMap<SvidIssuerError, number>();

/** Keeps the most specific reason a candidate path failed (a dated or constraint failure beats a bad signature). */
function record(ctx: PathContext, error: SvidIssuerError, rank: number): void {
  const current = ctx.failure === undefined ? -1 : (priority.get(ctx.failure) ?? 0);
  if (rank > current) {
    priority.set(error, rank);
    ctx.failure = error;
  }
}

function describe(index: number, isRoot: boolean): string {
  return isRoot ? '(bundle authority)' : `${index}`;
}

/** Checks a would-be issuer at depth `below` (number of non-leaf certificates beneath it in the path). */
function checkIssuer(ctx: PathContext, info: CertInfo, below: number, index: number, isRoot: boolean): void {
  checkValidity(info, ctx.now, index);
  // X509-SVID §4.1/§4.3 + RFC 5280 §6.1.4 (k), (n): a signing certificate is a CA with keyCertSign.
  if (info.basicConstraints?.ca !== true) {
    throw new SvidIssuerError(
      'ERR_WID_X509_SIGNING_CERT_NOT_CA',
      `signing certificate ${describe(index, isRoot)} must have CA flag set to true`,
      { index },
    );
  }
  if (info.keyUsage !== undefined ? (info.keyUsage & KU.keyCertSign) === 0 : !isRoot) {
    throw new SvidIssuerError(
      'ERR_WID_X509_SIGNING_CERT_NO_KEY_CERT_SIGN',
      `signing certificate ${describe(index, isRoot)} must have 'keyCertSign' set as key usage`,
      { index },
    );
  }
  // RFC 5280 §4.2.1.9: pathLenConstraint counts the non-leaf certificates that may follow.
  const pathLen = info.basicConstraints.pathLen;
  if (pathLen !== undefined && below > pathLen) {
    throw new SvidIssuerError(
      'ERR_WID_X509_PATH_TOO_LONG',
      `signing certificate ${describe(index, isRoot)} allows ${pathLen} intermediate(s) below it, found ${below}`,
      { index },
    );
  }
  if (!isRoot) checkCriticalExtensions(info, index);
  if (info.nameConstraints !== undefined) checkNameConstraints(ctx.leafInfo, info.nameConstraints, index, isRoot);
}

function checkValidity(info: CertInfo, now: number, index: number): void {
  // RFC 5280 §4.1.2.5: valid from notBefore through notAfter, inclusive.
  if (now > info.notAfter) {
    throw new SvidIssuerError(
      'ERR_WID_X509_EXPIRED',
      `certificate ${index < 0 ? '(bundle authority)' : index} has expired: notAfter ${new Date(info.notAfter).toISOString()} is before ${new Date(now).toISOString()}`,
      { index },
    );
  }
  if (now < info.notBefore) {
    throw new SvidIssuerError(
      'ERR_WID_X509_NOT_YET_VALID',
      `certificate ${index < 0 ? '(bundle authority)' : index} is not yet valid: notBefore ${new Date(info.notBefore).toISOString()} is after ${new Date(now).toISOString()}`,
      { index },
    );
  }
}

function checkCriticalExtensions(info: CertInfo, index: number): void {
  if (info.unhandledCritical.length > 0) {
    throw new SvidIssuerError(
      'ERR_WID_X509_UNHANDLED_CRITICAL_EXTENSION',
      `certificate ${index} has unhandled critical extension(s) ${info.unhandledCritical.join(', ')}`,
      { index, input: info.unhandledCritical.join(',') },
    );
  }
}

// RFC 5280 §4.2.1.10, for the leaf's names. dNSName: the name equals the constraint or ends with "." + constraint
// (a leading "." means subdomains only). URI: the same test on the URI's host. Other name forms are not evaluated,
// so a constraint on a form the leaf actually uses fails closed.
function checkNameConstraints(
  leaf: CertInfo,
  nc: { permitted: GeneralSubtrees; excluded: GeneralSubtrees },
  index: number,
  isRoot: boolean,
): void {
  const fail = (msg: string) =>
    new SvidIssuerError('ERR_WID_X509_NAME_CONSTRAINT', `${msg} (name constraints of ${describe(index, isRoot)})`, {
      index,
    });
  const san = leaf.san;
  const hosts = (san?.uris ?? []).map(uriHost);
  const dns = san?.dnsNames ?? [];
  const unsupported = [...nc.permitted.unsupported, ...nc.excluded.unsupported];
  const usesForm: Record<string, boolean> = {
    iPAddress: (san?.ipAddresses.length ?? 0) > 0,
    rfc822Name: (san?.emails.length ?? 0) > 0,
    directoryName: !leaf.subjectEmpty,
  };
  for (const form of unsupported) {
    if (usesForm[form] !== false) throw fail(`the leaf has names of a form wid does not evaluate: ${form}`);
  }
  const check = (names: readonly (string | undefined)[], permitted: string[], excluded: string[], kind: string) => {
    for (const name of names) {
      if (name === undefined) throw fail(`a ${kind} in the leaf has no host to check`);
      if (excluded.some((c) => dnsMatches(name, c))) throw fail(`${kind} "${name}" is excluded`);
      if (permitted.length > 0 && !permitted.some((c) => dnsMatches(name, c)))
        throw fail(`${kind} "${name}" is not permitted`);
    }
  };
  check(dns, nc.permitted.dns, nc.excluded.dns, 'DNS name');
  check(hosts, nc.permitted.uri, nc.excluded.uri, 'URI host');
}

function uriHost(uri: string): string | undefined {
  try {
    const host = new URL(uri).hostname;
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}

function dnsMatches(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase();
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}
