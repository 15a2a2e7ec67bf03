import { WidError } from '@wid/spiffe-id';

/** Every code @wid/procfs throws, with what the user should do (docs/errors.md is generated from this). */
export const PROCFS_ERROR_CODES = {
  ERR_WID_PROCFS_PROCESS_GONE: 'The process exited before its /proc entry could be read; nothing to fix.',
  ERR_WID_PROCFS_FILE_MISSING:
    'The process directory exists but the file does not: procRoot does not look like a Linux procfs (or the kernel ' +
    'lacks the feature); point procRoot at a procfs mount.',
  ERR_WID_PROCFS_UNREADABLE:
    'Let the reader open the file (`errno` says why it could not: check privileges, procfs hidepid and the PID ' +
    'namespace), or fix procRoot.',
  ERR_WID_PROCFS_TOO_LARGE:
    'The file is larger than `maxBytes` and was refused: procRoot does not look like a Linux procfs, or raise the cap.',
  ERR_WID_PROCFS_ABORTED:
    'The caller aborted the read through its AbortSignal (`cause` is the reason); nothing to fix.',
} as const;

/** Union of every code in {@link PROCFS_ERROR_CODES}. */
export type ProcfsErrorCode = keyof typeof PROCFS_ERROR_CODES;

/** Structured fields of a {@link ProcfsError}. */
export interface ProcfsErrorFields {
  /** The process whose /proc entry was read. */
  readonly pid: number;
  /** The full path that was read (`<procRoot>/<pid>/<name>`). */
  readonly file: string;
  /** The errno name (`ENOENT`, `EACCES`, ...) for PROCESS_GONE, FILE_MISSING and UNREADABLE. */
  readonly errno?: string | undefined;
  /** For TOO_LARGE: the byte cap that was exceeded. */
  readonly maxBytes?: number | undefined;
}

/**
 * Thrown by {@link readProcText}. Match on `code`; `pid` and `file` say what was read, `errno` why a system call
 * failed. For system-call failures `cause` is the Node.js error; for ABORTED it is the signal's reason.
 *
 * @example
 * try { await readProcText('/proc', pid, 'cgroup', { maxBytes: 65536 }) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_PROCFS_PROCESS_GONE')) return; // it exited: nothing to attest
 *   throw e;
 * }
 */
export class ProcfsError extends WidError {
  declare readonly code: ProcfsErrorCode;
  readonly pid: number;
  readonly file: string;
  readonly errno: string | undefined;
  readonly maxBytes: number | undefined;

  constructor(code: ProcfsErrorCode, message: string, fields: ProcfsErrorFields, options?: { cause?: unknown }) {
    super(code, message, options);
    this.pid = fields.pid;
    this.file = fields.file;
    this.errno = fields.errno;
    this.maxBytes = fields.maxBytes;
  }
}
