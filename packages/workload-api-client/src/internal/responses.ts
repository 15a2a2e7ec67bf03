import { type SpiffeId, TrustDomain } from '@wid/spiffe-id';
import { JwtBundle, JwtBundleSet, JwtSvid, X509Bundle, X509BundleSet, X509Svid } from '@wid/svid-issuer';
import type {
  JWTBundlesResponse,
  JWTSVIDResponse,
  ValidateJWTSVIDResponse,
  X509BundlesResponse,
  X509SVIDResponse,
} from '@wid/workload-api-proto';
import { createX509Context, type X509Context } from '../x509-context.js';
import { malformed, Undecodable } from './transport.js';

/** Receives the SVIDs a response carried but the client dropped (a repeated hint), for logging. */
export type DropReporter = (info: { method: string; index: number; hint: string; spiffeId: string }) => void;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bytesField(v: unknown, method: string, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(method, field, `${field} is not bytes`);
  return v;
}

function stringField(v: unknown, method: string, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw malformed(method, field, `${field} is not a string`);
  return v;
}

function message(res: unknown, method: string): Record<string, unknown> {
  if (res instanceof Undecodable) {
    throw malformed(
      method,
      '',
      `cannot decode the protobuf message: ${(res.cause as Error)?.message ?? res.cause}`,
      res.cause,
    );
  }
  if (!isRecord(res)) throw malformed(method, '', 'the response is not a message');
  return res;
}

function list(v: unknown, method: string, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed(method, field, `${field} is not a list`);
  return v;
}

function map(v: unknown, method: string, field: string): [string, unknown][] {
  if (v === undefined || v === null) return [];
  if (!isRecord(v)) throw malformed(method, field, `${field} is not a map`);
  return Object.entries(v);
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parses a bundle map key: a trust domain ID `spiffe://<td>` (Workload API §5). */
function trustDomainKey(key: string, method: string, field: string): TrustDomain {
  try {
    return TrustDomain.parse(key);
  } catch (cause) {
    throw malformed(
      method,
      `${field}[${JSON.stringify(key)}]`,
      `bad trust domain key ${JSON.stringify(key)}: ${errMessage(cause)}`,
      cause,
    );
  }
}

function x509Bundle(td: TrustDomain, der: Uint8Array, method: string, field: string): X509Bundle {
  try {
    // An empty value is a bundle with no authorities ("empty fields mean empty", Workload API §5).
    return der.length === 0 ? X509Bundle.fromX509Authorities(td, []) : X509Bundle.parse(td, der);
  } catch (cause) {
    throw malformed(method, field, `cannot parse the X.509 bundle of "${td.name}": ${errMessage(cause)}`, cause);
  }
}

function sameId(id: SpiffeId, declared: string): boolean {
  return declared === '' || id.toString() === declared;
}

/**
 * FetchX509SVID response -> X509Context (go-spiffe's parseX509Context): every SVID parsed with `X509Svid.parseRaw`
 * (leaf rules, key match), its `spiffe_id` must match the certificate, SVIDs repeating an earlier non-empty hint are
 * dropped (hints are unique within a response, Workload API §5), bundles = the SVIDs' trust domain bundle(s) plus
 * the federated ones.
 */
export function parseX509SvidResponse(res: X509SVIDResponse | Undecodable, dropped?: DropReporter): X509Context {
  const method = 'FetchX509SVID';
  const m = message(res, method);
  const raw = list(m['svids'], method, 'svids');
  if (raw.length === 0) throw malformed(method, 'svids', 'no SVIDs in response');
  const svids: X509Svid[] = [];
  const hints = new Set<string>();
  const bundles = new X509BundleSet();
  raw.forEach((entry, i) => {
    const f = `svids[${i}]`;
    if (!isRecord(entry)) throw malformed(method, f, `${f} is not a message`);
    const declared = stringField(entry['spiffe_id'], method, `${f}.spiffe_id`);
    const hint = stringField(entry['hint'], method, `${f}.hint`);
    const certs = bytesField(entry['x509_svid'], method, `${f}.x509_svid`);
    const key = bytesField(entry['x509_svid_key'], method, `${f}.x509_svid_key`);
    const bundle = bytesField(entry['bundle'] ?? new Uint8Array(), method, `${f}.bundle`);
    let svid: X509Svid;
    try {
      svid = X509Svid.parseRaw(certs, key, hint === '' ? undefined : { hint });
    } catch (cause) {
      throw malformed(method, `${f}.x509_svid`, `cannot parse X.509-SVID ${i}: ${errMessage(cause)}`, cause);
    }
    if (!sameId(svid.id, declared)) {
      throw malformed(
        method,
        `${f}.spiffe_id`,
        `X.509-SVID ${i} is for "${svid.id}" but the response says "${declared}"`,
      );
    }
    if (hint !== '' && hints.has(hint)) {
      dropped?.({ method, index: i, hint, spiffeId: svid.id.toString() });
      return;
    }
    if (hint !== '') hints.add(hint);
    svids.push(svid);
    const td = svid.id.trustDomain;
    if (!bundles.has(td)) bundles.add(x509Bundle(td, bundle, method, `${f}.bundle`));
  });
  for (const [key, value] of map(m['federated_bundles'], method, 'federated_bundles')) {
    const field = `federated_bundles[${JSON.stringify(key)}]`;
    const td = trustDomainKey(key, method, 'federated_bundles');
    // The SVIDs' own trust domain bundle wins over a federated entry for the same trust domain.
    if (!bundles.has(td)) bundles.add(x509Bundle(td, bytesField(value, method, field), method, field));
  }
  return createX509Context(svids, bundles);
}

/** FetchX509Bundles response -> X509BundleSet. */
export function parseX509BundlesResponse(res: X509BundlesResponse | Undecodable): X509BundleSet {
  const method = 'FetchX509Bundles';
  const m = message(res, method);
  const set = new X509BundleSet();
  for (const [key, value] of map(m['bundles'], method, 'bundles')) {
    const field = `bundles[${JSON.stringify(key)}]`;
    const td = trustDomainKey(key, method, 'bundles');
    set.add(x509Bundle(td, bytesField(value, method, field), method, field));
  }
  return set;
}

/**
 * FetchJWTSVID response -> JwtSvid[] via `JwtSvid.parseInsecure` (the Workload API is trusted, as go-spiffe does),
 * each checked against its declared `spiffe_id`; SVIDs repeating an earlier non-empty hint are dropped.
 */
export function parseJwtSvidResponse(
  res: JWTSVIDResponse | Undecodable,
  audience: readonly string[],
  now: Date,
  dropped?: DropReporter,
): JwtSvid[] {
  const method = 'FetchJWTSVID';
  const m = message(res, method);
  const raw = list(m['svids'], method, 'svids');
  if (raw.length === 0) throw malformed(method, 'svids', 'there were no SVIDs in the response');
  const out: JwtSvid[] = [];
  const hints = new Set<string>();
  raw.forEach((entry, i) => {
    const f = `svids[${i}]`;
    if (!isRecord(entry)) throw malformed(method, f, `${f} is not a message`);
    const declared = stringField(entry['spiffe_id'], method, `${f}.spiffe_id`);
    const hint = stringField(entry['hint'], method, `${f}.hint`);
    const token = stringField(entry['svid'], method, `${f}.svid`);
    let svid: JwtSvid;
    try {
      svid = JwtSvid.parseInsecure(token, audience, { now, hint });
    } catch (cause) {
      throw malformed(method, `${f}.svid`, `cannot parse JWT-SVID ${i}: ${errMessage(cause)}`, cause);
    }
    if (!sameId(svid.id, declared)) {
      throw malformed(
        method,
        `${f}.spiffe_id`,
        `JWT-SVID ${i} is for "${svid.id}" but the response says "${declared}"`,
      );
    }
    if (hint !== '' && hints.has(hint)) {
      dropped?.({ method, index: i, hint, spiffeId: svid.id.toString() });
      return;
    }
    if (hint !== '') hints.add(hint);
    out.push(svid);
  });
  return out;
}

/** FetchJWTBundles response -> JwtBundleSet (each value a JWKS, keyed by trust domain ID). */
export function parseJwtBundlesResponse(res: JWTBundlesResponse | Undecodable): JwtBundleSet {
  const method = 'FetchJWTBundles';
  const m = message(res, method);
  const set = new JwtBundleSet();
  for (const [key, value] of map(m['bundles'], method, 'bundles')) {
    const field = `bundles[${JSON.stringify(key)}]`;
    const td = trustDomainKey(key, method, 'bundles');
    const jwks = bytesField(value, method, field);
    let bundle: JwtBundle;
    try {
      bundle = JwtBundle.parse(td, jwks);
    } catch (cause) {
      throw malformed(method, field, `cannot parse the JWT bundle of "${td.name}": ${errMessage(cause)}`, cause);
    }
    set.add(bundle);
  }
  return set;
}

/**
 * ValidateJWTSVID response -> the token parsed with `JwtSvid.parseInsecure` (the server validated it; go-spiffe does
 * the same); the server's `spiffe_id` must be the token's subject.
 */
export function parseValidateResponse(
  res: ValidateJWTSVIDResponse | Undecodable,
  token: string,
  audience: string,
  now: Date,
): JwtSvid {
  const method = 'ValidateJWTSVID';
  const m = message(res, method);
  const declared = stringField(m['spiffe_id'], method, 'spiffe_id');
  let svid: JwtSvid;
  try {
    svid = JwtSvid.parseInsecure(token, [audience], { now });
  } catch (cause) {
    throw malformed(method, 'svid', `the server accepted a token the client cannot parse: ${errMessage(cause)}`, cause);
  }
  if (declared === '' || svid.id.toString() !== declared) {
    throw malformed(
      method,
      'spiffe_id',
      `the server says the token is for "${declared}" but its subject is "${svid.id}"`,
    );
  }
  return svid;
}
