import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcfsError } from './errors.js';

/** Options of {@link readProcText}. */
export interface ReadProcTextOptions {
  /** The largest file accepted, in bytes; a longer file throws `ERR_WID_PROCFS_TOO_LARGE`. A non-negative integer. */
  readonly maxBytes: number;
  /** Aborts the read before it starts (`ERR_WID_PROCFS_ABORTED`, with the signal's reason as `cause`). */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link readProcText} read. */
export interface ProcText {
  /** The full path read: `<procRoot>/<pid>/<name>`. */
  readonly file: string;
  /** Its content as latin1: one character per byte, so nothing is lost or replaced. */
  readonly text: string;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads `<procRoot>/<pid>/<name>` as latin1, refusing files over `maxBytes`: procfs files report size 0, so the cap is
 * enforced while reading, never by trusting stat(). A missing file is told apart from a process that is gone by
 * whether `<procRoot>/<pid>` still exists.
 *
 * @throws {ProcfsError} `ERR_WID_PROCFS_PROCESS_GONE` (the process directory is gone), `ERR_WID_PROCFS_FILE_MISSING`
 * (the directory exists, the file does not), `ERR_WID_PROCFS_UNREADABLE` (any other failure, `errno` says which),
 * `ERR_WID_PROCFS_TOO_LARGE`, `ERR_WID_PROCFS_ABORTED`.
 *
 * @example
 * const { file, text } = await readProcText('/proc', pid, 'cgroup', { maxBytes: 65536, signal });
 */
export async function readProcText(
  procRoot: string,
  pid: number,
  name: string,
  options: ReadProcTextOptions,
): Promise<ProcText> {
  const { maxBytes, signal } = options;
  const dir = join(procRoot, String(pid));
  const file = join(dir, name);
  if (signal?.aborted) {
    throw new ProcfsError(
      'ERR_WID_PROCFS_ABORTED',
      `reading ${file} (pid ${pid}) was aborted`,
      { pid, file },
      {
        cause: signal.reason,
      },
    );
  }
  let chunks: Buffer[] = [];
  let total = 0;
  try {
    // Synchronous on purpose: a procfs read costs microseconds and never waits on a disk, while a trip through the
    // libuv threadpool per read adds queueing jitter that dominated the attestors' p99.
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(Math.min(65536, maxBytes + 1 - total));
        const bytesRead = readSync(fd, buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        total += bytesRead;
        if (total > maxBytes) {
          chunks = [];
          throw new ProcfsError(
            'ERR_WID_PROCFS_TOO_LARGE',
            `${file} (pid ${pid}) is larger than the ${maxBytes}-byte limit; refusing to read it`,
            { pid, file, maxBytes },
          );
        }
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof ProcfsError) throw e;
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ESRCH') {
      if (!(await isDirectory(dir))) {
        throw new ProcfsError(
          'ERR_WID_PROCFS_PROCESS_GONE',
          `process ${pid} is gone: ${file} does not exist`,
          { pid, file, errno },
          { cause: e },
        );
      }
      throw new ProcfsError(
        'ERR_WID_PROCFS_FILE_MISSING',
        `${file} (pid ${pid}) is missing although the process directory exists`,
        { pid, file, errno },
        { cause: e },
      );
    }
    throw new ProcfsError(
      'ERR_WID_PROCFS_UNREADABLE',
      `cannot read ${file} (pid ${pid}): ${errno ?? String(e)}`,
      { pid, file, errno },
      { cause: e },
    );
  }
  return { file, text: Buffer.concat(chunks, total).toString('latin1') };
}
