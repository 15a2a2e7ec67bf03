import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IamJoinError, JOIN_IAM_ERROR_CODES } from '@wid/join-iam';
import { isWidError } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('JOIN_IAM_ERROR_CODES', () => {
  it('documents every code the sources use, each with advice', () => {
    const used = new Set(
      sources(srcDir).flatMap((f) => readFileSync(f, 'utf8').match(/ERR_WID_JOIN_IAM_[A-Z_]+/g) ?? []),
    );
    for (const code of used) expect(JOIN_IAM_ERROR_CODES, code).toHaveProperty(code);
    for (const [code, advice] of Object.entries(JOIN_IAM_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_WID_JOIN_IAM_[A-Z_]+$/);
      expect(advice.length).toBeGreaterThan(20);
    }
  });

  it('errors are WidErrors with structured fields', () => {
    const e = new IamJoinError('ERR_WID_JOIN_IAM_NOT_ALLOWED', 'no', { account: '1', arn: 'a' });
    expect(isWidError(e, 'ERR_WID_JOIN_IAM_NOT_ALLOWED')).toBe(true);
    expect(e.joinMethod).toBe('iam');
    expect(e.name).toBe('IamJoinError');
    expect([e.account, e.arn]).toEqual(['1', 'a']);
  });
});
