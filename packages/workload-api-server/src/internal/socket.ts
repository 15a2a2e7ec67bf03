import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { WorkloadApiServerError } from '../errors.js';
import type { Logger } from '../logger.js';

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/** Resolves true when something accepts a connection on `path`, false when nothing listens there. */
function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error) => {
      probe.destroy();
      // EACCES: someone else's socket we cannot even probe: treat as live rather than deleting it.
      resolve(errnoOf(error) === 'EACCES' || errnoOf(error) === 'EAGAIN');
    });
  });
}

/**
 * Makes `path` ready to listen on: creates the parent directory with `directoryMode` if missing (an existing one is
 * left as is: access to the socket is governed by it), and removes a stale socket file only when nothing listens on
 * it. A live listener or a non-socket file is an error; wid never deletes what it does not own.
 */
export async function prepareSocketPath(path: string, directoryMode: number, logger: Logger): Promise<void> {
  const dir = dirname(path);
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) {
      throw new WorkloadApiServerError(
        'ERR_WID_WORKLOAD_API_LISTEN_FAILED',
        `cannot listen on ${path}: ${dir} is not a directory`,
        { path },
      );
    }
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw wrapListen(error, path);
    try {
      await mkdir(dir, { recursive: true, mode: directoryMode });
      await chmod(dir, directoryMode); // the umask may have narrowed or widened nothing; make it exact
      logger.info({ path: dir, mode: directoryMode.toString(8) }, 'created the Workload API socket directory');
    } catch (mkdirError) {
      throw wrapListen(mkdirError, path);
    }
  }
  let existing: Awaited<ReturnType<typeof lstat>>;
  try {
    existing = await lstat(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw wrapListen(error, path);
  }
  if (!existing.isSocket()) {
    throw new WorkloadApiServerError(
      'ERR_WID_WORKLOAD_API_SOCKET_NOT_A_SOCKET',
      `cannot listen on ${path}: the path exists and is not a Unix socket; remove it or choose another path`,
      { path },
    );
  }
  if (await isListening(path)) {
    throw new WorkloadApiServerError(
      'ERR_WID_WORKLOAD_API_SOCKET_IN_USE',
      `cannot listen on ${path}: another process is accepting connections on it`,
      { path },
    );
  }
  try {
    await unlink(path);
    logger.info({ path }, 'removed a stale Workload API socket (nothing was listening on it)');
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw wrapListen(error, path);
  }
}

export function wrapListen(error: unknown, path: string): WorkloadApiServerError {
  if (error instanceof WorkloadApiServerError) return error;
  const errno = errnoOf(error);
  if (errno === 'EADDRINUSE') {
    return new WorkloadApiServerError(
      'ERR_WID_WORKLOAD_API_SOCKET_IN_USE',
      `cannot listen on ${path}: address already in use`,
      { path, cause: error },
    );
  }
  return new WorkloadApiServerError(
    'ERR_WID_WORKLOAD_API_LISTEN_FAILED',
    `cannot listen on ${path}: ${error instanceof Error ? error.message : String(error)}`,
    { path, cause: error },
  );
}

/** Removes the socket file if it is still the one we created (same device and inode). */
export async function removeOwnSocket(path: string, ino: number | undefined, dev: number | undefined): Promise<void> {
  try {
    const st = await lstat(path);
    if (ino !== undefined && (st.ino !== ino || st.dev !== dev)) return;
    await unlink(path);
  } catch {
    // Already gone, or not ours to remove.
  }
}
