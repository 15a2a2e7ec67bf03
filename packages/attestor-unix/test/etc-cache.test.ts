import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createUnixAttestor, type UnixAttestorError } from '../src/index.js';
import { IdNameFiles } from '../src/internal/etc.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

let dir: string;
let etcRoot: string;
let procRoot: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wid-attestor-unix-etc-'));
  etcRoot = join(dir, 'etc');
  cpSync(join(fixtures, 'etc'), etcRoot, { recursive: true });
  procRoot = join(dir, 'proc');
  cpSync(join(fixtures, 'proc'), procRoot, { recursive: true });
  writeFileSync(join(dir, 'binary'), 'a binary');
  symlinkSync(join(dir, 'binary'), join(procRoot, '4242', 'exe'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `file` with `text` and gives it the mtime `at` (seconds), so tests control every part of the cache key. */
function write(file: string, text: string, at: number): void {
  writeFileSync(file, text);
  utimesSync(file, at, at);
}

describe('passwd/group cache (IdNameFiles)', () => {
  it('parses each file once while it does not change', () => {
    const files = new IdNameFiles(etcRoot);
    expect(files.get('passwd', 1).get(1001)).toBe('alice');
    expect(files.get('group', 1).get(2001)).toBe('staff');
    expect(files.get('passwd', 2).get(0)).toBe('root');
    expect(files.get('group', 2).get(10)).toBe('wheel');
    expect(files.reads).toBe(2);
  });

  it('re-reads a file edited in place (size changed)', () => {
    const files = new IdNameFiles(etcRoot);
    const passwd = join(etcRoot, 'passwd');
    write(passwd, 'alice:x:1001:2001::/:/bin/sh\n', 1_000_000);
    expect(files.get('passwd', 1).get(1001)).toBe('alice');
    write(passwd, 'robert:x:1001:2001::/:/bin/sh\n', 1_000_000);
    expect(files.get('passwd', 1).get(1001)).toBe('robert');
    expect(files.reads).toBe(2);
  });

  it('re-reads a file edited in place with the same size (mtime changed)', () => {
    const files = new IdNameFiles(etcRoot);
    const group = join(etcRoot, 'group');
    write(group, 'staff:x:2001:\n', 1_000_000);
    expect(files.get('group', 1).get(2001)).toBe('staff');
    write(group, 'stuff:x:2001:\n', 1_000_001);
    expect(files.get('group', 1).get(2001)).toBe('stuff');
    expect(files.reads).toBe(2);
  });

  it('re-reads a file replaced by rename with the same size and mtime (inode changed)', () => {
    const files = new IdNameFiles(etcRoot);
    const passwd = join(etcRoot, 'passwd');
    write(passwd, 'alice:x:1001:2001::/:/bin/sh\n', 1_000_000);
    expect(files.get('passwd', 1).get(1001)).toBe('alice');
    const next = join(etcRoot, 'passwd+');
    write(next, 'alixe:x:1001:2001::/:/bin/sh\n', 1_000_000);
    const before = statSync(passwd);
    renameSync(next, passwd); // what useradd/vipw do
    const after = statSync(passwd);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(after.ino).not.toBe(before.ino);
    expect(files.get('passwd', 1).get(1001)).toBe('alixe');
    expect(files.reads).toBe(2);
  });

  it('answers no names while a file is missing, and reads it again when it comes back', () => {
    const files = new IdNameFiles(etcRoot);
    const passwd = join(etcRoot, 'passwd');
    expect(files.get('passwd', 1).get(1001)).toBe('alice');
    unlinkSync(passwd);
    expect(files.get('passwd', 1).size).toBe(0);
    write(passwd, 'carol:x:1001:2001::/:/bin/sh\n', 1_000_000);
    expect(files.get('passwd', 1).get(1001)).toBe('carol');
    expect(files.reads).toBe(2);
  });

  it('does not cache a read failure: ETC_UNREADABLE each time until the file is readable again', () => {
    const files = new IdNameFiles(etcRoot);
    const group = join(etcRoot, 'group');
    expect(files.get('group', 7).get(2001)).toBe('staff');
    unlinkSync(group);
    mkdirSync(group); // open works, read fails with EISDIR
    for (let i = 0; i < 2; i++) {
      let error: UnixAttestorError | undefined;
      try {
        files.get('group', 7);
      } catch (e) {
        error = e as UnixAttestorError;
      }
      expect(error?.code).toBe('ERR_WID_ATTEST_UNIX_ETC_UNREADABLE');
      expect(error?.file).toBe(group);
      expect(error?.errno).toBe('EISDIR');
      expect(error?.pid).toBe(7);
    }
    rmSync(group, { recursive: true });
    write(group, 'devs:x:2001:\n', 1_000_000);
    expect(files.get('group', 7).get(2001)).toBe('devs');
  });
});

describe('attest names follow passwd/group changes', () => {
  it('names the user and group from the current files, across edits', async () => {
    const unix = createUnixAttestor({ procRoot, etcRoot });
    expect(await unix.attest(4242)).toMatchObject({ uid: 1001, user: 'alice', gid: 2001, group: 'staff' });
    write(join(etcRoot, 'passwd'), 'bob:x:1001:2001::/:/bin/sh\n', 1_000_000);
    write(join(etcRoot, 'group'), 'builders:x:2001:\n', 1_000_000);
    expect(await unix.attest(4242)).toMatchObject({ uid: 1001, user: 'bob', gid: 2001, group: 'builders' });
    unlinkSync(join(etcRoot, 'group'));
    const attrs = await unix.attest(4242);
    expect(attrs.user).toBe('bob');
    expect(attrs).not.toHaveProperty('group');
  });
});
