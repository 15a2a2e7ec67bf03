import {
  createIamJoinClient,
  createIamJoinVerifier,
  type IamJoinRequest,
  type IamJoinVerifier,
  serializeIamJoinRequest,
} from '@wid/join-iam';
import { createFakeSts, FAKE_STS_IDENTITY, type FakeSts } from '@wid/join-iam/testing';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCode, expectThrowCode, manualClock, signCrafted } from './helpers.js';

const ACCOUNT = '123456789012';
const ALLOW = [{ aws_account: ACCOUNT, aws_arn: 'arn:aws:sts::123456789012:assumed-role/wid-agent/*' }];

let sts: FakeSts;
let verifier: IamJoinVerifier;

beforeEach(async () => {
  sts = await createFakeSts();
  verifier = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher(), timeoutMs: 2000 });
});
afterEach(async () => {
  await sts.close();
});

const client = () => createIamJoinClient({ credentials: FAKE_STS_IDENTITY, stsHost: sts.host });

async function signedFor(challenge: string): Promise<IamJoinRequest> {
  return client().createJoinRequest(challenge);
}

function withHeaders(req: IamJoinRequest, headers: Record<string, string | undefined>): IamJoinRequest {
  const merged: Record<string, string> = { ...req.headers };
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return { ...req, headers: merged };
}

describe('createIamJoinVerifier: success', () => {
  it('verifies a signed request through STS and returns account and ARN (JSON answer)', async () => {
    const challenge = verifier.createChallenge();
    const request = await signedFor(challenge);
    const attrs = await verifier.verify({ challenge, request: serializeIamJoinRequest(request), allow: ALLOW });
    expect(attrs).toEqual({ account: ACCOUNT, arn: FAKE_STS_IDENTITY.arn });
    expect(sts.requests.map((r) => r.verdict)).toEqual(['ok']);
    // Forwarded unchanged: every header the agent signed reached STS with the same value.
    for (const [name, value] of Object.entries(request.headers)) expect(sts.requests[0]!.headers[name]).toBe(value);
    expect(sts.requests[0]!.body).toBe(request.body);
  });

  it('reads STS XML answers', async () => {
    sts.format = 'xml';
    const challenge = verifier.createChallenge();
    const attrs = await verifier.verify({ challenge, request: await signedFor(challenge), allow: ALLOW });
    expect(attrs).toEqual({ account: ACCOUNT, arn: FAKE_STS_IDENTITY.arn });
  });

  it('decodes XML entities in the ARN', async () => {
    await sts.close();
    const arn = 'arn:aws:iam::123456789012:user/a&b';
    sts = await createFakeSts({ identities: [{ ...FAKE_STS_IDENTITY, arn }] });
    sts.format = 'xml';
    verifier = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher() });
    const challenge = verifier.createChallenge();
    const attrs = await verifier.verify({ challenge, request: await signedFor(challenge), allow: [{ aws_arn: arn }] });
    expect(attrs.arn).toBe(arn);
  });

  it('accepts temporary credentials with a session token', async () => {
    await sts.close();
    const temp = { ...FAKE_STS_IDENTITY, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' };
    sts = await createFakeSts({ identities: [temp] });
    verifier = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher() });
    const challenge = verifier.createChallenge();
    const request = await createIamJoinClient({ credentials: temp, stsHost: sts.host }).createJoinRequest(challenge);
    expect(request.headers['x-amz-security-token']).toBe(temp.sessionToken);
    await expect(verifier.verify({ challenge, request, allow: ALLOW })).resolves.toEqual({
      account: ACCOUNT,
      arn: temp.arn,
    });
  });

  it('forwards to real STS host names from the default list (routed to the double, TLS name checked)', async () => {
    await sts.close();
    sts = await createFakeSts({ region: 'us-west-2' });
    const v = createIamJoinVerifier({ dispatcher: sts.dispatcher({ routeAllHosts: true }) });
    const c = createIamJoinClient({ credentials: FAKE_STS_IDENTITY, region: 'us-west-2' });
    expect(c.stsHost).toBe('sts.us-west-2.amazonaws.com');
    const challenge = v.createChallenge();
    await expect(v.verify({ challenge, request: await c.createJoinRequest(challenge), allow: ALLOW })).resolves.toEqual(
      {
        account: ACCOUNT,
        arn: FAKE_STS_IDENTITY.arn,
      },
    );
    expect(sts.requests[0]!.headers['host']).toBe('sts.us-west-2.amazonaws.com');
  });

  it('does not trust an STS whose certificate is not trusted by the dispatcher', async () => {
    const v = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: new Agent() });
    const challenge = v.createChallenge();
    await expectCode(
      v.verify({ challenge, request: await signedFor(challenge), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_STS_UNREACHABLE',
    );
    expect(sts.requests).toHaveLength(0);
  });
});

describe('createIamJoinVerifier: challenge', () => {
  it('refuses a replayed challenge (single use) and does not contact STS again', async () => {
    const challenge = verifier.createChallenge();
    const request = await signedFor(challenge);
    await verifier.verify({ challenge, request, allow: ALLOW });
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
    expect(sts.requests).toHaveLength(1);
  });

  it('spends the challenge on a failed attempt too', async () => {
    const challenge = verifier.createChallenge();
    const request = await signedFor(challenge);
    await expectCode(
      verifier.verify({ challenge, request, allow: [{ aws_account: '999999999999' }] }),
      'ERR_WID_JOIN_IAM_NOT_ALLOWED',
    );
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE');
  });

  it('refuses a challenge it never issued', async () => {
    const other = createIamJoinVerifier({ allowedHosts: [sts.host] }).createChallenge();
    await expectCode(
      verifier.verify({ challenge: other, request: await signedFor(other), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_UNKNOWN_CHALLENGE',
    );
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses an expired challenge', async () => {
    const clock = manualClock();
    const v = createIamJoinVerifier({
      allowedHosts: [sts.host],
      dispatcher: sts.dispatcher(),
      clock,
      challengeTtlSeconds: 60,
    });
    const challenge = v.createChallenge();
    const request = await signedFor(challenge);
    clock.advance(60_000);
    await expectCode(v.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_CHALLENGE_EXPIRED');
    expect(sts.requests).toHaveLength(0);
  });

  it('accepts a challenge just before expiry', async () => {
    const clock = manualClock();
    const v = createIamJoinVerifier({
      allowedHosts: [sts.host],
      dispatcher: sts.dispatcher(),
      clock,
      challengeTtlSeconds: 60,
    });
    const challenge = v.createChallenge();
    clock.advance(59_999);
    await expect(v.verify({ challenge, request: await signedFor(challenge), allow: ALLOW })).resolves.toBeDefined();
  });

  it('refuses a request without the challenge header', async () => {
    const challenge = verifier.createChallenge();
    const request = await signCrafted({ host: sts.host });
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_CHALLENGE_MISSING');
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a request signed over another outstanding challenge', async () => {
    const mine = verifier.createChallenge();
    const theirs = verifier.createChallenge();
    await expectCode(
      verifier.verify({ challenge: mine, request: await signedFor(theirs), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_CHALLENGE_MISMATCH',
    );
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a challenge header that is not covered by the signature (STS would accept it)', async () => {
    const challenge = verifier.createChallenge();
    // Validly signed without the challenge, the header added afterwards: STS ignores unsigned headers.
    const request = await signCrafted({
      host: sts.host,
      headers: { 'x-wid-challenge': challenge },
      unsignable: ['x-wid-challenge'],
    });
    expect(request.headers['authorization']).not.toContain('x-wid-challenge');
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_CHALLENGE_NOT_SIGNED');
    expect(sts.requests).toHaveLength(0);
  });

  it('a captured request re-labelled with a fresh challenge fails at STS (signature covers the header)', async () => {
    const old = verifier.createChallenge();
    const captured = await signedFor(old);
    const fresh = verifier.createChallenge();
    const replay = withHeaders(captured, { 'x-wid-challenge': fresh });
    const e = await expectCode(
      verifier.verify({ challenge: fresh, request: replay, allow: ALLOW }),
      'ERR_WID_JOIN_IAM_STS_REJECTED',
    );
    expect(e['status']).toBe(403);
    expect(e['stsCode']).toBe('SignatureDoesNotMatch');
  });
});

describe('createIamJoinVerifier: request checks', () => {
  it('refuses a host outside the allowed list without contacting it', async () => {
    const challenge = verifier.createChallenge();
    const request = await createIamJoinClient({
      credentials: FAKE_STS_IDENTITY,
      stsHost: `127.0.0.1:${sts.port}`,
    }).createJoinRequest(challenge);
    const e = await expectCode(
      verifier.verify({ challenge, request, allow: ALLOW }),
      'ERR_WID_JOIN_IAM_HOST_NOT_ALLOWED',
    );
    expect(e['host']).toBe(`127.0.0.1:${sts.port}`);
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a look-alike host by default', async () => {
    const v = createIamJoinVerifier({ dispatcher: sts.dispatcher({ routeAllHosts: true }) });
    for (const host of [
      'sts.amazonaws.com.evil.example',
      'evil.example',
      'STS.amazonaws.com',
      'sts.amazonaws.com:8443',
    ]) {
      const challenge = v.createChallenge();
      const request = await createIamJoinClient({
        credentials: FAKE_STS_IDENTITY,
        stsHost: host.toLowerCase(),
      }).createJoinRequest(challenge);
      await expectCode(
        v.verify({ challenge, request: withHeaders(request, { host }), allow: ALLOW }),
        'ERR_WID_JOIN_IAM_HOST_NOT_ALLOWED',
      );
    }
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a request without a host header', async () => {
    const challenge = verifier.createChallenge();
    const request = withHeaders(await signedFor(challenge), { host: undefined });
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_HOST_NOT_ALLOWED');
  });

  it('refuses a method other than POST', async () => {
    const challenge = verifier.createChallenge();
    const request = { ...(await signedFor(challenge)), method: 'GET' };
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_BAD_METHOD');
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a path other than / even when validly signed', async () => {
    for (const [path, query] of [
      ['/other', undefined],
      ['/', { Action: 'AssumeRole' }],
    ] as const) {
      const c = verifier.createChallenge();
      const request = await signCrafted({
        host: sts.host,
        path,
        ...(query ? { query } : {}),
        headers: { 'x-wid-challenge': c },
      });
      await expectCode(verifier.verify({ challenge: c, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_BAD_PATH');
    }
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a body other than exactly GetCallerIdentity even when validly signed', async () => {
    for (const body of [
      'Action=GetCallerIdentity&Version=2011-06-15&Extra=1',
      'Version=2011-06-15&Action=GetCallerIdentity',
      'Action=GetSessionToken&Version=2011-06-15',
    ]) {
      const challenge = verifier.createChallenge();
      const request = await signCrafted({ host: sts.host, body, headers: { 'x-wid-challenge': challenge } });
      await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_BAD_BODY');
    }
    expect(sts.requests).toHaveLength(0);
  });

  it('refuses a request without a SigV4 authorization header', async () => {
    const challenge = verifier.createChallenge();
    const request = withHeaders(await signedFor(challenge), { authorization: undefined });
    await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_BAD_AUTHORIZATION');
    const bad = withHeaders(await signedFor(verifier.createChallenge()), { authorization: 'Bearer x' });
    const c2 = bad.headers['x-wid-challenge']!;
    await expectCode(
      verifier.verify({ challenge: c2, request: bad, allow: ALLOW }),
      'ERR_WID_JOIN_IAM_BAD_AUTHORIZATION',
    );
  });

  it('refuses a signature that does not cover host', async () => {
    const challenge = verifier.createChallenge();
    const request = await signedFor(challenge);
    const auth = request.headers['authorization']!.replace(';host;', ';');
    expect(auth).not.toBe(request.headers['authorization']);
    await expectCode(
      verifier.verify({ challenge, request: withHeaders(request, { authorization: auth }), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_BAD_AUTHORIZATION',
    );
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['extra keys', JSON.stringify({ method: 'POST', path: '/', headers: {}, body: '', url: 'https://x' })],
    ['missing keys', JSON.stringify({ method: 'POST', path: '/', headers: {} })],
    ['a non-string header', JSON.stringify({ method: 'POST', path: '/', headers: { a: 1 }, body: '' })],
    ['a header with CRLF', JSON.stringify({ method: 'POST', path: '/', headers: { a: 'x\r\ny: z' }, body: '' })],
    ['a duplicate header', JSON.stringify({ method: 'POST', path: '/', headers: { Host: 'a', host: 'a' }, body: '' })],
    [
      'transfer-encoding',
      JSON.stringify({ method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' }, body: '' }),
    ],
    [
      'a wrong content-length',
      JSON.stringify({ method: 'POST', path: '/', headers: { 'content-length': '3' }, body: '' }),
    ],
    ['a huge request', JSON.stringify({ method: 'POST', path: '/', headers: {}, body: 'x'.repeat(20_000) })],
  ])('refuses a malformed request: %s', async (_name, text) => {
    const challenge = verifier.createChallenge();
    await expectCode(verifier.verify({ challenge, request: text, allow: ALLOW }), 'ERR_WID_JOIN_IAM_MALFORMED_REQUEST');
  });

  it('rejects tampering with a signed header: STS refuses the signature', async () => {
    for (const [name, value] of [
      ['x-amz-date', '20200101T000000Z'],
      ['accept', 'text/xml'],
      ['content-type', 'application/x-www-form-urlencoded'],
    ] as const) {
      const challenge = verifier.createChallenge();
      const request = withHeaders(await signedFor(challenge), { [name]: value });
      const e = await expectCode(
        verifier.verify({ challenge, request, allow: ALLOW }),
        'ERR_WID_JOIN_IAM_STS_REJECTED',
      );
      expect(e['status']).toBe(403);
      expect(e['stsCode']).toBe('SignatureDoesNotMatch');
    }
  });

  it('rejects a wrong session token: STS refuses the token', async () => {
    const challenge = verifier.createChallenge();
    const temp = { ...FAKE_STS_IDENTITY, accessKeyId: 'ASIAUNKNOWN', sessionToken: 't' };
    const request = await createIamJoinClient({ credentials: temp, stsHost: sts.host }).createJoinRequest(challenge);
    const e = await expectCode(verifier.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_STS_REJECTED');
    expect(e['stsCode']).toBe('InvalidClientTokenId');
  });
});

describe('createIamJoinVerifier: STS answers', () => {
  async function verifyWith(respond: FakeSts['respond']) {
    sts.respond = respond;
    const challenge = verifier.createChallenge();
    return verifier.verify({ challenge, request: await signedFor(challenge), allow: ALLOW });
  }

  it('reports a non-200 answer with its status and STS error code (XML error document)', async () => {
    const e = await expectCode(
      verifyWith(() => ({
        status: 500,
        contentType: 'text/xml',
        body: '<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>x</Message></Error></ErrorResponse>',
      })),
      'ERR_WID_JOIN_IAM_STS_REJECTED',
    );
    expect(e['status']).toBe(500);
    expect(e['stsCode']).toBe('InternalFailure');
    expect(e['host']).toBe(sts.host);
  });

  it('reports a JSON error document and does not follow redirects', async () => {
    const e = await expectCode(
      verifyWith(() => ({
        status: 400,
        body: JSON.stringify({ Error: { Code: 'Throttling', Message: 'slow down' } }),
      })),
      'ERR_WID_JOIN_IAM_STS_REJECTED',
    );
    expect(e['stsCode']).toBe('Throttling');
    const r = await expectCode(
      verifyWith(() => ({ status: 302, body: '', headers: { location: 'https://evil.example/' } })),
      'ERR_WID_JOIN_IAM_STS_REJECTED',
    );
    expect(r['status']).toBe(302);
    expect(r['stsCode']).toBeUndefined();
  });

  it('refuses an oversized answer announced by content-length', async () => {
    const v = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher(), maxResponseBytes: 4096 });
    sts.respond = () => ({ status: 200, body: Buffer.alloc(5000, 0x20) });
    const challenge = v.createChallenge();
    await expectCode(
      v.verify({ challenge, request: await signedFor(challenge), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_STS_RESPONSE_TOO_LARGE',
    );
  });

  it('refuses an oversized streamed answer without content-length', async () => {
    const v = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher(), maxResponseBytes: 4096 });
    sts.respond = () => ({ status: 200, body: Array.from({ length: 10 }, () => Buffer.alloc(1000, 0x20)) });
    const challenge = v.createChallenge();
    await expectCode(
      v.verify({ challenge, request: await signedFor(challenge), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_STS_RESPONSE_TOO_LARGE',
    );
  });

  it('times out when STS does not answer', async () => {
    const v = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher(), timeoutMs: 200 });
    sts.respond = () => 'hang';
    const challenge = v.createChallenge();
    const e = await expectCode(
      v.verify({ challenge, request: await signedFor(challenge), allow: ALLOW }),
      'ERR_WID_JOIN_IAM_STS_TIMEOUT',
    );
    expect(e['host']).toBe(sts.host);
  });

  it('reports an unreachable STS', async () => {
    const v = createIamJoinVerifier({ allowedHosts: ['localhost:1'], dispatcher: sts.dispatcher() });
    const challenge = v.createChallenge();
    const request = await createIamJoinClient({
      credentials: FAKE_STS_IDENTITY,
      stsHost: 'localhost:1',
    }).createJoinRequest(challenge);
    await expectCode(v.verify({ challenge, request, allow: ALLOW }), 'ERR_WID_JOIN_IAM_STS_UNREACHABLE');
  });

  it('honours an aborted signal', async () => {
    sts.respond = () => 'hang';
    const challenge = verifier.createChallenge();
    const request = await signedFor(challenge);
    const controller = new AbortController();
    const pending = verifier.verify({ challenge, request, allow: ALLOW }, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expectCode(pending, 'ERR_WID_JOIN_IAM_ABORTED');
  });

  it.each([
    ['not a GetCallerIdentity document', 'hello'],
    ['JSON without the result', JSON.stringify({ Foo: 1 })],
    [
      'a short account',
      JSON.stringify({
        GetCallerIdentityResponse: { GetCallerIdentityResult: { Account: '1234', Arn: 'arn:aws:iam::1234:user/a' } },
      }),
    ],
    [
      'an ARN that is not an ARN',
      JSON.stringify({ GetCallerIdentityResponse: { GetCallerIdentityResult: { Account: ACCOUNT, Arn: 'nope' } } }),
    ],
    [
      'an ARN in another account',
      JSON.stringify({
        GetCallerIdentityResponse: {
          GetCallerIdentityResult: { Account: ACCOUNT, Arn: 'arn:aws:iam::999999999999:user/a' },
        },
      }),
    ],
    [
      'two Account elements',
      '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><Account>123456789012</Account><Account>999999999999</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
    ],
    [
      'XML whose root is not GetCallerIdentityResponse',
      '<Other><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><Account>123456789012</Account></GetCallerIdentityResult></Other>',
    ],
  ])('refuses a 200 answer with %s', async (_name, body) => {
    await expectCode(
      verifyWith(() => ({ status: 200, body })),
      'ERR_WID_JOIN_IAM_STS_BAD_RESPONSE',
    );
  });
});

describe('createIamJoinVerifier: allow rules', () => {
  async function verifyAllow(allow: unknown) {
    const challenge = verifier.createChallenge();
    return verifier.verify({ challenge, request: await signedFor(challenge), allow: allow as never });
  }

  it('refuses an identity in another account, naming it', async () => {
    const e = await expectCode(verifyAllow([{ aws_account: '210987654321' }]), 'ERR_WID_JOIN_IAM_NOT_ALLOWED');
    expect(e['account']).toBe(ACCOUNT);
    expect(e['arn']).toBe(FAKE_STS_IDENTITY.arn);
  });

  it('refuses an identity whose ARN matches no glob', async () => {
    await expectCode(
      verifyAllow([{ aws_account: ACCOUNT, aws_arn: 'arn:aws:sts::123456789012:assumed-role/other/*' }]),
      'ERR_WID_JOIN_IAM_NOT_ALLOWED',
    );
  });

  it('admits when any rule matches', async () => {
    await expect(
      verifyAllow([{ aws_account: '210987654321' }, { aws_arn: 'arn:aws:sts::*:assumed-role/wid-agent/i-?*' }]),
    ).resolves.toEqual({
      account: ACCOUNT,
      arn: FAKE_STS_IDENTITY.arn,
    });
  });

  it('refuses bad rules before contacting STS', async () => {
    await expectCode(verifyAllow([]), 'ERR_WID_JOIN_IAM_BAD_RULES');
    expect(sts.requests).toHaveLength(0);
  });
});

describe('createIamJoinVerifier: options', () => {
  it.each([
    [{ allowedHosts: [] }, 'allowedHosts'],
    [{ allowedHosts: ['https://sts.amazonaws.com'] }, 'allowedHosts'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ maxResponseBytes: -1 }, 'maxResponseBytes'],
    [{ challengeTtlSeconds: 1.5 }, 'ttlSeconds'],
  ])('rejects %j', (options, key) => {
    const e = expectThrowCode(() => createIamJoinVerifier(options), 'ERR_WID_JOIN_IAM_BAD_OPTION');
    expect(e['key']).toBe(key);
  });

  it('counts pending challenges', () => {
    const v = createIamJoinVerifier();
    v.createChallenge();
    v.createChallenge();
    expect(v.pendingChallenges).toBe(2);
  });
});
