import { ProcfsError, type ProcfsErrorCode, type ProcText, readProcText } from '@wid/procfs';
import { SystemdAttestorError, type SystemdAttestorErrorCode } from '../errors.js';

/** This attestor's (stable, documented) code for each @wid/procfs failure. */
const FROM_PROCFS = {
  ERR_WID_PROCFS_PROCESS_GONE: 'ERR_WID_ATTEST_SYSTEMD_PROCESS_GONE',
  ERR_WID_PROCFS_FILE_MISSING: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED',
  ERR_WID_PROCFS_UNREADABLE: 'ERR_WID_ATTEST_SYSTEMD_PROC_UNREADABLE',
  ERR_WID_PROCFS_TOO_LARGE: 'ERR_WID_ATTEST_SYSTEMD_PROC_MALFORMED',
  ERR_WID_PROCFS_ABORTED: 'ERR_WID_ATTEST_SYSTEMD_ABORTED',
} as const satisfies Record<ProcfsErrorCode, SystemdAttestorErrorCode>;

/** {@link readProcText} with its {@link ProcfsError} rethrown under this attestor's code (the ProcfsError as `cause`). */
export async function readProc(
  procRoot: string,
  pid: number,
  name: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<ProcText> {
  try {
    return await readProcText(procRoot, pid, name, { maxBytes, signal });
  } catch (e) {
    if (!(e instanceof ProcfsError)) throw e;
    const aborted = e.code === 'ERR_WID_PROCFS_ABORTED';
    const hint = e.code === 'ERR_WID_PROCFS_TOO_LARGE' ? ' (option maxProcFileBytes)' : '';
    throw new SystemdAttestorError(
      FROM_PROCFS[e.code],
      aborted ? `systemd attestation of pid ${pid} was aborted` : e.message + hint,
      { pid, file: aborted ? undefined : e.file, errno: e.errno },
      // An abort keeps the signal's reason as cause, like every other ABORTED of this attestor.
      { cause: aborted ? e.cause : e },
    );
  }
}
