/**
 * @wid/procfs: size-capped, race-aware reads of /proc/<pid>/* for attestors.
 *
 * - {@link readProcText}: reads `<procRoot>/<pid>/<name>` as latin1 under a byte cap, telling a process that is gone
 *   from a missing file, an unreadable file, a file over the cap and an aborted read ({@link ProcfsError} codes).
 *
 * @example
 * import { readProcText } from '@wid/procfs';
 * const { file, text } = await readProcText('/proc', pid, 'cgroup', { maxBytes: 65536, signal });
 */
export type { ProcfsErrorCode, ProcfsErrorFields } from './errors.js';
export { PROCFS_ERROR_CODES, ProcfsError } from './errors.js';
export type { ProcText, ReadProcTextOptions } from './read-proc-text.js';
export { readProcText } from './read-proc-text.js';
