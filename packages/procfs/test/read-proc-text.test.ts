import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCFS_ERROR_CODES, ProcfsError, readProcText } from '@wid/procfs';
import { isWidError } from '@wid/spiffe-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function rejection(p: Promise<unknown>): Promise<ProcfsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProcfsError);
    return e as ProcfsError;
  }
  throw new Error('expected a rejection');
}

describe('readProcText', () => {
  const root = mkdtempSync(join(tmpdir(), 'wid-procfs-'));
  beforeAll(() => {
    mkdirSync(join(root, '10'));
    writeFileSync(join(root, '10', 'cgroup'), '0::/system.slice/nginx.service\n');
    writeFileSync(join(root, '10', 'binary'), Buffer.from([0x30, 0x00, 0xff, 0x80, 0x0a]));
    writeFileSync(join(root, '10', 'empty'), '');
    writeFileSync(join(root, '10', 'big'), 'a'.repeat(300_000));
    mkdirSync(join(root, '10', 'a-directory'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('returns the path and the text', async () => {
    expect(await readProcText(root, 10, 'cgroup', { maxBytes: 65536 })).toEqual({
      file: join(root, '10', 'cgroup'),
      text: '0::/system.slice/nginx.service\n',
    });
  });

  it('reads as latin1, one character per byte, so no byte is lost or replaced', async () => {
    const { text } = await readProcText(root, 10, 'binary', { maxBytes: 5 });
    expect([...text].map((c) => c.charCodeAt(0))).toEqual([0x30, 0x00, 0xff, 0x80, 0x0a]);
  });

  it('reads an empty file as the empty string, even with a cap of 0', async () => {
    expect((await readProcText(root, 10, 'empty', { maxBytes: 0 })).text).toBe('');
  });

  it('accepts a file of exactly maxBytes and refuses one byte more', async () => {
    const len = '0::/system.slice/nginx.service\n'.length;
    expect((await readProcText(root, 10, 'cgroup', { maxBytes: len })).text).toHaveLength(len);
    const e = await rejection(readProcText(root, 10, 'cgroup', { maxBytes: len - 1 }));
    expect(e).toMatchObject({
      code: 'ERR_WID_PROCFS_TOO_LARGE',
      pid: 10,
      file: join(root, '10', 'cgroup'),
      maxBytes: len - 1,
      errno: undefined,
    });
    expect(e.message).toContain(`${len - 1}-byte limit`);
  });

  it('refuses a file far over the cap (more than one read chunk)', async () => {
    const e = await rejection(readProcText(root, 10, 'big', { maxBytes: 100_000 }));
    expect(e).toMatchObject({ code: 'ERR_WID_PROCFS_TOO_LARGE', pid: 10, maxBytes: 100_000 });
    expect((await readProcText(root, 10, 'big', { maxBytes: 300_000 })).text).toHaveLength(300_000);
  });

  it('reports a process whose directory is gone as PROCESS_GONE', async () => {
    const e = await rejection(readProcText(root, 999_999, 'cgroup', { maxBytes: 65536 }));
    expect(e).toMatchObject({
      code: 'ERR_WID_PROCFS_PROCESS_GONE',
      pid: 999_999,
      file: join(root, '999999', 'cgroup'),
      errno: 'ENOENT',
    });
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('tells a missing file of a live process (FILE_MISSING) from a process that is gone', async () => {
    const e = await rejection(readProcText(root, 10, 'mountinfo', { maxBytes: 65536 }));
    expect(e).toMatchObject({
      code: 'ERR_WID_PROCFS_FILE_MISSING',
      pid: 10,
      file: join(root, '10', 'mountinfo'),
      errno: 'ENOENT',
    });
    expect(e.message).toContain('missing');
  });

  it('reports any other failure as UNREADABLE with its errno', async () => {
    const e = await rejection(readProcText(root, 10, 'a-directory', { maxBytes: 65536 }));
    expect(e).toMatchObject({
      code: 'ERR_WID_PROCFS_UNREADABLE',
      pid: 10,
      file: join(root, '10', 'a-directory'),
      errno: 'EISDIR',
    });
    expect(e.message).toContain('EISDIR');
  });

  it('rejects with ABORTED, the reason as cause, when the signal is already aborted', async () => {
    const reason = new Error('stop');
    const e = await rejection(readProcText(root, 10, 'cgroup', { maxBytes: 65536, signal: AbortSignal.abort(reason) }));
    expect(e).toMatchObject({ code: 'ERR_WID_PROCFS_ABORTED', pid: 10, file: join(root, '10', 'cgroup') });
    expect(e.cause).toBe(reason);
    // A live signal does not get in the way.
    const live = new AbortController().signal;
    expect((await readProcText(root, 10, 'cgroup', { maxBytes: 65536, signal: live })).text).toContain('nginx');
  });

  it('throws WidErrors whose codes are all documented', async () => {
    const e = await rejection(readProcText(root, 999_999, 'cgroup', { maxBytes: 1 }));
    expect(isWidError(e, 'ERR_WID_PROCFS_PROCESS_GONE')).toBe(true);
    expect(Object.keys(PROCFS_ERROR_CODES).sort()).toEqual([
      'ERR_WID_PROCFS_ABORTED',
      'ERR_WID_PROCFS_FILE_MISSING',
      'ERR_WID_PROCFS_PROCESS_GONE',
      'ERR_WID_PROCFS_TOO_LARGE',
      'ERR_WID_PROCFS_UNREADABLE',
    ]);
  });
});
