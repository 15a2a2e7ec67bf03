import { type BigIntStats, closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UnixAttestorError } from '../errors.js';
import { errnoOf } from './proc.js';

/**
 * Maps numeric IDs to names from a passwd(5) or group(5) file: `name:password:id:...`. The first entry for an ID
 * wins (as getpwuid does with files); comments, blank lines and NIS `+`/`-` entries are skipped. Only the files
 * are read: users known only to LDAP/sssd get no name (the attribute is then absent, never guessed).
 */
export function parseIdNames(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const parts = line.split(':');
    const name = parts[0];
    const id = parts[2];
    if (!name || id === undefined || !/^\d{1,10}$/.test(id)) continue;
    const n = Number(id);
    if (!names.has(n)) names.set(n, name);
  }
  return names;
}

function etcFailure(e: unknown, file: string, pid: number): UnixAttestorError {
  const errno = errnoOf(e);
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_ETC_UNREADABLE',
    `cannot read ${file} to name the user/group of pid ${pid}: ${errno ?? String(e)}`,
    { pid, file, errno },
    { cause: e },
  );
}

/** Identity of one version of a file; ctime is included because only the kernel sets it. */
function versionKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
}

const EMPTY: ReadonlyMap<number, string> = new Map();

/**
 * The ID-to-name maps of `<etcRoot>/passwd` and `<etcRoot>/group`, parsed once and re-read only when the file
 * changes: each lookup stats the file (microseconds) and re-reads it when its device, inode, mtime, ctime or size
 * differ from the parsed version (tools like useradd and vipw replace the file, which changes the inode; an in-place
 * edit changes mtime and ctime). The read is synchronous: these are small local files, read rarely.
 */
export class IdNameFiles {
  readonly #etcRoot: string;
  readonly #cache = new Map<string, { readonly key: string; readonly names: ReadonlyMap<number, string> }>();
  #reads = 0;

  constructor(etcRoot: string) {
    this.#etcRoot = etcRoot;
  }

  /** Times a file was read and parsed (for tests and metrics). */
  get reads(): number {
    return this.#reads;
  }

  /**
   * The names in `<etcRoot>/<name>`. A missing file means no names; any other failure is
   * ERR_WID_ATTEST_UNIX_ETC_UNREADABLE (never cached: the next lookup tries again).
   */
  get(name: 'passwd' | 'group', pid: number): ReadonlyMap<number, string> {
    const file = join(this.#etcRoot, name);
    let st: BigIntStats | undefined;
    try {
      st = statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch (e) {
      throw etcFailure(e, file, pid);
    }
    if (st === undefined) {
      this.#cache.delete(name);
      return EMPTY;
    }
    const cached = this.#cache.get(name);
    if (cached !== undefined && cached.key === versionKey(st)) return cached.names;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') {
        this.#cache.delete(name);
        return EMPTY;
      }
      throw etcFailure(e, file, pid);
    }
    try {
      // The key comes from the opened file, so it describes the content read below (a replacement between the
      // stat above and the open is read, and keyed, as the new file).
      const key = versionKey(fstatSync(fd, { bigint: true }));
      const names = parseIdNames(readFileSync(fd, 'utf8'));
      this.#reads++;
      this.#cache.set(name, { key, names });
      return names;
    } catch (e) {
      this.#cache.delete(name);
      throw etcFailure(e, file, pid);
    } finally {
      closeSync(fd);
    }
  }
}
