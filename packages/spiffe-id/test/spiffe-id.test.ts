import { readFileSync } from 'node:fs';
import { isValid, isWidError, SpiffeId, SpiffeIdError, TrustDomain, WidError } from '@wid/spiffe-id';
import { describe, expect, it } from 'vitest';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/spiffe-ids.json', import.meta.url), 'utf8')) as {
  valid: [string, string, string][];
  invalid: [string, string, string][];
};

function thrown(fn: () => unknown): SpiffeIdError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpiffeIdError);
    return e as SpiffeIdError;
  }
  throw new Error('expected a throw');
}

describe('SpiffeId.parse', () => {
  it.each(fixtures.valid)('accepts %j', (input, td, path) => {
    const id = SpiffeId.parse(input);
    expect(id.trustDomain.name).toBe(td);
    expect(id.path).toBe(path);
    expect(id.toString()).toBe(input);
    expect(JSON.stringify({ id })).toBe(JSON.stringify({ id: input }));
    expect(isValid(input)).toBe(true);
    expect(Object.isFrozen(id)).toBe(true);
  });

  it.each(fixtures.invalid)('rejects %j with %s', (input, code, message) => {
    const err = thrown(() => SpiffeId.parse(input));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect(err.input).toBe(input);
    expect(err).toBeInstanceOf(WidError);
    expect(isWidError(err, code)).toBe(true);
    expect(isValid(input)).toBe(false);
  });

  it('reports the position of a bad character', () => {
    expect(thrown(() => SpiffeId.parse('spiffe://exAmple.org')).position).toBe(11);
    expect(thrown(() => SpiffeId.parse('spiffe://ex.org/ab$')).position).toBe(18);
    expect(thrown(() => SpiffeId.parse('spiffe://ex.org/a/../b')).position).toBe(18);
  });

  it('accepts IDs of 2048 bytes', () => {
    const path = '/' + 'a'.repeat(2048 - 'spiffe://example.org/'.length);
    const id = SpiffeId.parse(`spiffe://example.org${path}`);
    expect(id.toString().length).toBe(2048);
  });

  it('accepts a trust domain of exactly 255 bytes', () => {
    expect(SpiffeId.parse(`spiffe://${'a'.repeat(255)}/x`).trustDomain.name.length).toBe(255);
  });

  it('rejects non-string input with a typed error', () => {
    expect(thrown(() => SpiffeId.parse(undefined as unknown as string)).code).toBe('ERR_WID_SPIFFE_ID_EMPTY');
  });
});

describe('SpiffeId builders', () => {
  const td = TrustDomain.parse('example.org');

  it('fromPath builds and validates', () => {
    expect(SpiffeId.fromPath(td, '/a/b').toString()).toBe('spiffe://example.org/a/b');
    expect(SpiffeId.fromPath(td, '').isRoot()).toBe(true);
    expect(thrown(() => SpiffeId.fromPath(td, 'a')).code).toBe('ERR_WID_SPIFFE_ID_NO_LEADING_SLASH');
    expect(thrown(() => SpiffeId.fromPath(td, '/a/')).code).toBe('ERR_WID_SPIFFE_ID_TRAILING_SLASH');
    expect(thrown(() => SpiffeId.fromPath(td, '/a//b')).code).toBe('ERR_WID_SPIFFE_ID_EMPTY_SEGMENT');
  });

  it('fromSegments validates each segment', () => {
    expect(SpiffeId.fromSegments(td, 'ns', 'prod').toString()).toBe('spiffe://example.org/ns/prod');
    expect(SpiffeId.fromSegments(td).toString()).toBe('spiffe://example.org');
    expect(thrown(() => SpiffeId.fromSegments(td, 'a/b')).code).toBe('ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR');
    expect(thrown(() => SpiffeId.fromSegments(td, '')).code).toBe('ERR_WID_SPIFFE_ID_EMPTY_SEGMENT');
    expect(thrown(() => SpiffeId.fromSegments(td, '..')).code).toBe('ERR_WID_SPIFFE_ID_DOT_SEGMENT');
    expect(thrown(() => SpiffeId.fromSegments(td, '.')).code).toBe('ERR_WID_SPIFFE_ID_DOT_SEGMENT');
  });

  it('fromUri parses a URL', () => {
    expect(SpiffeId.fromUri(new URL('spiffe://example.org/x')).toString()).toBe('spiffe://example.org/x');
    expect(thrown(() => SpiffeId.fromUri(new URL('https://example.org/x'))).code).toBe(
      'ERR_WID_SPIFFE_ID_WRONG_SCHEME',
    );
    expect(thrown(() => SpiffeId.fromUri(new URL('spiffe://example.org/x?q=1'))).code).toBe(
      'ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR',
    );
  });

  it('appendPath, appendSegments and replacePath return new validated IDs', () => {
    const base = SpiffeId.parse('spiffe://example.org/a');
    expect(base.appendPath('/b/c').toString()).toBe('spiffe://example.org/a/b/c');
    expect(base.appendSegments('b', 'c').toString()).toBe('spiffe://example.org/a/b/c');
    expect(base.replacePath('/z').toString()).toBe('spiffe://example.org/z');
    expect(base.toString()).toBe('spiffe://example.org/a');
    expect(thrown(() => base.appendPath('b')).code).toBe('ERR_WID_SPIFFE_ID_NO_LEADING_SLASH');
    expect(thrown(() => base.appendPath('/..')).code).toBe('ERR_WID_SPIFFE_ID_DOT_SEGMENT');
    expect(thrown(() => base.appendSegments('b/c')).code).toBe('ERR_WID_SPIFFE_ID_BAD_PATH_SEGMENT_CHAR');
  });

  it('memberOf and equals compare by value', () => {
    const a = SpiffeId.parse('spiffe://example.org/a');
    expect(a.memberOf(td)).toBe(true);
    expect(a.memberOf(TrustDomain.parse('other.org'))).toBe(false);
    expect(a.equals(SpiffeId.parse('spiffe://example.org/a'))).toBe(true);
    expect(a.equals(SpiffeId.parse('spiffe://example.org/A'))).toBe(false);
    expect(a.equals(SpiffeId.parse('spiffe://example.com/a'))).toBe(false);
    expect(a.equals(undefined)).toBe(false);
  });
});

describe('TrustDomain.parse', () => {
  it('accepts a name and a full ID', () => {
    expect(TrustDomain.parse('example.org').name).toBe('example.org');
    expect(TrustDomain.parse('spiffe://example.org').name).toBe('example.org');
    expect(TrustDomain.parse('spiffe://example.org/a/b').name).toBe('example.org');
    expect(TrustDomain.parse('example.org').idString()).toBe('spiffe://example.org');
    expect(TrustDomain.parse('example.org').id().toString()).toBe('spiffe://example.org');
    expect(String(TrustDomain.parse('example.org'))).toBe('example.org');
    expect(JSON.stringify(TrustDomain.parse('example.org'))).toBe('"example.org"');
  });

  it.each([
    ['', 'ERR_WID_SPIFFE_ID_MISSING_TRUST_DOMAIN'],
    ['Example.org', 'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR'],
    ['example.org:443', 'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR'],
    ['a'.repeat(256), 'ERR_WID_SPIFFE_ID_TRUST_DOMAIN_TOO_LONG'],
    ['spiffe://Example.org', 'ERR_WID_SPIFFE_ID_BAD_TRUST_DOMAIN_CHAR'],
    ['spiffe://example.org/', 'ERR_WID_SPIFFE_ID_TRAILING_SLASH'],
    ['http://example.org', 'ERR_WID_SPIFFE_ID_WRONG_SCHEME'],
  ])('rejects %j with %s', (input, code) => {
    expect(thrown(() => TrustDomain.parse(input)).code).toBe(code);
    expect(TrustDomain.isValid(input)).toBe(false);
  });

  it('has an uppercase-specific message naming the character and position', () => {
    expect(thrown(() => TrustDomain.parse('Example.org')).message).toMatch(/"E" at 0/);
  });
});
