// Validation of a DecideRequest: a malformed request is the caller's bug and throws; it never widens selection.
import { DEFAULT_MAX_IDENTITIES, type DecideRequest } from '../decision.js';
import { RuleEngineError } from '../errors.js';

export interface NormalizedRequest {
  readonly names: readonly string[] | undefined;
  readonly selector: Readonly<Record<string, readonly string[]>> | undefined;
  readonly ttlSeconds: number | undefined;
  readonly svidType: 'x509' | 'jwt';
  readonly maxIdentities: number;
}

function bad(message: string, input?: string): never {
  throw new RuleEngineError('ERR_WID_RULE_INVALID_REQUEST', message, { input });
}

function positiveInt(v: unknown, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    bad(`${key} must be a positive integer, got ${String(v)}`);
  return v;
}

export function normalizeRequest(request: DecideRequest, setMax: number | undefined): NormalizedRequest {
  if (request === null || typeof request !== 'object') bad('the request must be an object');
  const { names, labelSelectors } = request;
  let nameList: string[] | undefined;
  if (names !== undefined) {
    if (!Array.isArray(names)) bad('names must be a list of resource names');
    for (const n of names) if (typeof n !== 'string' || n === '') bad('every name must be a non-empty string');
    if (names.length > 0) nameList = [...new Set<string>(names)];
  }
  let selector: Record<string, readonly string[]> | undefined;
  if (labelSelectors !== undefined) {
    if (labelSelectors === null || typeof labelSelectors !== 'object' || Array.isArray(labelSelectors)) {
      bad('labelSelectors must be a map of label name to a list of values');
    }
    const entries = Object.entries(labelSelectors);
    for (const [key, values] of entries) {
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string')) {
        bad(`labelSelectors.${key} must be a non-empty list of strings`, key);
      }
      if (key === '*' && (values.length !== 1 || values[0] !== '*')) {
        bad('the wildcard label key "*" only takes the value "*"', key);
      }
    }
    if (entries.length > 0) selector = Object.fromEntries(entries);
  }
  if (nameList !== undefined && selector !== undefined) {
    bad('select by names or by labelSelectors, not both (as tbot: a selector has a name or labels)');
  }
  if (nameList === undefined && selector === undefined) {
    throw new RuleEngineError(
      'ERR_WID_RULE_NO_SELECTOR',
      'the request selects no identities: give names or labelSelectors (selecting nothing is an error, not "everything")',
    );
  }
  const svidType = request.svidType ?? 'x509';
  if (svidType !== 'x509' && svidType !== 'jwt') bad(`svidType must be "x509" or "jwt", got ${String(svidType)}`);
  return {
    names: nameList,
    selector,
    ttlSeconds: positiveInt(request.ttlSeconds, 'ttlSeconds'),
    svidType,
    maxIdentities: positiveInt(request.maxIdentities, 'maxIdentities') ?? setMax ?? DEFAULT_MAX_IDENTITIES,
  };
}
