import {
  createIamChallenge,
  createIamJoinClient,
  GET_CALLER_IDENTITY_BODY,
  parseIamJoinRequest,
  serializeIamJoinRequest,
  stsHostForRegion,
} from '@wid/join-iam';
import { checkSigV4, FAKE_STS_IDENTITY } from '@wid/join-iam/testing';
import { describe, expect, it } from 'vitest';
import { expectCode, expectThrowCode } from './helpers.js';

const NOW = new Date('2026-03-01T10:20:30Z');
const clock = { now: () => NOW };

describe('createIamJoinClient', () => {
  it('signs GetCallerIdentity with the challenge among the signed headers', async () => {
    const challenge = createIamChallenge();
    const request = await createIamJoinClient({ credentials: FAKE_STS_IDENTITY, clock }).createJoinRequest(challenge);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/');
    expect(request.body).toBe(GET_CALLER_IDENTITY_BODY);
    expect(request.headers['host']).toBe('sts.amazonaws.com');
    expect(request.headers['x-wid-challenge']).toBe(challenge);
    expect(request.headers['x-amz-date']).toBe('20260301T102030Z');
    const signed = /SignedHeaders=([^,]+)/.exec(request.headers['authorization']!)![1]!.split(';');
    expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-wid-challenge']));
    expect(request.headers['authorization']).toContain('Credential=AKIDEXAMPLE/20260301/us-east-1/sts/aws4_request');
    // The signature verifies with an implementation independent of the signer.
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, [v]]));
    const result = checkSigV4(
      { method: 'POST', target: '/', headers, body: Buffer.from(request.body) },
      [FAKE_STS_IDENTITY],
      { service: 'sts', region: 'us-east-1', now: NOW },
    );
    expect(result.ok).toBe(true);
  });

  it('round-trips through serialize and parse', async () => {
    const request = await createIamJoinClient({ credentials: FAKE_STS_IDENTITY, clock }).createJoinRequest(
      createIamChallenge(),
    );
    expect(parseIamJoinRequest(serializeIamJoinRequest(request))).toEqual(request);
  });

  it('signs the session token of temporary credentials', async () => {
    const credentials = async () => ({ ...FAKE_STS_IDENTITY, sessionToken: 'tok' });
    const request = await createIamJoinClient({ credentials, clock }).createJoinRequest(createIamChallenge());
    expect(request.headers['x-amz-security-token']).toBe('tok');
    expect(request.headers['authorization']).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });

  it('signs for the regional endpoint and region', async () => {
    const c = createIamJoinClient({ credentials: FAKE_STS_IDENTITY, region: 'eu-west-1', clock });
    expect(c.stsHost).toBe('sts.eu-west-1.amazonaws.com');
    const request = await c.createJoinRequest(createIamChallenge());
    expect(request.headers['authorization']).toContain('/eu-west-1/sts/aws4_request');
  });

  it('refuses a challenge that is not the server format', async () => {
    const c = createIamJoinClient({ credentials: FAKE_STS_IDENTITY });
    await expectCode(c.createJoinRequest('short'), 'ERR_WID_JOIN_IAM_BAD_CHALLENGE');
    await expectCode(c.createJoinRequest(`${createIamChallenge()}\r\nx: y`), 'ERR_WID_JOIN_IAM_BAD_CHALLENGE');
  });

  it('reports a credential provider failure as NO_CREDENTIALS with the cause', async () => {
    const cause = new Error('no IMDS');
    const c = createIamJoinClient({ credentials: () => Promise.reject(cause) });
    const e = await expectCode(c.createJoinRequest(createIamChallenge()), 'ERR_WID_JOIN_IAM_NO_CREDENTIALS');
    expect((e as unknown as Error).cause).toBe(cause);
  });

  it('uses the SDK provider chain by default (environment credentials)', async () => {
    const saved = { ...process.env };
    try {
      process.env['AWS_ACCESS_KEY_ID'] = 'AKIDENVEXAMPLE';
      process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';
      delete process.env['AWS_SESSION_TOKEN'];
      delete process.env['AWS_PROFILE'];
      const request = await createIamJoinClient({ clock }).createJoinRequest(createIamChallenge());
      expect(request.headers['authorization']).toContain('Credential=AKIDENVEXAMPLE/');
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('refuses bad options', () => {
    expect(expectThrowCode(() => createIamJoinClient({ region: 'Europe' }), 'ERR_WID_JOIN_IAM_BAD_OPTION')['key']).toBe(
      'region',
    );
    expect(
      expectThrowCode(() => createIamJoinClient({ stsHost: 'https://x/' }), 'ERR_WID_JOIN_IAM_BAD_OPTION')['key'],
    ).toBe('stsHost');
    expectThrowCode(() => createIamJoinClient({ credentials: 'x' as never }), 'ERR_WID_JOIN_IAM_BAD_OPTION');
  });
});

describe('stsHostForRegion', () => {
  it.each([
    [undefined, false, 'sts.amazonaws.com'],
    [undefined, true, 'sts-fips.us-east-1.amazonaws.com'],
    ['us-west-2', false, 'sts.us-west-2.amazonaws.com'],
    ['us-west-2', true, 'sts-fips.us-west-2.amazonaws.com'],
    ['cn-north-1', false, 'sts.cn-north-1.amazonaws.com.cn'],
    ['us-gov-west-1', true, 'sts.us-gov-west-1.amazonaws.com'],
  ])('%s (fips %s) -> %s', (region, fips, host) => {
    expect(stsHostForRegion(region, { fips })).toBe(host);
  });
});
