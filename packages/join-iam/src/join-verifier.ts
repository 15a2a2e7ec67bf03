import { type Dispatcher, request as undiciRequest } from 'undici';
import { compileIamAllowRules, type IamAllowRule } from './allow-rules.js';
import { createIamChallengeStore, type IamChallengeStore } from './challenge.js';
import { IamJoinError, shorten } from './errors.js';
import { parseSigV4Authorization } from './internal/authorization.js';
import { parseCallerIdentity, parseStsErrorCode } from './internal/sts-response.js';
import {
  CHALLENGE_HEADER,
  GET_CALLER_IDENTITY_BODY,
  type IamJoinRequest,
  parseIamJoinRequest,
} from './join-request.js';
import { DEFAULT_STS_HOSTS } from './sts-hosts.js';

/** What a verified IAM join proves; the server publishes it as `join.iam.*`. */
export interface IamJoinAttributes {
  /** The caller's 12-digit AWS account ID. */
  readonly account: string;
  /** The caller's ARN as STS reports it (an assumed role shows as `arn:aws:sts::<acct>:assumed-role/<role>/<session>`). */
  readonly arn: string;
}

/** Options of {@link createIamJoinVerifier}. Every field is optional. */
export interface IamJoinVerifierOptions {
  /**
   * STS hosts (`host` or `host:port`, lowercase) signed requests may name; only these are ever contacted.
   * Default {@link DEFAULT_STS_HOSTS}.
   */
  readonly allowedHosts?: readonly string[];
  /** undici dispatcher for the call to STS (proxy, CA, connection limits). Default: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher;
  /** Overall limit for the STS round trip, in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
  /** Largest STS answer read, in bytes. Default 65536. */
  readonly maxResponseBytes?: number;
  /** Time source for challenge expiry. Default: the system clock. */
  readonly clock?: { now(): Date };
  /** How long an issued challenge may be redeemed, in seconds. Default 300. */
  readonly challengeTtlSeconds?: number;
  /** Most challenges outstanding at once (the oldest is evicted beyond it). Default 10000. */
  readonly maxPendingChallenges?: number;
  /** Use this challenge store instead of creating one (e.g. shared by several verifiers). */
  readonly challenges?: IamChallengeStore;
}

/** Input of {@link IamJoinVerifier.verify}. */
export interface IamJoinVerifyInput {
  /** The challenge this join attempt was given (from `createChallenge()`); redeemed by this call, pass or fail. */
  readonly challenge: string;
  /** The agent's signed request, as JSON text or the parsed object. */
  readonly request: string | IamJoinRequest;
  /** The join token's allow rules; the caller must match one. */
  readonly allow: readonly IamAllowRule[];
}

/** The server half of the IAM join method. */
export interface IamJoinVerifier {
  /** Issues a single-use challenge for one join attempt. */
  createChallenge(): string;
  /**
   * Checks the signed request, has STS answer it, and matches the identity against `allow`. Resolves to the
   * `join.iam.*` attributes or rejects with an {@link IamJoinError} whose code names the failed check.
   */
  verify(input: IamJoinVerifyInput, signal?: AbortSignal): Promise<IamJoinAttributes>;
  /** Challenges issued and not yet redeemed or swept. */
  readonly pendingChallenges: number;
}

function positive(value: number | undefined, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_OPTION', `${key} must be a positive integer, got ${String(value)}`, {
      key,
    });
  }
  return value;
}

const HOST = /^[a-z0-9.-]+(?::\d{1,5})?$/;

/**
 * Creates the server half of the IAM join method (Teleport's `iam` join): the agent signs `sts:GetCallerIdentity`
 * with the server's challenge in a signed header; the server checks the request, forwards it unchanged to STS and
 * trusts STS's answer about who signed it.
 *
 * @example
 * const verifier = createIamJoinVerifier();
 * const challenge = verifier.createChallenge();          // send to the agent
 * const { account, arn } = await verifier.verify({
 *   challenge,
 *   request: requestFromAgent,
 *   allow: [{ aws_account: '123456789012', aws_arn: 'arn:aws:sts::123456789012:assumed-role/wid-agent/*' }],
 * });
 */
export function createIamJoinVerifier(options: IamJoinVerifierOptions = {}): IamJoinVerifier {
  const allowed = options.allowedHosts ?? DEFAULT_STS_HOSTS;
  if (!Array.isArray(allowed) || allowed.length === 0 || allowed.some((h) => typeof h !== 'string' || !HOST.test(h))) {
    throw new IamJoinError(
      'ERR_WID_JOIN_IAM_BAD_OPTION',
      'allowedHosts must be a non-empty list of lowercase host or host:port strings',
      { key: 'allowedHosts' },
    );
  }
  const allowedHosts = new Set(allowed);
  const timeoutMs = positive(options.timeoutMs, 'timeoutMs', 10_000);
  const maxResponseBytes = positive(options.maxResponseBytes, 'maxResponseBytes', 64 * 1024);
  const challenges =
    options.challenges ??
    createIamChallengeStore({
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.challengeTtlSeconds !== undefined ? { ttlSeconds: options.challengeTtlSeconds } : {}),
      ...(options.maxPendingChallenges !== undefined ? { maxEntries: options.maxPendingChallenges } : {}),
    });
  const dispatcher = options.dispatcher;

  async function callSts(host: string, req: IamJoinRequest, signal: AbortSignal | undefined): Promise<string> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const url = `https://${host}/`;
    let status: number;
    let text: string;
    try {
      const response = await undiciRequest(url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: combined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(dispatcher ? { dispatcher } : {}),
      });
      status = response.statusCode;
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxResponseBytes) {
        response.body.destroy();
        throw tooLarge(host);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > maxResponseBytes) {
          response.body.destroy();
          throw tooLarge(host);
        }
        chunks.push(chunk as Buffer);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch (cause) {
      if (cause instanceof IamJoinError) throw cause;
      if (signal?.aborted)
        throw new IamJoinError('ERR_WID_JOIN_IAM_ABORTED', 'the join was aborted', { host }, { cause });
      if (timeout.aborted || isTimeout(cause)) {
        throw new IamJoinError('ERR_WID_JOIN_IAM_STS_TIMEOUT', `STS at ${host} did not answer within ${timeoutMs} ms`, {
          host,
        });
      }
      throw new IamJoinError('ERR_WID_JOIN_IAM_STS_UNREACHABLE', `could not reach STS at ${host}`, { host }, { cause });
    }
    if (status !== 200) {
      const stsCode = parseStsErrorCode(text);
      throw new IamJoinError(
        'ERR_WID_JOIN_IAM_STS_REJECTED',
        `STS at ${host} answered ${status}${stsCode ? ` ${stsCode}` : ''}`,
        { host, status, stsCode },
      );
    }
    return text;
  }

  return {
    createChallenge: () => challenges.issue(),
    get pendingChallenges() {
      return challenges.size;
    },
    async verify(input, signal) {
      // Redeem first: a challenge is spent by any attempt, successful or not.
      challenges.consume(input.challenge);
      const match = compileIamAllowRules(input.allow);
      const req = parseIamJoinRequest(input.request);
      const host = req.headers['host'];
      if (host === undefined || !allowedHosts.has(host)) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_HOST_NOT_ALLOWED',
          `host "${shorten(String(host))}" is not an allowed STS endpoint`,
          { host, input: host === undefined ? undefined : shorten(host) },
        );
      }
      if (req.method !== 'POST') {
        throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_METHOD', `method "${shorten(req.method)}" is not POST`, {
          input: shorten(req.method),
        });
      }
      if (req.path !== '/') {
        throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_PATH', `path "${shorten(req.path)}" is not "/"`, {
          input: shorten(req.path),
        });
      }
      if (req.body !== GET_CALLER_IDENTITY_BODY) {
        throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_BODY', `body "${shorten(req.body)}" is not GetCallerIdentity`, {
          input: shorten(req.body),
        });
      }
      const sent = req.headers[CHALLENGE_HEADER];
      if (sent === undefined) {
        throw new IamJoinError('ERR_WID_JOIN_IAM_CHALLENGE_MISSING', `the request has no ${CHALLENGE_HEADER} header`);
      }
      if (sent !== input.challenge) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_CHALLENGE_MISMATCH',
          `${CHALLENGE_HEADER} is not this join's challenge`,
        );
      }
      const { signedHeaders } = parseSigV4Authorization(req.headers['authorization']);
      if (!signedHeaders.includes(CHALLENGE_HEADER)) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_CHALLENGE_NOT_SIGNED',
          `${CHALLENGE_HEADER} is not among the signed headers (${signedHeaders.join(';')})`,
        );
      }
      if (!signedHeaders.includes('host')) {
        throw new IamJoinError('ERR_WID_JOIN_IAM_BAD_AUTHORIZATION', 'host is not among the signed headers');
      }
      const text = await callSts(host, req, signal);
      const identity = parseCallerIdentity(text, host);
      if (match(identity) === -1) {
        throw new IamJoinError(
          'ERR_WID_JOIN_IAM_NOT_ALLOWED',
          `AWS identity ${identity.arn} (account ${identity.account}) matches no allow rule`,
          { account: identity.account, arn: identity.arn },
        );
      }
      return Object.freeze({ account: identity.account, arn: identity.arn });
    },
  };
}

function tooLarge(host: string): IamJoinError {
  return new IamJoinError('ERR_WID_JOIN_IAM_STS_RESPONSE_TOO_LARGE', `the answer of ${host} is too large`, { host });
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    name === 'TimeoutError'
  );
}
