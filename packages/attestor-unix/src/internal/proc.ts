import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UnixAttestorError } from '../errors.js';

/** What we use from /proc/<pid>/status (proc(5)). */
export interface ProcStatus {
  /** Effective UID: the second field of the `Uid:` line (real, effective, saved, filesystem). */
  readonly uid: number;
  /** Effective GID: the second field of the `Gid:` line. */
  readonly gid: number;
  /** Supplementary group IDs from the `Groups:` line (may be empty). */
  readonly groups: readonly number[];
  /** First letter of the `State:` line (`R`, `S`, `Z`, ...), when present. */
  readonly state: string | undefined;
}

/** What we use from /proc/<pid>/stat (proc(5)). */
export interface ProcStat {
  /** Field 3, one letter. */
  readonly state: string;
  /** Field 22: start time after boot in clock ticks, kept as the decimal string (only compared for equality). */
  readonly startTime: string;
}

const MAX_ID = 0xffff_ffff;

function malformed(pid: number, file: string, what: string, line?: string): UnixAttestorError {
  return new UnixAttestorError('ERR_WID_ATTEST_UNIX_PROC_MALFORMED', `${file} (pid ${pid}) ${what}`, {
    pid,
    file,
    line,
  });
}

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Parses the four IDs of a `Uid:`/`Gid:` line and returns the effective one. */
function effectiveId(pid: number, file: string, line: string, label: string): number {
  const fields = line.slice(label.length).trim().split(/\s+/);
  const ids = fields.map(parseId);
  if (fields.length !== 4 || ids.some((id) => id === undefined)) {
    throw malformed(
      pid,
      file,
      `has a malformed "${label}" line: expected 4 decimal IDs (real, effective, saved, filesystem)`,
      line,
    );
  }
  return ids[1]!;
}

/** Parses /proc/<pid>/status. Throws ERR_WID_ATTEST_UNIX_PROC_MALFORMED naming the file and the bad or missing line. */
export function parseStatus(text: string, pid: number, file: string): ProcStatus {
  let uid: number | undefined;
  let gid: number | undefined;
  let groups: number[] | undefined;
  let state: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Uid:')) {
      if (uid !== undefined) throw malformed(pid, file, 'has two "Uid:" lines', line);
      uid = effectiveId(pid, file, line, 'Uid:');
    } else if (line.startsWith('Gid:')) {
      if (gid !== undefined) throw malformed(pid, file, 'has two "Gid:" lines', line);
      gid = effectiveId(pid, file, line, 'Gid:');
    } else if (line.startsWith('Groups:')) {
      if (groups !== undefined) throw malformed(pid, file, 'has two "Groups:" lines', line);
      const fields = line.slice('Groups:'.length).trim();
      groups = [];
      if (fields !== '') {
        for (const f of fields.split(/\s+/)) {
          const id = parseId(f);
          if (id === undefined) {
            throw malformed(pid, file, `has a malformed "Groups:" line: "${f}" is not a decimal group ID`, line);
          }
          groups.push(id);
        }
      }
    } else if (line.startsWith('State:')) {
      state = line.slice('State:'.length).trim().charAt(0) || undefined;
    }
  }
  if (uid === undefined) throw malformed(pid, file, 'has no "Uid:" line');
  if (gid === undefined) throw malformed(pid, file, 'has no "Gid:" line');
  if (groups === undefined) throw malformed(pid, file, 'has no "Groups:" line');
  return { uid, gid, groups, state };
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself contain spaces and
 * parentheses, so the fields after it are split from the LAST ')' (proc(5)).
 */
export function parseStat(text: string, pid: number, file: string): ProcStat {
  const head = /^(\d+) \(/.exec(text);
  if (!head) throw malformed(pid, file, 'does not start with "<pid> (<comm>)"', text.slice(0, 80));
  if (Number(head[1]) !== pid) throw malformed(pid, file, `is about pid ${head[1]}, not ${pid}`, text.slice(0, 80));
  const close = text.lastIndexOf(')');
  if (close < head[0].length) throw malformed(pid, file, 'has no ")" closing the command name', text.slice(0, 80));
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  if (rest.length < 20) {
    throw malformed(
      pid,
      file,
      `has ${rest.length} fields after the command name; the start time is field 22, so at least 20 are needed`,
      text.slice(0, 200),
    );
  }
  const state = rest[0]!;
  const startTime = rest[19]!;
  if (!/^[A-Za-z]$/.test(state)) throw malformed(pid, file, `has state "${state}", expected one letter (field 3)`);
  if (!/^\d+$/.test(startTime)) {
    throw malformed(pid, file, `has start time "${startTime}", expected a decimal number of clock ticks (field 22)`);
  }
  return { state, startTime };
}

/** A process is gone for our purposes once it exited, even if its parent has not reaped it yet. */
export function isDead(state: string | undefined): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

export function procFile(procRoot: string, pid: number, name: string): string {
  return join(procRoot, String(pid), name);
}

export function gone(pid: number, file: string | undefined, why: string, cause?: unknown): UnixAttestorError {
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_PROCESS_GONE',
    `process ${pid} is gone: ${why}`,
    { pid, file },
    {
      cause,
    },
  );
}

export function aborted(pid: number | undefined, reason: unknown): UnixAttestorError {
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_ABORTED',
    `unix attestation${pid === undefined ? '' : ` of pid ${pid}`} was aborted`,
    { pid },
    { cause: reason },
  );
}

export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps a failed read of /proc/<pid>/<name>. ENOENT/ESRCH: if /proc/<pid> itself is gone the process is gone;
 * if the directory is still there, the file is missing from a procfs that should have it (malformed).
 */
function readFailure(
  e: unknown,
  pid: number,
  file: string,
  procRoot: string,
  dirExists: (dir: string) => boolean,
): UnixAttestorError {
  const errno = errnoOf(e);
  if (errno === 'ENOENT' || errno === 'ESRCH') {
    if (!dirExists(join(procRoot, String(pid)))) return gone(pid, file, `${file} does not exist`, e);
    return malformed(pid, file, 'is missing although the process directory exists');
  }
  return new UnixAttestorError(
    'ERR_WID_ATTEST_UNIX_PROC_UNREADABLE',
    `cannot read ${file} (pid ${pid}): ${errno ?? String(e)}`,
    { pid, file, errno },
    { cause: e },
  );
}

function dirExistsSync(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads /proc/<pid>/<name> synchronously (the accept path, attest and confirmPeer all use it). procfs files are
 * generated by the kernel in memory, so a synchronous read takes microseconds, while an asynchronous one mostly waits
 * in the libuv threadpool queue (several round trips: open, fstat, read, close). procfs files report size 0, so
 * readFileSync's stat-then-grow dance is wasted work too: read into one buffer instead (a stat line is well under
 * 1 KiB, status under 2 KiB; larger files still work).
 */
export function readProcFileSync(procRoot: string, pid: number, name: string): { file: string; text: string } {
  const file = procFile(procRoot, pid, name);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw readFailure(e, pid, file, procRoot, dirExistsSync);
  }
  try {
    let buf = Buffer.allocUnsafe(4096);
    let len = 0;
    for (;;) {
      if (len === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    return { file, text: buf.toString('latin1', 0, len) };
  } catch (e) {
    throw readFailure(e, pid, file, procRoot, dirExistsSync);
  } finally {
    closeSync(fd);
  }
}
