import { IamJoinError, shorten } from '../errors.js';

/** What a successful GetCallerIdentity says. */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string | undefined;
}

const ACCOUNT = /^\d{12}$/;
// arn:<partition>:<iam|sts>::<account>:<resource>; partitions aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...
const ARN = /^arn:aws(?:-[a-z]+(?:-[a-z]+)*)?:(?:iam|sts)::(\d{12}):[\x21-\x7e]{1,2000}$/;

function badResponse(host: string, message: string): IamJoinError {
  return new IamJoinError('ERR_WID_JOIN_IAM_STS_BAD_RESPONSE', message, { host });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/** The text of the only `<name>` element inside `xml`; undefined when absent, throws when repeated. */
function onlyElement(xml: string, name: string, host: string): string | undefined {
  const re = new RegExp(`<${name}>([^<]*)</${name}>`, 'g');
  const matches = [...xml.matchAll(re)];
  if (matches.length > 1) throw badResponse(host, `the STS answer has ${matches.length} <${name}> elements`);
  const text = matches[0]?.[1];
  return text === undefined ? undefined : decodeXmlText(text).trim();
}

function fromXml(text: string, host: string): { account: unknown; arn: unknown; userId: unknown } {
  const result = /<GetCallerIdentityResult>([\s\S]*?)<\/GetCallerIdentityResult>/.exec(text);
  if (result === null || !/^\s*<GetCallerIdentityResponse[\s>]/.test(text.replace(/^<\?xml[^>]*\?>/, ''))) {
    throw badResponse(host, 'the STS answer is not a GetCallerIdentityResponse');
  }
  const inner = result[1]!;
  return {
    account: onlyElement(inner, 'Account', host),
    arn: onlyElement(inner, 'Arn', host),
    userId: onlyElement(inner, 'UserId', host),
  };
}

function fromJson(text: string, host: string): { account: unknown; arn: unknown; userId: unknown } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw badResponse(host, 'the STS answer is not valid JSON');
  }
  const result = (doc as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, unknown> } } | null)
    ?.GetCallerIdentityResponse?.GetCallerIdentityResult;
  if (typeof result !== 'object' || result === null) {
    throw badResponse(host, 'the STS answer has no GetCallerIdentityResponse.GetCallerIdentityResult');
  }
  return { account: result['Account'], arn: result['Arn'], userId: result['UserId'] };
}

/** Parses a 200 GetCallerIdentity answer in STS's JSON (`Accept: application/json`) or XML form. */
export function parseCallerIdentity(text: string, host: string): CallerIdentity {
  const trimmed = text.trimStart();
  const raw = trimmed.startsWith('{') ? fromJson(trimmed, host) : fromXml(trimmed, host);
  if (typeof raw.account !== 'string' || !ACCOUNT.test(raw.account)) {
    throw badResponse(host, `the STS answer has no 12-digit Account (got "${shorten(String(raw.account))}")`);
  }
  const arnMatch = typeof raw.arn === 'string' ? ARN.exec(raw.arn) : null;
  if (arnMatch === null) throw badResponse(host, `the STS answer has no valid Arn (got "${shorten(String(raw.arn))}")`);
  if (arnMatch[1] !== raw.account) {
    throw badResponse(host, `the STS answer's Arn is in account ${arnMatch[1]}, not its Account ${raw.account}`);
  }
  return {
    account: raw.account,
    arn: raw.arn as string,
    userId: typeof raw.userId === 'string' ? raw.userId : undefined,
  };
}

/** The error code of an STS error answer (`SignatureDoesNotMatch`, ...), in JSON or XML; undefined if none. */
export function parseStsErrorCode(text: string): string | undefined {
  const trimmed = text.trimStart();
  let code: unknown;
  if (trimmed.startsWith('{')) {
    try {
      const doc = JSON.parse(trimmed) as { Error?: { Code?: unknown }; ErrorResponse?: { Error?: { Code?: unknown } } };
      code = doc.Error?.Code ?? doc.ErrorResponse?.Error?.Code;
    } catch {
      return undefined;
    }
  } else {
    code = /<Error>[\s\S]*?<Code>([^<]{1,128})<\/Code>/.exec(trimmed)?.[1];
  }
  return typeof code === 'string' && /^[A-Za-z0-9.:_-]{1,128}$/.test(code) ? code : undefined;
}
