/**
 * @wid/join-iam/testing: test doubles for the IAM join method, for this package's tests and for servers that embed
 * the verifier.
 *
 * - {@link createFakeSts}: an HTTPS AWS STS double on 127.0.0.1 that verifies SigV4 independently (node:crypto) and
 *   answers GetCallerIdentity in STS's JSON or XML form.
 * - {@link TEST_TLS_CERT} / {@link TEST_TLS_KEY}: the self-signed loopback certificate the double serves.
 *
 * @example
 * import { createFakeSts, FAKE_STS_IDENTITY } from '@wid/join-iam/testing';
 * const sts = await createFakeSts();
 */
export type { FakeSts, FakeStsIdentity, FakeStsOptions, FakeStsRequest, FakeStsResponse } from './fake-sts.js';
export { createFakeSts, FAKE_STS_IDENTITY, fakeStsErrorBody } from './fake-sts.js';
export type { SigV4CheckCredential, SigV4CheckRequest, SigV4CheckResult } from './sigv4-check.js';
export { checkSigV4 } from './sigv4-check.js';
export { TEST_TLS_CERT, TEST_TLS_KEY } from './tls.js';
