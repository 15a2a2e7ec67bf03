import { checkSigV4 } from '@wid/join-iam/testing';
import { describe, expect, it } from 'vitest';

// The double's SigV4 checker is independent of the signer; check it against AWS's published test suite so the
// STS double itself is known to be right ("get-vanilla" from the AWS SigV4 test suite).
const CREDENTIAL = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const VANILLA_AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
  'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
const expected = { service: 'service', region: 'us-east-1', now: new Date('2015-08-30T12:36:00Z') };

function vanilla(headers: Record<string, string[]> = {}) {
  return {
    method: 'GET',
    target: '/',
    headers: {
      host: ['example.amazonaws.com'],
      'x-amz-date': ['20150830T123600Z'],
      authorization: [VANILLA_AUTH],
      ...headers,
    },
    body: Buffer.alloc(0),
  };
}

describe('checkSigV4', () => {
  it('accepts the AWS test suite get-vanilla request', () => {
    expect(checkSigV4(vanilla(), [CREDENTIAL], expected)).toEqual({ ok: true, credential: CREDENTIAL });
  });

  it('rejects it when a signed header, the body or the secret differs', () => {
    expect(checkSigV4(vanilla({ host: ['example2.amazonaws.com'] }), [CREDENTIAL], expected)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(checkSigV4({ ...vanilla(), body: Buffer.from('x') }, [CREDENTIAL], expected)).toMatchObject({ ok: false });
    expect(checkSigV4(vanilla(), [{ ...CREDENTIAL, secretAccessKey: 'other' }], expected)).toMatchObject({ ok: false });
  });

  it('rejects an unknown key, a wrong region or service, and a skew over 15 minutes', () => {
    expect(checkSigV4(vanilla(), [{ ...CREDENTIAL, accessKeyId: 'AKIDOTHER' }], expected)).toMatchObject({
      code: 'InvalidClientTokenId',
    });
    expect(checkSigV4(vanilla(), [CREDENTIAL], { ...expected, region: 'eu-west-1' })).toMatchObject({ ok: false });
    expect(checkSigV4(vanilla(), [CREDENTIAL], { ...expected, service: 'sts' })).toMatchObject({ ok: false });
    const late = { ...expected, now: new Date('2015-08-30T12:51:01Z') };
    expect(checkSigV4(vanilla(), [CREDENTIAL], late)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
  });

  it('requires an authorization header', () => {
    const req = vanilla();
    const { authorization: _, ...headers } = req.headers;
    expect(checkSigV4({ ...req, headers }, [CREDENTIAL], expected)).toMatchObject({
      code: 'MissingAuthenticationToken',
    });
  });
});
