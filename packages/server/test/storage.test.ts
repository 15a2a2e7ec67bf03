import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectoryStorage, createMemoryStorage, type DirectoryStorageFs } from '@wid/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('createMemoryStorage', () => {
  it('gets, puts, replaces and deletes copies of the bytes', async () => {
    const s = createMemoryStorage();
    expect(await s.get('a')).toBeUndefined();
    const bytes = enc('one');
    await s.put('a', bytes);
    bytes[0] = 0;
    expect(dec(await s.get('a'))).toBe('one');
    await s.put('a', enc('two'));
    expect(dec(await s.get('a'))).toBe('two');
    await s.delete('a');
    await s.delete('a');
    expect(await s.get('a')).toBeUndefined();
  });

  it.each(['', '../x', 'a/b', '.hidden', '..'])('rejects the key %j', async (key) => {
    await expect(createMemoryStorage().get(key)).rejects.toMatchObject({ code: 'ERR_WID_SERVER_STORAGE_KEY' });
  });
});

describe('createDirectoryStorage', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'wid-server-storage-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the directory 0700 and files 0600', async () => {
    const dir = join(root, 'state', 'nested');
    const s = createDirectoryStorage({ path: dir });
    await s.put('ca.json', enc('{"a":1}'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'ca.json'))).mode & 0o777).toBe(0o600);
    expect(dec(await s.get('ca.json'))).toBe('{"a":1}');
    expect(await readdir(dir)).toEqual(['ca.json']);
  });

  it('tightens an existing directory to 0700', async () => {
    const dir = join(root, 'loose');
    await fsp.mkdir(dir, { mode: 0o755 });
    await fsp.chmod(dir, 0o755);
    await createDirectoryStorage({ path: dir }).put('k', enc('v'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('refuses to read a file that others may read', async () => {
    const s = createDirectoryStorage({ path: root });
    await s.put('k', enc('v'));
    await fsp.chmod(join(root, 'k'), 0o644);
    await expect(s.get('k')).rejects.toMatchObject({ code: 'ERR_WID_SERVER_STORAGE_INSECURE', path: join(root, 'k') });
  });

  it('reads what another instance wrote (restart)', async () => {
    await createDirectoryStorage({ path: root }).put('k', enc('persisted'));
    expect(dec(await createDirectoryStorage({ path: root }).get('k'))).toBe('persisted');
  });

  it('deletes, and returns undefined for a missing key', async () => {
    const s = createDirectoryStorage({ path: root });
    await s.put('k', enc('v'));
    await s.delete('k');
    await s.delete('k');
    expect(await s.get('k')).toBeUndefined();
  });

  /** node:fs/promises, except that writing a file writes half of it and then fails like a full disk. */
  function fullDiskFs(): DirectoryStorageFs & { failures: number } {
    const fs = {
      failures: 0,
      ...(fsp as unknown as DirectoryStorageFs),
      async open(path: string, flags: string, mode?: number) {
        const handle = await fsp.open(path, flags, mode);
        if (flags === 'r') return handle;
        return {
          async writeFile(data: Uint8Array) {
            await handle.write(data.subarray(0, Math.floor(data.length / 2)));
            fs.failures++;
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          },
          sync: () => handle.sync(),
          close: () => handle.close(),
        };
      },
    };
    return fs;
  }

  it('keeps the old value intact when a write fails midway (full disk), leaving no temporary file', async () => {
    await createDirectoryStorage({ path: root }).put('ca.json', enc('old value'));
    const fs = fullDiskFs();
    const s = createDirectoryStorage({ path: root, fs });
    await expect(s.put('ca.json', enc('a much longer new value'))).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_STORAGE_IO',
      path: join(root, 'ca.json'),
    });
    expect(fs.failures).toBe(1);
    expect(await readFile(join(root, 'ca.json'), 'utf8')).toBe('old value');
    expect(await readdir(root)).toEqual(['ca.json']);
  });

  it('leaves no file at all when the first write fails', async () => {
    const s = createDirectoryStorage({ path: root, fs: fullDiskFs() });
    await expect(s.put('ca.json', enc('value'))).rejects.toMatchObject({ code: 'ERR_WID_SERVER_STORAGE_IO' });
    expect(await readdir(root)).toEqual([]);
    expect(await s.get('ca.json')).toBeUndefined();
  });

  it('fails the write when the rename fails, keeping the old value', async () => {
    await createDirectoryStorage({ path: root }).put('k', enc('old'));
    const fs: DirectoryStorageFs = {
      ...(fsp as unknown as DirectoryStorageFs),
      rename: async () => {
        throw Object.assign(new Error('EIO'), { code: 'EIO' });
      },
    };
    await expect(createDirectoryStorage({ path: root, fs }).put('k', enc('new'))).rejects.toMatchObject({
      code: 'ERR_WID_SERVER_STORAGE_IO',
    });
    expect(await readFile(join(root, 'k'), 'utf8')).toBe('old');
    expect(await readdir(root)).toEqual(['k']);
  });

  it('removes temporary files left by a crash', async () => {
    await writeFile(join(root, '.ca.json.abc123.tmp'), 'torn');
    const s = createDirectoryStorage({ path: root });
    expect(await s.get('ca.json')).toBeUndefined();
    expect(await readdir(root)).toEqual([]);
  });

  it('rejects a missing path', () => {
    expect(() => createDirectoryStorage({ path: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_WID_SERVER_INVALID_OPTION', key: 'path' }),
    );
  });
});
