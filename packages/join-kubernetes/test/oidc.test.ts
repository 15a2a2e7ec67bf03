import { createKubernetesJoinVerifier, type OidcVerifierOptions } from '@wid/join-kubernetes';
import {
  createFakeOidcIssuer,
  createFakeServiceAccountIssuer,
  type FakeOidcIssuer,
} from '@wid/join-kubernetes/testing';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALLOW, AUDIENCE, expectCode, manualClock } from './helpers.js';

let oidc: FakeOidcIssuer;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  clock = manualClock(Date.parse('2026-05-01T12:00:00Z'));
  oidc = await createFakeOidcIssuer({ clock });
});
afterEach(async () => {
  await oidc.close();
});

function verifier(extra: Partial<OidcVerifierOptions> = {}) {
  return createKubernetesJoinVerifier({
    type: 'oidc',
    issuer: oidc.url,
    audience: AUDIENCE,
    dispatcher: oidc.dispatcher(),
    clock,
    ...extra,
  });
}

describe('createKubernetesJoinVerifier oidc', () => {
  it('discovers the JWKS, verifies, and caches the keys', async () => {
    const v = verifier();
    await expect(v.verify(await oidc.tokens.sign(), { allow: ALLOW })).resolves.toMatchObject({
      service_account: { namespace: 'wid-system', name: 'wid-agent' },
    });
    await v.verify(await oidc.tokens.sign(), { allow: ALLOW });
    expect(oidc.fetches).toEqual({ discovery: 1, jwks: 1 });
  });

  it('re-fetches after jwksCacheSeconds', async () => {
    const v = verifier({ jwksCacheSeconds: 60 });
    await v.verify(await oidc.tokens.sign(), { allow: ALLOW });
    clock.advance(60_000);
    await v.verify(await oidc.tokens.sign(), { allow: ALLOW });
    expect(oidc.fetches.jwks).toBe(2);
  });

  it('follows key rotation at the issuer and stops trusting removed keys', async () => {
    const v = verifier({ minRefreshIntervalSeconds: 10 });
    const oldToken = await oidc.tokens.sign();
    await v.verify(oldToken, { allow: ALLOW });
    await oidc.tokens.rotate({ dropOld: true });
    clock.advance(10_000);
    // A token with the new kid: the verifier re-fetches the JWKS once and accepts it.
    await expect(v.verify(await oidc.tokens.sign(), { allow: ALLOW })).resolves.toBeDefined();
    expect(oidc.fetches.jwks).toBe(2);
    // The removed key is no longer trusted, and the refresh is rate limited (no new fetch within the interval).
    await expectCode(v.verify(oldToken, { allow: ALLOW }), 'ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID');
    expect(oidc.fetches.jwks).toBe(2);
  });

  it('refuses a token from another issuer', async () => {
    const e = await expectCode(
      verifier().verify(await oidc.tokens.sign({ claims: { iss: 'https://kubernetes.default.svc.cluster.local' } }), {
        allow: ALLOW,
      }),
      'ERR_WID_JOIN_KUBERNETES_WRONG_ISSUER',
    );
    expect(e['expected']).toBe(oidc.url);
    const stranger = await createFakeServiceAccountIssuer({ clock, issuer: oidc.url });
    await expectCode(verifier().verify(await stranger.sign(), { allow: ALLOW }), 'ERR_WID_JOIN_KUBERNETES_UNKNOWN_KID');
  });

  it('refuses a discovery document naming another issuer', async () => {
    oidc.discoveryOverride = { issuer: 'https://evil.example' };
    const e = await expectCode(
      verifier().verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
    );
    expect(e['actual']).toBe('https://evil.example');
  });

  it('refuses an http jwks_uri unless allowInsecureHttp', async () => {
    oidc.discoveryOverride = { jwks_uri: `http://localhost:1/openid/v1/jwks` };
    await expectCode(
      verifier().verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
    );
    expect(oidc.fetches.jwks).toBe(0);
    // Allowed: it is then fetched (and fails, nothing listens there).
    await expectCode(
      verifier({ allowInsecureHttp: true }).verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
    );
  });

  it('reports JWKS fetch failures with the status', async () => {
    oidc.jwksOverride = { status: 500, body: { error: 'x' } };
    const e = await expectCode(
      verifier().verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
    );
    expect(e['status']).toBe(500);
    oidc.jwksOverride = { status: 200, body: { nokeys: true } };
    await expectCode(
      verifier().verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
    );
  });

  it('bounds the size of fetched documents', async () => {
    oidc.jwksOverride = { status: 200, body: { keys: [], pad: 'x'.repeat(5000) } };
    await expectCode(
      verifier({ maxResponseBytes: 4096 }).verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_JWKS_FETCH_FAILED',
    );
  });

  it('does not trust an issuer whose certificate the dispatcher does not trust', async () => {
    await expectCode(
      verifier({ dispatcher: new Agent() }).verify(await oidc.tokens.sign(), { allow: ALLOW }),
      'ERR_WID_JOIN_KUBERNETES_OIDC_DISCOVERY_FAILED',
    );
    expect(oidc.fetches.discovery).toBe(0);
  });
});
