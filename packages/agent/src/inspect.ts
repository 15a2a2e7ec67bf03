import { JwtSvid, verifyX509Svid } from '@wid/svid-issuer';
import { createWorkloadApiClient } from '@wid/workload-api-client';
import { AgentError } from './errors.js';

/** Options of {@link inspectWorkloadApi}. */
export interface InspectOptions {
  /** Workload API address (`unix:///abs/path` or `tcp://ip:port`). Required. */
  readonly address: string;
  /** Fetch (and validate) JWT-SVIDs for each of these audiences. Default none. */
  readonly audiences?: readonly string[];
  /** Aborts every call. */
  readonly signal?: AbortSignal;
  /** The time certificates and tokens are verified at. Default: now. */
  readonly now?: Date;
}

/** One X.509-SVID as inspected. */
export interface InspectedX509Svid {
  readonly spiffeId: string;
  readonly hint: string | undefined;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly expiresAt: Date;
  readonly dnsSans: readonly string[];
  /** Verified against the served bundle of its trust domain (X509-SVID §5). */
  readonly verified: true;
}

/** One JWT-SVID as inspected. */
export interface InspectedJwtSvid {
  readonly audience: string;
  readonly spiffeId: string;
  readonly hint: string | undefined;
  readonly expiresAt: Date;
  /** Validated locally against the served JWT bundle. */
  readonly verified: true;
}

/** What the Workload API served. */
export interface InspectReport {
  readonly address: string;
  readonly x509Svids: readonly InspectedX509Svid[];
  /** Trust domain → number of X.509 authorities and their latest expiry. */
  readonly x509Bundles: readonly { trustDomain: string; authorities: number; expiresAt: Date | undefined }[];
  readonly jwtSvids: readonly InspectedJwtSvid[];
  /** Trust domain → key IDs. */
  readonly jwtBundles: readonly { trustDomain: string; keyIds: readonly string[] }[];
}

function dnsSansOf(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  return subjectAltName
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/**
 * Fetches everything a workload gets from a Workload API endpoint — X.509-SVIDs (each verified against the served
 * bundle), X.509 bundles, JWT bundles and, per audience, JWT-SVIDs (each validated against the served JWT bundle)
 * — as `wid-agent spiffe-inspect` prints it.
 *
 * @throws {AgentError} `ERR_WID_AGENT_INSPECT_VERIFY_FAILED` when a served SVID does not verify; client errors
 * (`ERR_WID_CLIENT_*`, e.g. PermissionDenied) as they are.
 * @example
 * const report = await inspectWorkloadApi({ address: 'unix:///run/wid/agent.sock', audiences: ['api'] });
 * console.log(formatInspectReport(report));
 */
export async function inspectWorkloadApi(options: InspectOptions): Promise<InspectReport> {
  const client = createWorkloadApiClient({ address: options.address, env: {} });
  const call = options.signal === undefined ? {} : { signal: options.signal };
  const now = options.now ?? new Date();
  try {
    const ctx = await client.fetchX509Context(call);
    const x509Svids = ctx.svids.map((svid): InspectedX509Svid => {
      try {
        verifyX509Svid(svid.certificates, ctx.bundles, { now });
      } catch (cause) {
        throw new AgentError(
          'ERR_WID_AGENT_INSPECT_VERIFY_FAILED',
          `the X.509-SVID ${svid.id.toString()} does not verify against the served bundle: ${(cause as Error).message}`,
          { cause },
        );
      }
      const leaf = svid.leaf;
      return {
        spiffeId: svid.id.toString(),
        hint: svid.hint,
        serialNumber: leaf.serialNumber,
        notBefore: new Date(leaf.validFrom),
        expiresAt: svid.expiresAt,
        dnsSans: dnsSansOf(leaf.subjectAltName),
        verified: true,
      };
    });
    const x509BundleSet = await client.fetchX509Bundles(call);
    const x509Bundles = x509BundleSet.bundles().map((b) => {
      const authorities = b.x509Authorities();
      const expiries = authorities.map((c) => new Date(c.validTo).getTime());
      return {
        trustDomain: b.trustDomain.idString(),
        authorities: authorities.length,
        expiresAt: expiries.length === 0 ? undefined : new Date(Math.max(...expiries)),
      };
    });
    const jwtBundleSet = await client.fetchJwtBundles(call);
    const jwtBundles = jwtBundleSet
      .bundles()
      .map((b) => ({ trustDomain: b.trustDomain.idString(), keyIds: [...b.jwtAuthorities().keys()] }));
    const jwtSvids: InspectedJwtSvid[] = [];
    for (const audience of options.audiences ?? []) {
      for (const svid of await client.fetchJwtSvids({ audience, ...call })) {
        try {
          JwtSvid.parseAndValidate(svid.token, jwtBundleSet, [audience], { now });
        } catch (cause) {
          throw new AgentError(
            'ERR_WID_AGENT_INSPECT_VERIFY_FAILED',
            `the JWT-SVID for ${svid.id.toString()} (audience ${audience}) does not validate against the served JWT bundle: ${(cause as Error).message}`,
            { cause },
          );
        }
        jwtSvids.push({
          audience,
          spiffeId: svid.id.toString(),
          hint: svid.hint,
          expiresAt: svid.expiry,
          verified: true,
        });
      }
    }
    return { address: options.address, x509Svids, x509Bundles, jwtSvids, jwtBundles };
  } finally {
    await client.close();
  }
}

function until(now: Date, t: Date): string {
  const s = Math.round((t.getTime() - now.getTime()) / 1000);
  if (s < 0) return 'expired';
  if (s < 120) return `in ${s}s`;
  if (s < 7200) return `in ${Math.round(s / 60)}m`;
  if (s < 2 * 86400) return `in ${Math.round(s / 3600)}h`;
  return `in ${Math.round(s / 86400)}d`;
}

/**
 * Renders an {@link InspectReport} for people.
 *
 * @example
 * console.log(formatInspectReport(await inspectWorkloadApi({ address })));
 */
export function formatInspectReport(report: InspectReport, now: Date = new Date()): string {
  const lines: string[] = [];
  lines.push(`Workload API: ${report.address}`);
  lines.push(`X.509-SVIDs (${report.x509Svids.length}):`);
  report.x509Svids.forEach((s, i) => {
    lines.push(`  ${s.spiffeId}${i === 0 ? '  (default)' : ''}`);
    lines.push(`    hint:       ${s.hint ?? '(none)'}`);
    lines.push(`    expires:    ${s.expiresAt.toISOString()} (${until(now, s.expiresAt)})`);
    lines.push(`    serial:     ${s.serialNumber}`);
    lines.push(`    DNS SANs:   ${s.dnsSans.length === 0 ? '(none)' : s.dnsSans.join(', ')}`);
    lines.push('    verified:   yes, against the served trust bundle');
  });
  lines.push(`Trust bundles (${report.x509Bundles.length}):`);
  for (const b of report.x509Bundles) {
    const exp = b.expiresAt === undefined ? '' : `, latest expires ${b.expiresAt.toISOString()}`;
    lines.push(`  ${b.trustDomain}: ${b.authorities} X.509 authorit${b.authorities === 1 ? 'y' : 'ies'}${exp}`);
  }
  lines.push(`JWT bundles (${report.jwtBundles.length}):`);
  for (const b of report.jwtBundles) lines.push(`  ${b.trustDomain}: ${b.keyIds.length} key(s) ${b.keyIds.join(', ')}`);
  if (report.jwtSvids.length > 0) {
    lines.push(`JWT-SVIDs (${report.jwtSvids.length}):`);
    for (const j of report.jwtSvids) {
      lines.push(
        `  ${j.spiffeId}  audience ${j.audience}  hint ${j.hint ?? '(none)'}  expires ${j.expiresAt.toISOString()} (${until(now, j.expiresAt)})  verified: yes`,
      );
    }
  }
  return lines.join('\n');
}
