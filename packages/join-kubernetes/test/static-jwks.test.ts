import { createKubernetesJoinVerifier, type KubernetesJoinVerifier } from '@wid/join-kubernetes';
import { createFakeServiceAccountIssuer, type FakeServiceAccountIssuer } from '@wid/join-kubernetes/testing';
import { base64url, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALLOW, AUDIENCE, expectCode, expectThrowCode } from './helpers.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const clock = { now: () => NOW };
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

let sa: FakeServiceAccountIssuer;
let other: FakeServiceAccountIssuer;
let verifier: KubernetesJoinVerifier;

beforeAll(async () => {
  sa = await createFakeServiceAccountIssuer({ clock });
  other = await createFakeServiceAccountIssuer({ clock, issuer: 'https://other.example' });
  verifier = createKubernetesJoinVerifier({
    type: 'static_jwks',
    jwks: JSON.stringify(sa.jwks()),
    audience: AUDIENCE,
    clock,
    clockToleranceSeconds: 0,
  });
});

const verify = (token: string, v = verifier) => v.verify(token, { allow: ALLOW });

describe('createKubernetesJoinVerifier static_jwks', () => {
  it('returns the join.kubernetes attributes of a valid projected token', async () => {
    const token = await sa.sign({ pod: { name: 'wid-agent-x1', uid: 'u1' } });
    await expect(verify(token)).resolves.toEqual({
      subject: 'system:serviceaccount:wid-system:wid-agent',
      service_account: { name: 'wid-agent', namespace: 'wid-system' },
      pod: { name: 'wid-agent-x1' },
    });
  });

  it('accepts a string aud and RS256 keys', async () => {
    const rsa = await createFakeServiceAccountIssuer({ clock, alg: 'RS256' });
    const v = createKubernetesJoinVerifier({ type: 'static_jwks', jwks: rsa.jwks(), audience: AUDIENCE, clock });
    await expect(verify(await rsa.sign({ audience: AUDIENCE }), v)).resolves.toBeDefined();
  });

  it('refuses an expired token, at exp exactly', async () => {
    const e = await expectCode(
      verify(await sa.sign({ issuedAt: at(-600), lifetimeSeconds: 600 })),
      'ERR_WID_JOIN_KUBERNETES_EXPIRED',
    );
    expect(e['actual']).toBe(NOW.getTime() / 1000);
    await expect(verify(await sa.sign({ issuedAt: at(-599), lifetimeSeconds: 600 }))).resolves.toBeDefined();
  });

  it('applies the clock tolerance', async () => {
    const lenient = createKubernetesJoinVerifier({
      type: 'static_jwks',
      jwks: sa.jwks(),
      audience: AUDIENCE,
      clock,
      clockToleranceSeconds: 30,
    });
    await expect(verify(await sa.sign({ issuedAt: at(-620), lifetimeSeconds: 600 }), lenient)).resolves.toBeDefined();
    await expectCode(
      verify(await sa.sign({ issuedAt: at(-630), lifetimeSeconds: 600 }), lenient),
      'ERR_WID_JOIN_KUBERNETES_EXPIRED',
    );
  });

  it('refuses a wrong or missing audience', async () => {
    const e = await expectCode(
      verify(await sa.sign({ audience: ['https://kubernetes.default.svc'] })),
      'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE',
    );
    expect(e['expected']).toBe(AUDIENCE);
    expect(e['actual']).toBe('https://kubernetes.default.svc');
    await expectCode(verify(await sa.sign({ audience: null })), 'ERR_WID_JOIN_KUBERNETES_WRONG_AUDIENCE');
    await expect(verify(await sa.sign({ audience: ['other', AUDIENCE] }))).resolves.toBeDefined();
  });

  it('refuses a token without exp or iat', async () => {
    await expectCode(verify(await sa.sign({ omit: ['exp'] })), 'ERR_WID_JOIN_KUBERNETES_MISSING_EXPIRY');
    await expectCode(verify(await sa.sign({ omit: ['iat'] })), 'ERR_WID_JOIN_KUBERNETES_MISSING_ISSUED_AT');
  });

  it('refuses a token that is not valid yet or issued in the future', async () => {
    await expectCode(
      verify(await sa.sign({ claims: { nbf: NOW.getTime() / 1000 + 60 } })),
      'ERR_WID_JOIN_KUBERNETES_NOT_YET_VALID',
    );
    await expectCode(
      verify(await sa.sign({ issuedAt: at(60), omit: ['nbf'] })),
      'ERR_WID_JOIN_KUBERNETES_ISSUED_IN_FUTURE',
    );
  });

  it('bounds the lifetime to 30 minutes (a default automounted token is refused)', async () => {
    await expect(verify(await sa.sign({ lifetimeSeconds: 1800 }))).resolves.toBeDefined();
    const e = await expectCode(
      verify(await sa.sign({ lifetimeSeconds: 3607 })),
      'ERR_WID_JOIN_KUBERNETES_LIFETIME_TOO_LONG',
    );
    expect(e['actual']).toBe(3607);
    const strict = createKubernetesJoinVerifier({
      type: 'static_jwks',
      jwks: sa.jwks(),
      audience: AUDIENCE,
      clock,
      maxTokenLifetimeSeconds: 600,
    });
    await expectCode(
      verify(await sa.sign({ lifetimeSeconds: 601 }), strict),
      'ERR_WID_JOIN_KUBERNETES_LIFETIME_TOO_LONG',
    );
  });

  it('refuses a token bound to no pod', async () => {
    await expectCode(verify(await sa.sign({ pod: null })), 'ERR_WID_JOIN_KUBERNETES_NOT_POD_BOUND');
  });

  it('refuses a subject that is not a service account or disagrees with the claims', async () => {
    await expectCode(
      verify(await sa.sign({ claims: { sub: 'system:node:node-1' } })),
      'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
    );
    await expectCode(
      verify(await sa.sign({ claims: { sub: 'system:serviceaccount:kube-system:wid-agent' } })),
      'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT',
    );
    await expectCode(verify(await sa.sign({ omit: ['sub'] })), 'ERR_WID_JOIN_KUBERNETES_BAD_SUBJECT');
  });

  it('checks the issuer when one is configured', async () => {
    const v = createKubernetesJoinVerifier({
      type: 'static_jwks',
      jwks: sa.jwks(),
      issuer: sa.issuer,
      audience: AUDIENCE,
      clock,
    });
    await expect(verify(await sa.sign(), v)).resolves.toBeDefined();
    const e = await expectCode(
      verify(await sa.sign({ claims: { iss: 'https://evil.example' } }), v),
      'ERR_WID_JOIN_KUBERNETES_WRONG_ISSUER',
    );
    expect(e['actual']).toBe('https://evil.example');
  });

  it('refuses a token signed by a key it does not know (unknown kid)', async () => {
    const e = await expectCode(verify(await other.sign()), 'ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID');
    expect(e['kid']).toBe(other.currentKid);
  });

  it('refuses a forged signature (right kid, wrong key) and a tampered payload', async () => {
    await expectCode(verify(await other.sign({ kid: sa.currentKid })), 'ERR_WID_JOIN_KUBERNETES_BAD_SIGNATURE');
    const [h, p, s] = (await sa.sign()).split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
    claims['kubernetes.io'].namespace = 'kube-system';
    claims.sub = 'system:serviceaccount:kube-system:wid-agent';
    await expectCode(
      verify(`${h}.${base64url.encode(JSON.stringify(claims))}.${s}`),
      'ERR_WID_JOIN_KUBERNETES_BAD_SIGNATURE',
    );
  });

  it('refuses alg none and HMAC tokens', async () => {
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', kid: sa.currentKid }))}.${base64url.encode('{}')}.`;
    await expectCode(verify(none), 'ERR_WID_JOIN_KUBERNETES_UNSUPPORTED_ALG');
    const hs = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: sa.currentKid })
      .sign(new Uint8Array(32));
    await expectCode(verify(hs), 'ERR_WID_JOIN_KUBERNETES_UNSUPPORTED_ALG');
  });

  it.each([['not-a-jwt'], ['a.b.c'], ['x'.repeat(20_000)]])('refuses a malformed token %#', async (token) => {
    await expectCode(verify(token), 'ERR_WID_JOIN_KUBERNETES_MALFORMED_TOKEN');
  });

  it('refuses a service account no rule names', async () => {
    const e = await expectCode(
      verify(await sa.sign({ serviceAccount: 'default' })),
      'ERR_WID_JOIN_KUBERNETES_NOT_ALLOWED',
    );
    expect([e['namespace'], e['serviceAccount']]).toEqual(['wid-system', 'default']);
    await expectCode(verifier.verify(await sa.sign(), { allow: [] }), 'ERR_WID_JOIN_KUBERNETES_BAD_RULES');
  });

  it.each([
    [{ type: 'static_jwks', jwks: '{', audience: AUDIENCE }, 'jwks'],
    [{ type: 'static_jwks', jwks: { nokeys: 1 }, audience: AUDIENCE }, 'jwks'],
    [{ type: 'static_jwks', jwks: { keys: [] }, audience: '' }, 'audience'],
    [
      { type: 'static_jwks', jwks: { keys: [] }, audience: AUDIENCE, maxTokenLifetimeSeconds: 1801 },
      'maxTokenLifetimeSeconds',
    ],
    [{ type: 'oidc', issuer: 'http://issuer.example', audience: AUDIENCE }, 'issuer'],
    [{ type: 'oidc', issuer: 'not a url', audience: AUDIENCE }, 'issuer'],
    [{ type: 'in_cluster', audience: AUDIENCE, env: {} }, 'apiServerUrl'],
    [{ type: 'in_cluster', audience: AUDIENCE, apiServerUrl: 'http://10.0.0.1' }, 'apiServerUrl'],
    [{ type: 'magic', audience: AUDIENCE }, 'type'],
  ])('rejects bad options %j', (options, key) => {
    const e = expectThrowCode(
      () => createKubernetesJoinVerifier(options as never),
      'ERR_WID_JOIN_KUBERNETES_BAD_OPTION',
    );
    expect(e['key']).toBe(key);
  });
});
