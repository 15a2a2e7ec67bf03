import { IamJoinError, shorten } from './errors.js';
import { globMatch } from './internal/glob.js';

/**
 * One `allow` rule of an IAM join token (Teleport's shape). A caller matches when every field given matches:
 * `aws_account` exactly, `aws_arn` as a glob where `*` is any run of characters and `?` one character, anchored at
 * both ends (no other character is special). A rule must give at least one field.
 */
export interface IamAllowRule {
  /** 12-digit AWS account ID, compared exactly. */
  readonly aws_account?: string;
  /** ARN glob, e.g. `arn:aws:sts::123456789012:assumed-role/wid-agent/*`. */
  readonly aws_arn?: string;
}

/** Compiled allow rules: returns the index of the first matching rule, or -1. */
export type IamAllowMatcher = (identity: { readonly account: string; readonly arn: string }) => number;

const ACCOUNT = /^\d{12}$/;
const RULE_KEYS = new Set(['aws_account', 'aws_arn']);

function bad(message: string, index: number | undefined, key?: string): IamJoinError {
  return new IamJoinError('ERR_WID_JOIN_IAM_BAD_RULES', message, { index, key });
}

/**
 * Validates and compiles `allow` rules once. Throws `ERR_WID_JOIN_IAM_BAD_RULES` for an empty list, a rule with
 * no field, an unknown key (a typo must not widen a rule) or a malformed account.
 *
 * @example
 * const match = compileIamAllowRules([{ aws_account: '123456789012', aws_arn: 'arn:aws:sts::123456789012:assumed-role/agent/*' }]);
 * match({ account: '123456789012', arn: 'arn:aws:sts::123456789012:assumed-role/agent/i-0abc' }); // 0
 */
export function compileIamAllowRules(rules: readonly IamAllowRule[]): IamAllowMatcher {
  if (!Array.isArray(rules) || rules.length === 0) {
    throw bad('allow rules must be a non-empty array; an empty list would admit nobody', undefined);
  }
  const compiled = rules.map((rule: unknown, index) => {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      throw bad(`allow rule ${index} is not an object`, index);
    }
    for (const key of Object.keys(rule)) {
      if (!RULE_KEYS.has(key))
        throw bad(`allow rule ${index} has unknown key "${key}"; use aws_account, aws_arn`, index, key);
    }
    const { aws_account: account, aws_arn: arn } = rule as Record<string, unknown>;
    if (account === undefined && arn === undefined) {
      throw bad(`allow rule ${index} sets neither aws_account nor aws_arn; it would admit every AWS identity`, index);
    }
    if (account !== undefined && (typeof account !== 'string' || !ACCOUNT.test(account))) {
      throw bad(
        `allow rule ${index}: aws_account "${shorten(String(account))}" is not 12 digits`,
        index,
        'aws_account',
      );
    }
    if (arn !== undefined && (typeof arn !== 'string' || arn.length === 0 || arn.length > 2048)) {
      throw bad(`allow rule ${index}: aws_arn must be a non-empty string of at most 2048 characters`, index, 'aws_arn');
    }
    return { account: account as string | undefined, arn: arn as string | undefined };
  });
  return (identity) =>
    compiled.findIndex(
      (r) =>
        (r.account === undefined || r.account === identity.account) &&
        (r.arn === undefined || globMatch(r.arn, identity.arn)),
    );
}
