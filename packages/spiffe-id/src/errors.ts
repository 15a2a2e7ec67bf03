import { WidError } from './wid-error.js';

/** Every code @wid/spiffe-id throws, with what the user should do (docs/errors.md is generated from this). */
export const SPIFFE_ID_ERROR_CODES = {
  ERR_WID_SPIFFE_ID_EMPTY: 'Pass a non-empty SPIFFE ID such as spiffe://example.org/workload.',
  ERR_WID_SPIFFE_ID_WRONG_SCHEME: 'Start the ID with the lowercase scheme "spiffe://".',
  ERR_WID_SPIFFE_ID_MISSING_TRUST_DOMAIN: 'Put a trust domain name after "spiffe://", e.g. spiffe://example.org.',
  ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR:
    'Trust domains use only lowercase letters, digits, ".", "-" and "_" (no uppercase, port, userinfo or percent-encoding).',
  ERR_WID_SPIFFE_ID_TRUST_DOMAIN_TOO_LONG: 'Shorten the trust domain name to at most 255 bytes.',
  ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR:
    'Path segments use only letters, digits, ".", "-" and "_" (no query, fragment or percent-encoding).',
  ERR_WID_SPIFFE_ID_EMPTY_SEGMENT: 'Remove the doubled "/" (or pass a non-empty segment).',
  ERR_WID_SPIFFE_ID_DOT_SEGMENT: 'Remove "." and ".." segments; resolve the path before building the ID.',
  ERR_WID_SPIFFE_ID_TRAILING_SLASH: 'Remove the trailing "/" from the path.',
  ERR_WID_SPIFFE_ID_NO_LEADING_SLASH: 'Start the path with "/".',
} as const;

export type SpiffeIdErrorCode = keyof typeof SPIFFE_ID_ERROR_CODES;

/** Thrown by every SPIFFE ID and trust domain parse/build failure. `input` is the offending string. */
export class SpiffeIdError extends WidError {
  declare readonly code: SpiffeIdErrorCode;
  /** The string that failed validation. */
  readonly input: string;
  /** Zero-based offset of the offending character in `input`, when one character is at fault. */
  readonly position: number | undefined;

  constructor(code: SpiffeIdErrorCode, message: string, input: string, position?: number) {
    super(code, message);
    this.input = input;
    this.position = position;
  }
}
