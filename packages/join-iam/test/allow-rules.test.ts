import { compileIamAllowRules } from '@wid/join-iam';
import { describe, expect, it } from 'vitest';
import { expectThrowCode } from './helpers.js';

const ID = { account: '123456789012', arn: 'arn:aws:sts::123456789012:assumed-role/wid-agent/i-0abc' };

describe('compileIamAllowRules', () => {
  it.each([
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/i-0abc', true],
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/*', true],
    ['arn:aws:sts::*:assumed-role/*', true],
    ['*', true],
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/i-0ab?', true],
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/i-0ab', false], // anchored at the end
    ['aws:sts::123456789012:assumed-role/wid-agent/i-0abc', false], // anchored at the start
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/i-0abc?', false], // ? is exactly one character
    ['arn:aws:sts::123456789012:assumed-role/wid.agent/*', false], // . is literal, not a regex wildcard
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/.*', false],
    ['arn:aws:sts::123456789012:assumed-role/(wid-agent|x)/*', false],
    ['arn:aws:sts::123456789012:assumed-role/[w]id-agent/*', false],
    ['arn:aws:sts::123456789012:assumed-role/wid-agent/i-0abc*', true],
    ['arn:aws:sts::123456789012:*/*/*', true],
    ['arn:aws:sts::123456789012:*/*/*/*', false],
  ])('aws_arn %s matches: %s', (pattern, matches) => {
    expect(compileIamAllowRules([{ aws_arn: pattern }])(ID) === 0).toBe(matches);
  });

  it('treats regex metacharacters literally', () => {
    const arn = 'arn:aws:iam::123456789012:user/a.b+c(d)[e]^$|\\';
    expect(compileIamAllowRules([{ aws_arn: arn }])({ account: ID.account, arn })).toBe(0);
    expect(
      compileIamAllowRules([{ aws_arn: 'arn:aws:iam::123456789012:user/a.b+c(d)[e]^$|\\' }])({
        ...ID,
        arn: 'arn:aws:iam::123456789012:user/aXb+c(d)[e]^$|\\',
      }),
    ).toBe(-1);
  });

  it('compares the account exactly and requires every given field', () => {
    expect(compileIamAllowRules([{ aws_account: '123456789012' }])(ID)).toBe(0);
    expect(compileIamAllowRules([{ aws_account: '123456789013' }])(ID)).toBe(-1);
    expect(compileIamAllowRules([{ aws_account: '210987654321', aws_arn: '*' }])(ID)).toBe(-1);
    expect(compileIamAllowRules([{ aws_account: '210987654321' }, { aws_account: '123456789012' }])(ID)).toBe(1);
  });

  it('handles pathological patterns without regex backtracking', () => {
    const pattern = `${'*a'.repeat(50)}b`;
    expect(compileIamAllowRules([{ aws_arn: pattern }])({ ...ID, arn: 'a'.repeat(2000) })).toBe(-1);
  });

  it.each([
    [[], undefined, undefined],
    [[null], 0, undefined],
    [[{}], 0, undefined],
    [[{ aws_account: '123456789012' }, { aws_acount: '123456789012', aws_arn: '*' }], 1, 'aws_acount'],
    [[{ aws_account: '1234' }], 0, 'aws_account'],
    [[{ aws_account: 123456789012 }], 0, 'aws_account'],
    [[{ aws_arn: '' }], 0, 'aws_arn'],
  ])('rejects bad rules %j', (rules, index, key) => {
    const e = expectThrowCode(() => compileIamAllowRules(rules as never), 'ERR_WID_JOIN_IAM_BAD_RULES');
    expect(e['index']).toBe(index);
    expect(e['key']).toBe(key);
  });
});
