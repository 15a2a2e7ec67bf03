import { IamJoinError } from '../errors.js';

/** The parts of a SigV4 `authorization` header the verifier needs. */
export interface SigV4Authorization {
  readonly signedHeaders: readonly string[];
}

// AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[^,\s]+,\s*SignedHeaders=([a-z0-9!#$%&'*+.^_`|~;-]+),\s*Signature=[0-9a-f]{64}$/;

/** Parses a SigV4 authorization header (SigV4 "Add the signature to the HTTP request"). */
export function parseSigV4Authorization(value: string | undefined): SigV4Authorization {
  if (value === undefined) {
    throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_AUTHORIZATION', 'the request has no authorization header');
  }
  const match = AUTHORIZATION.exec(value);
  if (match === null) {
    throw new IamJoinError(
      'ERR_WID_JOIN_IAM_BAD_AUTHORIZATION',
      'the authorization header is not "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<64 hex>"',
    );
  }
  return { signedHeaders: match[1]!.split(';') };
}
