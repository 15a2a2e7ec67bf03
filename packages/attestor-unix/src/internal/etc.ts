import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnixAttestorError } from '../errors.js';
import { aborted, errnoOf } from './proc.js';

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

/** Reads `<etcRoot>/<name>` (passwd or group). A missing file means no names; any other failure is an error. */
export async function readIdNames(
  etcRoot: string,
  name: 'passwd' | 'group',
  pid: number,
  signal?: AbortSignal,
): Promise<Map<number, string>> {
  const file = join(etcRoot, name);
  try {
    return parseIdNames(await readFile(file, { encoding: 'utf8', signal }));
  } catch (e) {
    if (signal?.aborted) throw aborted(pid, signal.reason);
    const errno = errnoOf(e);
    if (errno === 'ENOENT') return new Map();
    throw new UnixAttestorError(
      'ERR_WID_ATTEST_UNIX_ETC_UNREADABLE',
      `cannot read ${file} to name the user/group of pid ${pid}: ${errno ?? String(e)}`,
      { pid, file, errno },
      { cause: e },
    );
  }
}
