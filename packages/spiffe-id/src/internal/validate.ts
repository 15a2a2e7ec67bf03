// Validation rules of SPIFFE-ID §2, with go-spiffe's error wording (users search for it).
import { SpiffeIdError } from '../errors.js';

export const SCHEME_PREFIX = 'spiffe://';
/** SPIFFE-ID §2.1: a trust domain is at most 255 bytes. */
export const MAX_TRUST_DOMAIN_LENGTH = 255;

// Lookup tables keep the hot loops branch-light: a SPIFFE ID is validated on every SVID parse.
const TD_CHARS = new Uint8Array(128);
const SEG_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const lowerOrDigit = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
  const common = ch === '.' || ch === '-' || ch === '_';
  TD_CHARS[c] = lowerOrDigit || common ? 1 : 0;
  SEG_CHARS[c] = lowerOrDigit || common || (ch >= 'A' && ch <= 'Z') ? 1 : 0;
}

export function isTrustDomainChar(code: number): boolean {
  return code < 128 && TD_CHARS[code] === 1;
}

export function isPathSegmentChar(code: number): boolean {
  return code < 128 && SEG_CHARS[code] === 1;
}

/** Validates a trust domain name (no scheme). `input` is what the user passed, for the error. */
export function validateTrustDomainName(name: string, input: string, offset = 0): void {
  if (name.length === 0) {
    throw new SpiffeIdError('ERR_WID_SPIFFE_ID_MISSING_TRUST_DOMAIN', 'trust domain is missing', input);
  }
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) {
      throw new SpiffeIdError(
        'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR',
        `trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores (${JSON.stringify(name[i])} at ${offset + i} in ${JSON.stringify(input)})`,
        input,
        offset + i,
      );
    }
  }
  // Every accepted character is ASCII, so length in UTF-16 units equals length in bytes.
  if (name.length > MAX_TRUST_DOMAIN_LENGTH) {
    throw new SpiffeIdError(
      'ERR_WID_SPIFFE_ID_TRUST_DOMAIN_TOO_LONG',
      `trust domain is too long: ${name.length} bytes; at most ${MAX_TRUST_DOMAIN_LENGTH} are allowed`,
      input,
    );
  }
}

/** Validates a path ('' or '/seg/seg'). `offset` maps positions back into `input`. */
export function validatePath(path: string, input: string, offset = 0): void {
  if (path.length === 0) return;
  if (path.charCodeAt(0) !== 0x2f) {
    throw new SpiffeIdError('ERR_WID_SPIFFE_ID_NO_LEADING_SLASH', 'path must have a leading slash', input, offset);
  }
  let segStart = 0;
  for (let i = 0; i <= path.length; i++) {
    const end = i === path.length;
    const c = end ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      if (i === 0) continue;
      const len = i - segStart;
      if (len === 1) {
        if (end) {
          throw new SpiffeIdError('ERR_WID_SPIFFE_ID_TRAILING_SLASH', 'path cannot have a trailing slash', input);
        }
        throw new SpiffeIdError(
          'ERR_WID_SPIFFE_ID_EMPTY_SEGMENT',
          'path cannot contain empty segments',
          input,
          offset + segStart,
        );
      }
      if ((len === 2 && path[segStart + 1] === '.') || (len === 3 && path.startsWith('..', segStart + 1))) {
        throw new SpiffeIdError(
          'ERR_WID_SPIFFE_ID_DOT_SEGMENT',
          'path cannot contain dot segments',
          input,
          offset + segStart + 1,
        );
      }
      segStart = i;
      continue;
    }
    if (!isPathSegmentChar(c)) {
      throw new SpiffeIdError(
        'ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR',
        `path segment characters are limited to letters, numbers, dots, dashes, and underscores (${JSON.stringify(path[i])} at ${offset + i} in ${JSON.stringify(input)})`,
        input,
        offset + i,
      );
    }
  }
}

/** Validates one path segment given without slashes (fromSegments / appendSegments). */
export function validateSegment(segment: string): void {
  if (segment.length === 0) {
    throw new SpiffeIdError('ERR_WID_SPIFFE_ID_EMPTY_SEGMENT', 'path cannot contain empty segments', segment);
  }
  if (segment === '.' || segment === '..') {
    throw new SpiffeIdError('ERR_WID_SPIFFE_ID_DOT_SEGMENT', 'path cannot contain dot segments', segment, 0);
  }
  for (let i = 0; i < segment.length; i++) {
    if (!isPathSegmentChar(segment.charCodeAt(i))) {
      throw new SpiffeIdError(
        'ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR',
        `path segment characters are limited to letters, numbers, dots, dashes, and underscores (${JSON.stringify(segment[i])} at ${i} in ${JSON.stringify(segment)})`,
        segment,
        i,
      );
    }
  }
}
