/**
 * @wid/join-iam: the AWS IAM join method (as Teleport's `iam` join). An agent proves which AWS role it runs as
 * without sending credentials: it signs an `sts:GetCallerIdentity` request that includes the server's one-time
 * challenge in a signed header; the server forwards that request unchanged to AWS STS and trusts STS's answer.
 *
 * - Agent: {@link createIamJoinClient} → `createJoinRequest(challenge)` → {@link serializeIamJoinRequest}.
 * - Server: {@link createIamJoinVerifier} → `createChallenge()`, then `verify({ challenge, request, allow })` →
 *   `{ account, arn }` (the `join.iam.*` attributes) or an {@link IamJoinError}.
 *
 * @example
 * // server
 * const verifier = createIamJoinVerifier();
 * const challenge = verifier.createChallenge();
 * // agent
 * const request = await createIamJoinClient({ region: 'eu-west-1' }).createJoinRequest(challenge);
 * // server
 * const iam = await verifier.verify({ challenge, request, allow: [{ aws_account: '123456789012' }] });
 */
export type { IamAllowMatcher, IamAllowRule } from './allow-rules.js';
export { compileIamAllowRules } from './allow-rules.js';
export type { IamChallengeStore, IamChallengeStoreOptions } from './challenge.js';
export { createIamChallenge, createIamChallengeStore, isIamChallenge } from './challenge.js';
export type { IamJoinErrorCode, IamJoinErrorFields } from './errors.js';
export { IamJoinError, JOIN_IAM_ERROR_CODES } from './errors.js';
export type { AwsCredentials, AwsCredentialsSource, IamJoinClient, IamJoinClientOptions } from './join-client.js';
export { createIamJoinClient } from './join-client.js';
export type { IamJoinRequest } from './join-request.js';
export {
  CHALLENGE_HEADER,
  GET_CALLER_IDENTITY_BODY,
  parseIamJoinRequest,
  serializeIamJoinRequest,
} from './join-request.js';
export type {
  IamJoinAttributes,
  IamJoinVerifier,
  IamJoinVerifierOptions,
  IamJoinVerifyInput,
} from './join-verifier.js';
export { createIamJoinVerifier } from './join-verifier.js';
export { DEFAULT_STS_HOSTS, stsHostForRegion } from './sts-hosts.js';
