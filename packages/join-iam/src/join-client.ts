import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { isIamChallenge } from './challenge.js';
import { IamJoinError } from './errors.js';
import { CHALLENGE_HEADER, GET_CALLER_IDENTITY_BODY, type IamJoinRequest } from './join-request.js';
import { stsHostForRegion } from './sts-hosts.js';

/** AWS credentials as the SDK's credential providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Something that yields AWS credentials: a value, or a provider such as `fromNodeProviderChain()`. */
export type AwsCredentialsSource = AwsCredentials | (() => Promise<AwsCredentials>);

/** Options of {@link createIamJoinClient}. Every field is optional. */
export interface IamJoinClientOptions {
  /**
   * Where the agent's AWS credentials come from. Default: `fromNodeProviderChain()` of
   * `@aws-sdk/credential-providers` (environment, shared files, SSO, IRSA web identity, ECS/EKS container
   * credentials, IMDSv2), created on first use and memoized by the SDK.
   */
  readonly credentials?: AwsCredentialsSource;
  /** STS region to sign for, e.g. `eu-west-1` (regional endpoint). Default: the global endpoint (`us-east-1`). */
  readonly region?: string;
  /** Use the FIPS endpoint of `region`. Default `false`. */
  readonly fips?: boolean;
  /**
   * STS host (and port) to put in the signed request, overriding the one derived from `region`. The server only
   * forwards to hosts in its allow list, so this is for tests and private deployments.
   */
  readonly stsHost?: string;
  /** Time source for the signature date. Default: the system clock. */
  readonly clock?: { now(): Date };
}

/** The agent half of the IAM join method. */
export interface IamJoinClient {
  /** The STS host requests are signed for. */
  readonly stsHost: string;
  /**
   * Signs `sts:GetCallerIdentity` with the `x-wid-challenge` header among the signed headers and returns it as plain
   * values (see {@link serializeIamJoinRequest}). Fetches credentials on every call (providers cache them).
   */
  createJoinRequest(challenge: string, signal?: AbortSignal): Promise<IamJoinRequest>;
}

/**
 * Creates the agent half of the IAM join method.
 *
 * @example
 * const client = createIamJoinClient({ region: 'eu-west-1' });
 * const request = await client.createJoinRequest(challengeFromServer);
 * send(serializeIamJoinRequest(request));
 */
export function createIamJoinClient(options: IamJoinClientOptions = {}): IamJoinClient {
  const clock = options.clock ?? { now: () => new Date() };
  const source = options.credentials;
  let provider: () => Promise<AwsCredentials>;
  if (source === undefined) {
    let chain: (() => Promise<AwsCredentials>) | undefined;
    provider = async () => {
      if (chain === undefined) {
        const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
        chain = fromNodeProviderChain();
      }
      return chain();
    };
  } else if (typeof source === 'function') {
    provider = source;
  } else if (typeof source === 'object' && source !== null) {
    provider = async () => source;
  } else {
    throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_OPTION', 'credentials must be an object or a provider function', {
      key: 'credentials',
    });
  }
  if (options.stsHost !== undefined && !/^[a-z0-9.-]+(?::\d{1,5})?$/.test(options.stsHost)) {
    throw new IamJoinError(
      'ERR_WID_JOIN_IAM_BAD_OPTION',
      `stsHost "${options.stsHost}" is not a lowercase host[:port]`,
      {
        key: 'stsHost',
        input: options.stsHost,
      },
    );
  }
  const host = options.stsHost ?? stsHostForRegion(options.region, { fips: options.fips === true });
  const signingRegion = options.region ?? 'us-east-1';

  return {
    stsHost: host,
    async createJoinRequest(challenge, signal) {
      if (!isIamChallenge(challenge)) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_BAD_CHALLENGE',
          'the challenge is not 43 characters of unpadded base64',
        );
      }
      signal?.throwIfAborted();
      let credentials: AwsCredentials;
      try {
        credentials = await provider();
      } catch (cause) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_NO_CREDENTIALS',
          'no AWS credentials were found for the join',
          {},
          { cause },
        );
      }
      if (signal?.aborted) throw new IamJoinError('ERR_WID_JOIN_IAM_ABORTED', 'the join was aborted');
      const signer = new SignatureV4({
        credentials,
        region: signingRegion,
        service: 'sts',
        sha256: Hash.bind(null, 'sha256'),
      });
      const request = new HttpRequest({
        method: 'POST',
        protocol: 'https:',
        hostname: host,
        path: '/',
        headers: {
          host,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          accept: 'application/json',
          [CHALLENGE_HEADER]: challenge,
        },
        body: GET_CALLER_IDENTITY_BODY,
      });
      let signed: HttpRequest;
      try {
        signed = (await signer.sign(request, {
          signingDate: clock.now(),
          // Explicit, although SigV4 signs every non-excluded header: the challenge must be covered by the signature.
          signableHeaders: new Set(['host', CHALLENGE_HEADER]),
        })) as HttpRequest;
      } catch (cause) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_SIGNING_FAILED',
          'signing sts:GetCallerIdentity failed',
          {},
          { cause },
        );
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
      return Object.freeze({
        method: 'POST',
        path: '/',
        headers: Object.freeze(headers),
        body: GET_CALLER_IDENTITY_BODY,
      });
    },
  };
}
