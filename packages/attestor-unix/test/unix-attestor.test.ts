import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
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
import { createUnixAttestor, type UnixAttestorError, type UnixAttestorOptions } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const etcRoot = join(fixtures, 'etc');

let dir: string;
let procRoot: string;
let binary: string;
let binaryBytes: Buffer;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Copies test/fixtures/proc to a temp procRoot and points 4242/exe at a fresh "binary". */
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wid-attestor-unix-'));
  procRoot = join(dir, 'proc');
  cpSync(join(fixtures, 'proc'), procRoot, { recursive: true });
  binary = join(dir, 'bin', 'server');
  mkdirSync(join(dir, 'bin'));
  binaryBytes = randomBytes(3 * 1024 * 1024 + 17); // more than one 1 MiB read chunk
  writeFileSync(binary, binaryBytes);
  symlinkSync(binary, join(procRoot, '4242', 'exe'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<UnixAttestorError> {
  try {
    await p;
  } catch (e) {
    return e as UnixAttestorError;
  }
  throw new Error('expected a rejection');
}

function attestor(options: UnixAttestorOptions = {}) {
  return createUnixAttestor({ procRoot, etcRoot, ...options });
}

describe('createUnixAttestor().attest', () => {
  it('returns effective IDs, their names, supplementary groups, binary path and hash', async () => {
    const unix = attestor();
    expect(unix.name).toBe('unix');
    expect(await unix.attest(4242)).toEqual({
      pid: 4242,
      uid: 1001, // second field of "Uid:\t1000\t1001\t1002\t1003"
      gid: 2001,
      user: 'alice', // first passwd entry for 1001 (alice-alias is ignored)
      group: 'staff',
      supplementary_gids: [10, 27, 2001],
      binary_path: binary,
      binary_hash: sha256(binaryBytes),
    });
  });

  it('leaves user and group absent when etc has no entry for the IDs (never guesses)', async () => {
    writeFileSync(join(procRoot, '4242', 'status'), 'Uid:\t7\t1000\t7\t7\nGid:\t7\t2000\t7\t7\nGroups:\t\n');
    const attrs = await attestor().attest(4242);
    // 1000 only appears as a NIS "+" entry, 2000 only as a NIS "-" entry.
    expect(attrs).not.toHaveProperty('user');
    expect(attrs).not.toHaveProperty('group');
    expect(attrs.supplementary_gids).toEqual([]);
  });

  it('leaves names absent when etcRoot has no passwd/group files', async () => {
    const attrs = await attestor({ etcRoot: join(dir, 'no-etc') }).attest(4242);
    expect(attrs.uid).toBe(1001);
    expect(attrs).not.toHaveProperty('user');
    expect(attrs).not.toHaveProperty('group');
  });

  it('fails with ETC_UNREADABLE when passwd cannot be read', async () => {
    const badEtc = join(dir, 'etc');
    mkdirSync(join(badEtc, 'passwd'), { recursive: true });
    const e = await rejection(attestor({ etcRoot: badEtc }).attest(4242));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_ETC_UNREADABLE');
    expect(e.file).toBe(join(badEtc, 'passwd'));
    expect(e.errno).toBe('EISDIR');
    expect(e.pid).toBe(4242);
  });

  it('fails with PROCESS_GONE naming pid and file when /proc/<pid> does not exist', async () => {
    const e = await rejection(attestor().attest(999_999));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
    expect(e.pid).toBe(999_999);
    expect(e.file).toBe(join(procRoot, '999999', 'status'));
    expect(e.attestor).toBe('unix');
  });

  it('fails with PROC_MALFORMED when the process directory lacks status', async () => {
    unlinkSync(join(procRoot, '4242', 'status'));
    const e = await rejection(attestor().attest(4242));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROC_MALFORMED');
    expect(e.file).toBe(join(procRoot, '4242', 'status'));
    expect(e.message).toContain('is missing although the process directory exists');
  });

  it('fails with PROC_MALFORMED naming pid, file and line for a bad Uid line', async () => {
    writeFileSync(join(procRoot, '4242', 'status'), 'Uid:\t1\t2\nGid:\t0\t0\t0\t0\nGroups:\t\n');
    const e = await rejection(attestor().attest(4242));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROC_MALFORMED');
    expect(e.pid).toBe(4242);
    expect(e.file).toBe(join(procRoot, '4242', 'status'));
    expect(e.line).toBe('Uid:\t1\t2');
  });

  it('fails with PROCESS_GONE for a zombie, whose exe link does not resolve', async () => {
    const e = await rejection(attestor().attest(4243));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
    expect(e.file).toBe(join(procRoot, '4243', 'exe'));
  });

  it('fails with BINARY_UNREADABLE when the executable cannot be read', async () => {
    unlinkSync(join(procRoot, '4242', 'exe'));
    symlinkSync(join(dir, 'bin'), join(procRoot, '4242', 'exe')); // a directory: open works, read fails
    const e = await rejection(attestor().attest(4242));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_BINARY_UNREADABLE');
    expect(e.errno).toBe('EISDIR');
    expect(e.pid).toBe(4242);
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('rejects pid %s with BAD_PID', async (pid) => {
    expect((await rejection(attestor().attest(pid))).code).toBe('ERR_WID_ATTEST_UNIX_BAD_PID');
  });

  it('rejects with ABORTED when the signal is already aborted', async () => {
    const e = await rejection(attestor().attest(4242, AbortSignal.abort(new Error('shutdown'))));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_ABORTED');
    expect((e.cause as Error).message).toBe('shutdown');
  });
});

describe('binary hashing', () => {
  it('hashMaxBytes 0 disables hashing: binary_hash is absent', async () => {
    const unix = attestor({ hashMaxBytes: 0 });
    const attrs = await unix.attest(4242);
    expect(attrs).not.toHaveProperty('binary_hash');
    expect(attrs.binary_path).toBe(binary);
    expect(unix.stats().binaryHashesComputed).toBe(0);
  });

  it('hashMaxBytes -1 hashes without a limit', async () => {
    expect((await attestor({ hashMaxBytes: -1 }).attest(4242)).binary_hash).toBe(sha256(binaryBytes));
  });

  it('omits binary_hash (and warns) for a binary larger than hashMaxBytes; hashes one exactly at the limit', async () => {
    const warnings: object[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: object) => warnings.push(obj) };
    const small = attestor({ hashMaxBytes: binaryBytes.length - 1, logger });
    expect(await small.attest(4242)).not.toHaveProperty('binary_hash');
    expect(small.stats().binaryBytesHashed).toBe(0);
    expect(warnings).toEqual([
      expect.objectContaining({ pid: 4242, size: binaryBytes.length, hashMaxBytes: binaryBytes.length - 1 }),
    ]);
    const exact = attestor({ hashMaxBytes: binaryBytes.length });
    expect((await exact.attest(4242)).binary_hash).toBe(sha256(binaryBytes));
  });

  it('hashes a busy binary once: later attestations and other PIDs of the same file hit the cache', async () => {
    cpSync(join(procRoot, '4242'), join(procRoot, '5000'), { recursive: true, dereference: false });
    const unix = attestor();
    await unix.attest(4242);
    await unix.attest(4242);
    await unix.attest(5000); // another process running the same file
    expect(unix.stats()).toEqual({
      binaryHashCacheHits: 2,
      binaryHashesComputed: 1,
      binaryBytesHashed: binaryBytes.length,
      binaryHashCacheEntries: 1,
    });
  });

  it('shares one read between concurrent attestations of the same binary', async () => {
    const unix = attestor();
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => unix.attest(4242)));
    expect(new Set(all.map((a) => a.binary_hash))).toEqual(new Set([sha256(binaryBytes)]));
    expect(unix.stats().binaryHashesComputed).toBe(1);
    expect(unix.stats().binaryHashCacheHits).toBe(4);
  });

  it('rehashes when the file changes (mtime and size are in the cache key)', async () => {
    const unix = attestor();
    await unix.attest(4242);
    const changed = Buffer.concat([binaryBytes, Buffer.from('patched')]);
    writeFileSync(binary, changed);
    utimesSync(binary, new Date(), new Date(Date.now() + 5000));
    expect((await unix.attest(4242)).binary_hash).toBe(sha256(changed));
    expect(unix.stats().binaryHashesComputed).toBe(2);
  });

  it('rehashes content rewritten with the same size and a forged mtime (ctime is in the key too)', async () => {
    const unix = attestor();
    const { mtime } = statSync(binary);
    await unix.attest(4242);
    const forged = Buffer.from(binaryBytes);
    forged[0] = (forged[0]! + 1) % 256;
    writeFileSync(binary, forged);
    utimesSync(binary, mtime, mtime);
    expect((await unix.attest(4242)).binary_hash).toBe(sha256(forged));
    expect(unix.stats().binaryHashesComputed).toBe(2);
  });

  it('evicts the least recently used entry beyond hashCacheEntries', async () => {
    const other = join(dir, 'bin', 'other');
    writeFileSync(other, 'another binary');
    mkdirSync(join(procRoot, '5001'));
    cpSync(join(procRoot, '4242', 'status'), join(procRoot, '5001', 'status'));
    symlinkSync(other, join(procRoot, '5001', 'exe'));
    const unix = attestor({ hashCacheEntries: 1 });
    await unix.attest(4242); // computed
    await unix.attest(4242); // hit
    await unix.attest(5001); // computed, evicts 4242's binary
    await unix.attest(4242); // computed again
    expect(unix.stats()).toMatchObject({ binaryHashesComputed: 3, binaryHashCacheHits: 1, binaryHashCacheEntries: 1 });
  });

  it('hashCacheEntries 0 disables the cache', async () => {
    const unix = attestor({ hashCacheEntries: 0 });
    await unix.attest(4242);
    await unix.attest(4242);
    expect(unix.stats()).toMatchObject({ binaryHashesComputed: 2, binaryHashCacheHits: 0, binaryHashCacheEntries: 0 });
  });
});

describe('createUnixAttestor options', () => {
  it.each([
    ['procRoot', { procRoot: '' }],
    ['etcRoot', { etcRoot: 42 }],
    ['addonPath', { addonPath: 'a\0b' }],
    ['hashMaxBytes', { hashMaxBytes: -2 }],
    ['hashMaxBytes', { hashMaxBytes: 1.5 }],
    ['hashMaxBytes', { hashMaxBytes: '1GiB' }],
    ['hashCacheEntries', { hashCacheEntries: -1 }],
    ['pidfd', { pidfd: 'yes' }],
    ['logger', { logger: { info() {} } }],
  ])('rejects a bad %s with BAD_OPTION naming the key', (key, options) => {
    let error: UnixAttestorError | undefined;
    try {
      createUnixAttestor(options as unknown as UnixAttestorOptions);
    } catch (e) {
      error = e as UnixAttestorError;
    }
    expect(error?.code).toBe('ERR_WID_ATTEST_UNIX_BAD_OPTION');
    expect(error?.key).toBe(key);
    expect(error?.message).toContain(key);
  });

  it('does no I/O at construction (a missing procRoot fails only when used)', async () => {
    const unix = createUnixAttestor({ procRoot: join(dir, 'nowhere'), addonPath: join(dir, 'nowhere.node') });
    expect((await rejection(unix.attest(1))).code).toBe('ERR_WID_ATTEST_UNIX_PROCESS_GONE');
  });
});

describe('confirmPeer', () => {
  it('rejects credentials that carry no process token with NO_PROCESS_TOKEN', async () => {
    const e = await rejection(attestor().confirmPeer({ pid: 4242, uid: 1001, gid: 2001 }));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_NO_PROCESS_TOKEN');
    expect(e.pid).toBe(4242);
  });

  it('rejects a foreign token shape', async () => {
    const e = await rejection(attestor().confirmPeer({ pid: 4242, uid: 1001, gid: 2001, processToken: 987654 }));
    expect(e.code).toBe('ERR_WID_ATTEST_UNIX_NO_PROCESS_TOKEN');
  });
});
