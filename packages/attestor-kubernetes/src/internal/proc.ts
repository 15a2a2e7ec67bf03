import { ProcfsError, type ProcfsErrorCode, type ProcText, readProcText } from '@wid/procfs';
import { KubernetesAttestorError, type KubernetesAttestorErrorCode } from '../errors.js';
import { abortedError } from './kubelet-client.js';

/** This attestor's (stable, documented) code for each @wid/procfs failure. */
const FROM_PROCFS = {
  ERR_WID_PROCFS_PROCESS_GONE: 'ERR_WID_ATTEST_KUBERNETES_PROCESS_GONE',
  ERR_WID_PROCFS_FILE_MISSING: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
  ERR_WID_PROCFS_UNREADABLE: 'ERR_WID_ATTEST_KUBERNETES_PROC_UNREADABLE',
  ERR_WID_PROCFS_TOO_LARGE: 'ERR_WID_ATTEST_KUBERNETES_PROC_MALFORMED',
  ERR_WID_PROCFS_ABORTED: 'ERR_WID_ATTEST_KUBERNETES_ABORTED',
} as const satisfies Record<ProcfsErrorCode, KubernetesAttestorErrorCode>;

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
    if (e.code === 'ERR_WID_PROCFS_ABORTED') throw abortedError(e.cause, pid);
    const hint = e.code === 'ERR_WID_PROCFS_TOO_LARGE' ? ' (option maxProcFileBytes)' : '';
    throw new KubernetesAttestorError(
      FROM_PROCFS[e.code],
      e.message + hint,
      { pid, file: e.file, errno: e.errno },
      { cause: e },
    );
  }
}
