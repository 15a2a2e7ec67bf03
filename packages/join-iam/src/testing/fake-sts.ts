import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { checkSigV4 } from './sigv4-check.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from './tls.js';

/** An AWS identity the double knows: its credentials and what GetCallerIdentity answers for them. */
export interface FakeStsIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it in `x-amz-security-token` (temporary credentials). */
  readonly sessionToken?: string | undefined;
  /** The caller ARN; the account is taken from it. */
  readonly arn: string;
  /** Default: `AROA...:<session>`-like placeholder. */
  readonly userId?: string;
}

/** Known test credentials (AWS's documentation example key) for an assumed role in account 123456789012. */
export const FAKE_STS_IDENTITY: FakeStsIdentity = Object.freeze({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  arn: 'arn:aws:sts::123456789012:assumed-role/wid-agent/i-0123456789abcdef0',
  userId: 'AROAEXAMPLEROLEID:i-0123456789abcdef0',
});

/** A request the double received, with its verdict (`ok` or the STS error code it answered). */
export interface FakeStsRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly verdict: string;
}

/** A canned answer, `'hang'` to never answer, or `undefined` to answer as STS would. */
export type FakeStsResponse =
  | {
      status: number;
      /** A string or Buffer is sent with a content-length; an array is streamed chunk by chunk without one. */
      body: string | Buffer | readonly Buffer[];
      contentType?: string;
      headers?: Record<string, string>;
    }
  | 'hang'
  | undefined;

/** Options of {@link createFakeSts}. */
export interface FakeStsOptions {
  /** Credentials the double accepts. Default `[FAKE_STS_IDENTITY]`. */
  readonly identities?: readonly FakeStsIdentity[];
  /** The signing region the double insists on. Default `us-east-1` (the global endpoint's). */
  readonly region?: string;
  /** Time for the 15-minute skew check. Default: the system clock. */
  readonly clock?: { now(): Date };
}

/** A local HTTPS AWS STS double answering `GetCallerIdentity` after really verifying SigV4. */
export interface FakeSts {
  readonly port: number;
  /** `localhost:<port>`: the host to sign for and to allow in the verifier. */
  readonly host: string;
  /** PEM of the double's self-signed certificate (the CA to trust). */
  readonly ca: string;
  /** Every request received, in order. */
  readonly requests: FakeStsRequest[];
  /** Answer format: `auto` follows the `accept` header as STS does (JSON for `application/json`). Default `auto`. */
  format: 'auto' | 'json' | 'xml';
  /** Override hook, called after verification with the received request; return a response to replace STS's. */
  respond: ((request: FakeStsRequest) => FakeStsResponse) | undefined;
  /**
   * An undici dispatcher that trusts {@link ca}. With `routeAllHosts`, every connection goes to this double while
   * keeping the requested name for SNI and certificate checks, so requests to `sts.amazonaws.com` (a SAN of the
   * test certificate) reach it. Closed by {@link close}.
   */
  dispatcher(options?: { routeAllHosts?: boolean }): Agent;
  close(): Promise<void>;
}

function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function identityBody(
  identity: FakeStsIdentity,
  json: boolean,
  requestId: string,
): { body: string; contentType: string } {
  const account = identity.arn.split(':')[4] ?? '';
  const userId = identity.userId ?? 'AIDAEXAMPLEUSERID';
  if (json) {
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        GetCallerIdentityResponse: {
          GetCallerIdentityResult: { Account: account, Arn: identity.arn, UserId: userId },
          ResponseMetadata: { RequestId: requestId },
        },
      }),
    };
  }
  return {
    contentType: 'text/xml',
    body:
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
      '  <GetCallerIdentityResult>\n' +
      `    <Arn>${xmlEscape(identity.arn)}</Arn>\n` +
      `    <UserId>${xmlEscape(userId)}</UserId>\n` +
      `    <Account>${account}</Account>\n` +
      '  </GetCallerIdentityResult>\n' +
      '  <ResponseMetadata>\n' +
      `    <RequestId>${requestId}</RequestId>\n` +
      '  </ResponseMetadata>\n' +
      '</GetCallerIdentityResponse>\n',
  };
}

/** STS's error document, in the form the request asked for. */
export function fakeStsErrorBody(
  code: string,
  message: string,
  json: boolean,
  requestId: string = randomUUID(),
): { body: string; contentType: string } {
  const type = code === 'InternalFailure' ? 'Receiver' : 'Sender';
  if (json) {
    return {
      contentType: 'application/json',
      body: JSON.stringify({ Error: { Code: code, Message: message, Type: type }, RequestId: requestId }),
    };
  }
  return {
    contentType: 'text/xml',
    body:
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
      `  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n` +
      `    <Message>${xmlEscape(message)}</Message>\n  </Error>\n` +
      `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

/**
 * Starts an STS double on 127.0.0.1 over HTTPS with the test certificate.
 *
 * @example
 * const sts = await createFakeSts();
 * const verifier = createIamJoinVerifier({ allowedHosts: [sts.host], dispatcher: sts.dispatcher() });
 * const client = createIamJoinClient({ credentials: FAKE_STS_IDENTITY, stsHost: sts.host });
 * await sts.close();
 */
export async function createFakeSts(options: FakeStsOptions = {}): Promise<FakeSts> {
  const identities = options.identities ?? [FAKE_STS_IDENTITY];
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? { now: () => new Date() };
  const requests: FakeStsRequest[] = [];
  const agents: Agent[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const accept = req.headers.accept ?? '';
    const json = fake.format === 'auto' ? accept.includes('application/json') : fake.format === 'json';
    const requestId = randomUUID();
    const headers: Record<string, readonly string[]> = {};
    for (const [name, values] of Object.entries(req.headersDistinct)) if (values) headers[name] = values;
    const check = checkSigV4({ method: req.method ?? '', target: req.url ?? '', headers, body }, identities, {
      service: 'sts',
      region,
      now: clock.now(),
    });
    let status = 200;
    let answer: { body: string | Buffer | readonly Buffer[]; contentType: string };
    let extraHeaders: Record<string, string> = {};
    let verdict = 'ok';
    const form = new URLSearchParams(body.toString('utf8'));
    if (!check.ok) {
      status = check.status;
      verdict = check.code;
      answer = fakeStsErrorBody(check.code, check.message, json, requestId);
    } else if (req.method !== 'POST' || form.get('Action') !== 'GetCallerIdentity') {
      status = 400;
      verdict = 'InvalidAction';
      answer = fakeStsErrorBody('InvalidAction', 'Could not find operation for this request', json, requestId);
    } else if (form.get('Version') !== '2011-06-15') {
      status = 400;
      verdict = 'InvalidAction';
      answer = fakeStsErrorBody('InvalidAction', 'Unsupported API version', json, requestId);
    } else {
      answer = identityBody(check.credential, json, requestId);
    }
    const flat: Record<string, string> = {};
    for (const [name, values] of Object.entries(headers)) flat[name] = values.join(', ');
    const received: FakeStsRequest = {
      method: req.method ?? '',
      target: req.url ?? '',
      headers: flat,
      body: body.toString('utf8'),
      verdict,
    };
    requests.push(received);
    const override = fake.respond?.(received);
    if (override === 'hang') return;
    if (override !== undefined) {
      status = override.status;
      answer = { body: override.body, contentType: override.contentType ?? answer.contentType };
      extraHeaders = override.headers ?? {};
    }
    res.writeHead(status, { 'content-type': answer.contentType, 'x-amzn-requestid': requestId, ...extraHeaders });
    if (Array.isArray(answer.body)) {
      for (const chunk of answer.body) res.write(chunk);
      res.end();
    } else {
      res.end(answer.body as string | Buffer);
    }
  };

  const server: Server = createServer({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const fake: FakeSts = {
    port,
    host: `localhost:${port}`,
    ca: TEST_TLS_CERT,
    requests,
    respond: undefined,
    format: 'auto',
    dispatcher(opts = {}) {
      const connector = buildConnector({ ca: TEST_TLS_CERT });
      const agent =
        opts.routeAllHosts === true
          ? new Agent({
              connect: (connectOptions, callback) =>
                connector(
                  { ...connectOptions, hostname: '127.0.0.1', port: String(port), servername: connectOptions.hostname },
                  callback,
                ),
            })
          : new Agent({ connect: { ca: TEST_TLS_CERT } });
      agents.push(agent);
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.destroy().catch(() => {})));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
