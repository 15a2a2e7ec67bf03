import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// An independent SigV4 (AWS4-HMAC-SHA256) checker for the STS double, written from the AWS "Signature Version 4
// signing process" spec with node:crypto only, so that a bug in the signer the client uses cannot hide here.

/** A request as the double received it. Header names lowercase; repeated headers as arrays. */
export interface SigV4CheckRequest {
  readonly method: string;
  /** The raw request target, e.g. `/` or `/?a=b`. */
  readonly target: string;
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

/** A known credential. */
export interface SigV4CheckCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** Result of {@link checkSigV4}: the credential used, or an STS-style error code and message. */
export type SigV4CheckResult<C extends SigV4CheckCredential> =
  | { readonly ok: true; readonly credential: C }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/([a-z0-9_]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{8})T(\d{2})(\d{2})(\d{2})Z$/;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 requires. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string): string {
  // Non-S3 services: each segment of the (already encoded) path is encoded once more.
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
      return [uriEncode(name), uriEncode(value)] as const;
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

const trimAll = (value: string) => value.trim().replace(/ +/g, ' ');

function fail(status: number, code: string, message: string) {
  return { ok: false as const, status, code, message };
}

/**
 * Verifies the SigV4 `authorization` header of `req` against `credentials`, for `service` in `region`, at `now`
 * (allowing 15 minutes of skew, as AWS does).
 */
export function checkSigV4<C extends SigV4CheckCredential>(
  req: SigV4CheckRequest,
  credentials: readonly C[],
  expected: { readonly service: string; readonly region: string; readonly now: Date },
): SigV4CheckResult<C> {
  const authorization = req.headers['authorization'];
  if (authorization === undefined || authorization.length !== 1) {
    return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  const m = AUTH.exec(authorization[0]!);
  if (m === null)
    return fail(400, 'IncompleteSignature', 'Authorization header requires Credential, SignedHeaders, Signature');
  const [, accessKeyId, scopeDate, region, service, terminator, signedHeaderList, signature] = m as unknown as string[];
  const credential = credentials.find((c) => c.accessKeyId === accessKeyId);
  if (credential === undefined) {
    return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  if (service !== expected.service || terminator !== 'aws4_request') {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to correct service: '${expected.service}'.`);
  }
  if (region !== expected.region) {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${region}'.`);
  }
  const signedHeaders = signedHeaderList!.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.some((h, i) => h !== sorted[i] || h !== h.toLowerCase())) {
    return fail(403, 'SignatureDoesNotMatch', 'SignedHeaders must be lowercase and sorted.');
  }
  if (!signedHeaders.includes('host')) return fail(403, 'SignatureDoesNotMatch', "'Host' must be a signed header.");
  const amzDate = req.headers['x-amz-date']?.[0];
  const d = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
  if (d === null || !signedHeaders.includes('x-amz-date')) {
    return fail(400, 'IncompleteSignature', 'A signed x-amz-date header in ISO 8601 basic format is required.');
  }
  if (d[1] !== scopeDate)
    return fail(403, 'SignatureDoesNotMatch', 'Date in Credential scope does not match x-amz-date.');
  const signedAt = Date.UTC(
    Number(amzDate!.slice(0, 4)),
    Number(amzDate!.slice(4, 6)) - 1,
    Number(amzDate!.slice(6, 8)),
    Number(d[2]),
    Number(d[3]),
    Number(d[4]),
  );
  if (Math.abs(expected.now.getTime() - signedAt) > 15 * 60 * 1000) {
    return fail(403, 'SignatureDoesNotMatch', 'Signature expired: the request time is more than 15 minutes off.');
  }
  if (credential.sessionToken !== undefined && req.headers['x-amz-security-token']?.[0] !== credential.sessionToken) {
    return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const values = req.headers[name];
    if (values === undefined) return fail(403, 'SignatureDoesNotMatch', `Signed header ${name} is missing.`);
    canonicalHeaders += `${name}:${values.map(trimAll).join(',')}\n`;
  }
  const payloadHash = sha256Hex(req.body);
  const declaredHash = req.headers['x-amz-content-sha256']?.[0];
  if (declaredHash !== undefined && declaredHash !== payloadHash && declaredHash !== 'UNSIGNED-PAYLOAD') {
    return fail(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 does not match the payload.');
  }
  const q = req.target.indexOf('?');
  const path = q === -1 ? req.target : req.target.slice(0, q);
  const query = q === -1 ? '' : req.target.slice(q + 1);
  const canonicalRequest = [
    req.method,
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${credential.secretAccessKey}`, scopeDate!);
  const kRegion = hmac(kDate, region!);
  const kService = hmac(kRegion, service!);
  const kSigning = hmac(kService, 'aws4_request');
  const computed = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(signature!, 'hex');
  if (given.length !== computed.length || !timingSafeEqual(given, computed)) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { ok: true, credential };
}
