import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { ERR_WID_WORKLOAD_INVALID_TOKEN, ERR_WID_WORKLOAD_NO_IDENTITY } from '../errors.js';

/** An error that already knows its gRPC status (internal: never leaves the package). */
export class StatusError extends Error {
  readonly grpcCode: status;
  constructor(grpcCode: status, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.grpcCode = grpcCode;
  }
}

export function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Maps anything thrown while serving a call to the status the caller sees (Workload Endpoint §6):
 * our own StatusError as is; NO_IDENTITY → PermissionDenied; INVALID_TOKEN → InvalidArgument with the reason;
 * everything else → Unavailable (the client retries with backoff), with the error code but not internals.
 */
export function toStatus(error: unknown): { code: status; details: string } {
  if (error instanceof StatusError) return { code: error.grpcCode, details: error.message };
  const code = codeOf(error);
  if (code === ERR_WID_WORKLOAD_NO_IDENTITY) return { code: status.PERMISSION_DENIED, details: messageOf(error) };
  if (code === ERR_WID_WORKLOAD_INVALID_TOKEN) return { code: status.INVALID_ARGUMENT, details: messageOf(error) };
  return {
    code: status.UNAVAILABLE,
    details: code?.startsWith('ERR_WID_')
      ? `identity source failed (${code}); retry later`
      : 'identity source failed; retry later',
  };
}

export function toServiceError(error: unknown): Partial<ServiceError> {
  const { code, details } = toStatus(error);
  return { code, details, metadata: new Metadata() };
}
