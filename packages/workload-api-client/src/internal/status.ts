import { status } from '@grpc/grpc-js';
import { type ClientErrorCode, WorkloadApiClientError } from '../errors.js';

const BY_STATUS: Partial<Record<number, ClientErrorCode>> = {
  [status.INVALID_ARGUMENT]: 'ERR_WID_CLIENT_INVALID_ARGUMENT',
  [status.PERMISSION_DENIED]: 'ERR_WID_CLIENT_PERMISSION_DENIED',
  [status.UNAVAILABLE]: 'ERR_WID_CLIENT_UNAVAILABLE',
  [status.UNIMPLEMENTED]: 'ERR_WID_CLIENT_UNIMPLEMENTED',
  [status.DEADLINE_EXCEEDED]: 'ERR_WID_CLIENT_DEADLINE_EXCEEDED',
};

/** `status[code]` gives the constant's name; fall back to the number for codes grpc-js does not know. */
function statusName(code: number): string {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  return name ?? String(code);
}

/** Maps a gRPC failure (a grpc-js ServiceError) to a typed client error with the status as `grpcCode`. */
export function fromGrpcError(err: unknown, method: string, address: string): WorkloadApiClientError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code !== 'number') {
    return new WorkloadApiClientError('ERR_WID_CLIENT_RPC_FAILED', `${method} failed: ${String(e?.message ?? err)}`, {
      method,
      address,
      cause: err,
    });
  }
  const details = typeof e.details === 'string' ? e.details : '';
  const code = BY_STATUS[e.code] ?? 'ERR_WID_CLIENT_RPC_FAILED';
  return new WorkloadApiClientError(
    code,
    `${method} failed with gRPC status ${statusName(e.code)}${details === '' ? '' : `: ${details}`}`,
    { grpcCode: e.code, grpcDetails: details, method, address, cause: err },
  );
}
