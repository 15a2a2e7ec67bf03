import { WidError } from '@wid/spiffe-id';

/** Every code @wid/attestor-unix throws, with what the user should do (docs/errors.md is generated from this). */
export const ATTEST_UNIX_ERROR_CODES = {
  ERR_WID_ATTEST_UNIX_ADDON_MISSING:
    'Build the peer-credentials addon: install a C compiler (cc) and run `npm rebuild @wid/attestor-unix` ' +
    '(in the wid repo: `pnpm --filter @wid/attestor-unix build:addon`); it downloads nothing. On non-Linux systems ' +
    'peer credentials are not supported.',
  ERR_WID_ATTEST_UNIX_BAD_OPTION: 'Fix the named option (its TSDoc lists the accepted values).',
  ERR_WID_ATTEST_UNIX_BAD_PID: 'Pass a positive integer PID.',
  ERR_WID_ATTEST_UNIX_NO_SOCKET_FD:
    'Call readPeerCredentials synchronously in the server\'s "connection" handler with the accepted net.Socket, ' +
    'before the socket is closed or handed to another process.',
  ERR_WID_ATTEST_UNIX_PEERCRED_FAILED:
    'Pass a connected Unix-domain stream socket; `errno` says why the kernel refused SO_PEERCRED.',
  ERR_WID_ATTEST_UNIX_NO_PEER_PID:
    'The peer is not a process visible in this PID namespace (or the socket is not a Unix socket): run the agent ' +
    'in a PID namespace that contains the workloads (e.g. hostPID).',
  ERR_WID_ATTEST_UNIX_PROCESS_GONE:
    'The calling process exited (or became a zombie) before it could be attested; the call was refused. If this ' +
    "happens for live processes, check that procRoot points at the procfs of the agent's PID namespace.",
  ERR_WID_ATTEST_UNIX_PROCESS_CHANGED:
    'The PID now belongs to another process, or the process changed its UID/GID after connecting; the call was ' +
    'refused. A workload that drops privileges should connect after doing so.',
  ERR_WID_ATTEST_UNIX_NO_PROCESS_TOKEN:
    'Pass confirmPeer the PeerCredentials that readPeerCredentials returned (with captureProcess left on).',
  ERR_WID_ATTEST_UNIX_PROC_UNREADABLE:
    'Let the agent read /proc/<pid> (run it as root or with CAP_SYS_PTRACE; check procfs hidepid), or fix procRoot.',
  ERR_WID_ATTEST_UNIX_PROC_MALFORMED:
    'procRoot does not look like a Linux procfs (the error names the file and what was wrong): point procRoot at a ' +
    'procfs mount.',
  ERR_WID_ATTEST_UNIX_BINARY_UNREADABLE:
    "Let the agent inspect other processes' executables (run it as root or with CAP_SYS_PTRACE); `errno` says what " +
    'the kernel refused.',
  ERR_WID_ATTEST_UNIX_ETC_UNREADABLE: 'Make <etcRoot>/passwd and <etcRoot>/group readable, or fix etcRoot.',
  ERR_WID_ATTEST_UNIX_ABORTED: 'The caller aborted the operation through its AbortSignal; nothing to fix.',
} as const;

/** Union of every code in {@link ATTEST_UNIX_ERROR_CODES}. */
export type UnixAttestorErrorCode = keyof typeof ATTEST_UNIX_ERROR_CODES;

/** Structured fields of a {@link UnixAttestorError}; each is present only where it applies. */
export interface UnixAttestorErrorFields {
  /** The process concerned. */
  readonly pid?: number | undefined;
  /** The file that was read or was wrong (e.g. `/proc/42/stat`). */
  readonly file?: string | undefined;
  /** The offending line of `file`, for malformed content. */
  readonly line?: string | undefined;
  /** For PROCESS_CHANGED: which fact changed (`start_time`, `uid`, `gid`). */
  readonly field?: string | undefined;
  /** For PROCESS_CHANGED: the value recorded at accept time. */
  readonly expected?: string | number | undefined;
  /** For PROCESS_CHANGED: the value found now. */
  readonly actual?: string | number | undefined;
  /** The errno name (`EACCES`, `ENOTSOCK`, ...) when a system call failed. */
  readonly errno?: string | undefined;
  /** For BAD_OPTION: the option key. */
  readonly key?: string | undefined;
  /** For ADDON_MISSING: every path that was tried, each with why it did not load. */
  readonly tried?: readonly string[] | undefined;
}

/**
 * Thrown by everything in @wid/attestor-unix. Match on `code`; the fields say which process, file and value.
 *
 * @example
 * try { await attestor.confirmPeer(peer) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_ATTEST_UNIX_PROCESS_CHANGED')) deny(e.pid, e.field);
 * }
 */
export class UnixAttestorError extends WidError {
  declare readonly code: UnixAttestorErrorCode;
  /** Always `unix`: the attestor that failed. */
  readonly attestor = 'unix';
  readonly pid: number | undefined;
  readonly file: string | undefined;
  readonly line: string | undefined;
  readonly field: string | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;
  readonly errno: string | undefined;
  readonly key: string | undefined;
  readonly tried: readonly string[] | undefined;

  constructor(
    code: UnixAttestorErrorCode,
    message: string,
    fields: UnixAttestorErrorFields = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.pid = fields.pid;
    this.file = fields.file;
    this.line = fields.line;
    this.field = fields.field;
    this.expected = fields.expected;
    this.actual = fields.actual;
    this.errno = fields.errno;
    this.key = fields.key;
    this.tried = fields.tried;
  }
}
