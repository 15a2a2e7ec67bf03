import { WidError } from '@wid/spiffe-id';

/** Every code @wid/attestor-systemd throws, with what the user should do (docs/errors.md is generated from this). */
export const ATTEST_SYSTEMD_ERROR_CODES = {
  ERR_WID_ATTEST_SYSTEMD_BAD_OPTION: 'Fix the named option (its TSDoc lists the accepted values).',
  ERR_WID_ATTEST_SYSTEMD_BAD_PID: 'Pass a positive integer PID.',
  ERR_WID_ATTEST_SYSTEMD_NO_UNIT:
    'Soft failure, nothing is broken: the process does not run in a systemd service (`reason` says whether it is in ' +
    'a scope, only in a slice, outside systemd or outside the cgroup namespace). Run the workload as a .service unit ' +
    'if rules should match on workload.systemd.service.',
  ERR_WID_ATTEST_SYSTEMD_PROC_UNREADABLE:
    'Let the agent read /proc/<pid>/cgroup (check procfs hidepid and the PID namespace), or fix procRoot.',
  ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED:
    'procRoot does not look like a Linux procfs (the error names the file and the bad line): point procRoot at a ' +
    'procfs mount.',
  ERR_WID_ATTEST_SYSTEMD_PROCESS_GONE: 'The process exited before it could be attested; nothing to fix.',
  ERR_WID_ATTEST_SYSTEMD_ABORTED: 'The caller aborted the operation through its AbortSignal; nothing to fix.',
} as const;

/** Union of every code in {@link ATTEST_SYSTEMD_ERROR_CODES}. */
export type SystemdAttestorErrorCode = keyof typeof ATTEST_SYSTEMD_ERROR_CODES;

/**
 * Why a process has no systemd service (the `reason` of `ERR_WID_ATTEST_SYSTEMD_NO_UNIT`):
 * - `scope`: it runs in a `.scope` unit (a login session, `systemd-run --scope`, a container runtime's scope);
 * - `slice`: its cgroup is a slice itself (no unit below it), e.g. `/system.slice`;
 * - `no-unit`: the cgroup path names no valid unit (e.g. `/`, or a path not made by systemd);
 * - `not-systemd`: the cgroup file has neither a cgroup v2 line nor a v1 `name=systemd` hierarchy;
 * - `cgroup-namespace`: the path is relative to another cgroup namespace (starts with `/..`), so the unit is unknown.
 */
export type SystemdNoUnitReason = 'scope' | 'slice' | 'no-unit' | 'not-systemd' | 'cgroup-namespace';

/** Structured fields of a {@link SystemdAttestorError}; each is present only where it applies. */
export interface SystemdAttestorErrorFields {
  /** The process concerned. */
  readonly pid?: number | undefined;
  /** The file that was read or was wrong (e.g. `/proc/42/cgroup`). */
  readonly file?: string | undefined;
  /** The offending line of `file` (truncated to 200 characters), for malformed content. */
  readonly line?: string | undefined;
  /** For NO_UNIT: why the process has no service. */
  readonly reason?: SystemdNoUnitReason | undefined;
  /** For NO_UNIT: the cgroup path that was examined. */
  readonly cgroupPath?: string | undefined;
  /** For NO_UNIT with reason `scope`: the scope unit (e.g. `session-3.scope`). */
  readonly unit?: string | undefined;
  /** The errno name (`EACCES`, ...) when a system call failed. */
  readonly errno?: string | undefined;
  /** For BAD_OPTION: the option key. */
  readonly key?: string | undefined;
}

/**
 * Thrown by everything in @wid/attestor-systemd. Match on `code`; the fields say which process, file and reason.
 * `ERR_WID_ATTEST_SYSTEMD_NO_UNIT` is the soft "no attributes" answer: the Workload API server logs it and leaves
 * `workload.systemd` absent, so rules that need it do not match.
 *
 * @example
 * try { await systemd.attest(pid) } catch (e) {
 *   if (isWidError(e, 'ERR_WID_ATTEST_SYSTEMD_NO_UNIT')) logger.debug({ reason: e.reason }, 'not a service');
 * }
 */
export class SystemdAttestorError extends WidError {
  declare readonly code: SystemdAttestorErrorCode;
  /** Always `systemd`: the attestor that failed. */
  readonly attestor = 'systemd';
  readonly pid: number | undefined;
  readonly file: string | undefined;
  readonly line: string | undefined;
  readonly reason: SystemdNoUnitReason | undefined;
  readonly cgroupPath: string | undefined;
  readonly unit: string | undefined;
  readonly errno: string | undefined;
  readonly key: string | undefined;

  constructor(
    code: SystemdAttestorErrorCode,
    message: string,
    fields: SystemdAttestorErrorFields = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.pid = fields.pid;
    this.file = fields.file;
    this.line = fields.line;
    this.reason = fields.reason;
    this.cgroupPath = fields.cgroupPath;
    this.unit = fields.unit;
    this.errno = fields.errno;
    this.key = fields.key;
  }
}
