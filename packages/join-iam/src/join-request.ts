import { IamJoinError, shorten } from './errors.js';

/** The body every IAM join request signs: sts:GetCallerIdentity, API version 2011-06-15. */
export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** The header that carries the server's challenge inside the signed request. */
export const CHALLENGE_HEADER = 'x-wid-challenge';

/**
 * A SigV4-signed `sts:GetCallerIdentity` request, as plain values: what the agent sends and the server forwards to
 * STS unchanged. Header names are lowercase; the STS host is the `host` header.
 */
export interface IamJoinRequest {
  /** Always `POST`. */
  readonly method: string;
  /** Always `/`. */
  readonly path: string;
  /** Every header that was signed (`host`, `x-amz-date`, `x-wid-challenge`, `authorization`, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** Always {@link GET_CALLER_IDENTITY_BODY}. */
  readonly body: string;
}

/** Largest serialized request accepted (a real one is about 1.5 KiB; session tokens can add ~1 KiB). */
const MAX_REQUEST_BYTES = 16 * 1024;
const MAX_HEADERS = 32;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
// Header values: visible ASCII, space and tab; no CR/LF (no header injection).
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
// Headers undici refuses or that change message framing; a signed STS request never needs them.
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);
const REQUEST_KEYS = ['body', 'headers', 'method', 'path'];

function malformed(message: string, key?: string): IamJoinError {
  return new IamJoinError('ERR_WID_JOIN_IAM_MALFORMED_REQUEST', message, { key });
}

/**
 * Serializes a join request to JSON text for transport.
 *
 * @example
 * const text = serializeIamJoinRequest(await client.createJoinRequest(challenge));
 */
export function serializeIamJoinRequest(request: IamJoinRequest): string {
  return JSON.stringify({ method: request.method, path: request.path, headers: request.headers, body: request.body });
}

/**
 * Parses and shape-checks a join request (JSON text or an object), normalizing header names to lowercase.
 * Throws `ERR_WID_JOIN_IAM_MALFORMED_REQUEST` naming the offending key. It does not judge host, method, path, body
 * or challenge: the verifier does, each with its own code.
 *
 * @example
 * const request = parseIamJoinRequest(textFromAgent);
 */
export function parseIamJoinRequest(input: string | IamJoinRequest): IamJoinRequest {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > MAX_REQUEST_BYTES) throw malformed(`the request exceeds ${MAX_REQUEST_BYTES} bytes`);
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new IamJoinError('ERR_WID_JOIN_IAM_MALFORMED_REQUEST', 'the request is not JSON', {}, { cause });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed('the request is not an object');
  const keys = Object.keys(value).sort();
  if (keys.length !== REQUEST_KEYS.length || keys.some((k, i) => k !== REQUEST_KEYS[i])) {
    throw malformed(`the request must have exactly the keys ${REQUEST_KEYS.join(', ')}; got ${keys.join(', ')}`);
  }
  const { method, path, headers, body } = value as Record<string, unknown>;
  if (typeof method !== 'string') throw malformed('method is not a string', 'method');
  if (typeof path !== 'string') throw malformed('path is not a string', 'path');
  if (typeof body !== 'string') throw malformed('body is not a string', 'body');
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw malformed('headers is not an object', 'headers');
  }
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw malformed(`more than ${MAX_HEADERS} headers`, 'headers');
  const normalized: Record<string, string> = Object.create(null);
  for (const [rawName, headerValue] of entries) {
    const name = rawName.toLowerCase();
    if (!HEADER_NAME.test(name)) throw malformed(`header name "${shorten(rawName)}" is not a valid token`, rawName);
    if (typeof headerValue !== 'string' || !HEADER_VALUE.test(headerValue)) {
      throw malformed(`header "${name}" must be a string of printable ASCII`, name);
    }
    if (FORBIDDEN_HEADERS.has(name)) throw malformed(`header "${name}" is not allowed in a join request`, name);
    if (name in normalized) throw malformed(`header "${name}" appears twice`, name);
    normalized[name] = headerValue;
  }
  const contentLength = normalized['content-length'];
  if (contentLength !== undefined && contentLength !== String(Buffer.byteLength(body))) {
    throw malformed('header "content-length" does not match the body', 'content-length');
  }
  return Object.freeze({ method, path, headers: Object.freeze(normalized), body });
}
