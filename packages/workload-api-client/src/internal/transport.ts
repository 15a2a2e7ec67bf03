import { type ChannelOptions, Client, type ClientReadableStream, credentials } from '@grpc/grpc-js';
import { createWorkloadApiMetadata } from '@wid/workload-api-proto';
import { WorkloadApiClientError } from '../errors.js';
import { fromGrpcError } from './status.js';

/** What the transport needs of one method of the service definition. */
export interface MethodDescriptor<Req, Res> {
  readonly path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/** A response that failed to decode; turned into ERR_WID_CLIENT_MALFORMED_RESPONSE by the caller, never a crash. */
export class Undecodable {
  constructor(readonly cause: unknown) {}
}

/** Per-call context: a signal that fires on abort or close, and the typed error to report when it fired. */
export interface CallContext {
  readonly signal: AbortSignal;
  interrupted(): WorkloadApiClientError;
}

/** Reads a server stream one message at a time. Messages carry full state, so only the newest unread one is kept. */
export interface ResponseStream<T> {
  /** The next message, `undefined` when the server ended the stream cleanly; rejects with a typed error. */
  next(): Promise<T | Undecodable | undefined>;
  cancel(): void;
}

// Workload Endpoint §5: every request carries `workload.spiffe.io: true`.
const metadata = createWorkloadApiMetadata;

function methodName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function safeDeserialize<Res>(m: MethodDescriptor<unknown, Res>): (bytes: Buffer) => Res | Undecodable {
  return (bytes) => {
    try {
      return m.responseDeserialize(bytes);
    } catch (cause) {
      return new Undecodable(cause);
    }
  };
}

/** A thin layer over one grpc-js channel: security header on every call, typed errors, abort support. */
export class Transport {
  readonly #client: Client;
  readonly #address: string;

  /** `target` is the gRPC target of the endpoint (also reported as `address` in errors). */
  constructor(target: string, channelOptions: ChannelOptions) {
    // No TLS on the Workload Endpoint (Workload Endpoint §3): the socket's reachability is the boundary.
    this.#client = new Client(target, credentials.createInsecure(), channelOptions);
    this.#address = target;
  }

  unary<Req, Res>(m: MethodDescriptor<Req, Res>, request: Req, ctx: CallContext): Promise<Res | Undecodable> {
    const method = methodName(m.path);
    return new Promise((resolve, reject) => {
      if (ctx.signal.aborted) {
        reject(ctx.interrupted());
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = this.#client.makeUnaryRequest(
        m.path,
        (v: Req) => m.requestSerialize(v),
        safeDeserialize(m),
        request,
        metadata(),
        {},
        (err, value) => {
          ctx.signal.removeEventListener('abort', onAbort);
          if (ctx.signal.aborted) reject(ctx.interrupted());
          else if (err) reject(fromGrpcError(err, method, this.#address));
          else if (value === undefined) reject(fromGrpcError(new Error('empty response'), method, this.#address));
          else resolve(value);
        },
      );
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  stream<Req, Res>(m: MethodDescriptor<Req, Res>, request: Req, ctx: CallContext): ResponseStream<Res> {
    const method = methodName(m.path);
    if (ctx.signal.aborted) {
      const err = ctx.interrupted();
      return { next: () => Promise.reject(err), cancel: () => {} };
    }
    const call: ClientReadableStream<Res | Undecodable> = this.#client.makeServerStreamRequest(
      m.path,
      (v: Req) => m.requestSerialize(v),
      safeDeserialize(m),
      request,
      metadata(),
      {},
    );
    let pending: { value: Res | Undecodable } | undefined;
    let ended = false;
    let failure: WorkloadApiClientError | undefined;
    let waiter: (() => void) | undefined;
    const wake = (): void => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    const onAbort = (): void => {
      failure ??= ctx.interrupted();
      call.cancel();
      wake();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      ctx.signal.removeEventListener('abort', onAbort);
    };
    call.on('data', (msg: Res | Undecodable) => {
      pending = { value: msg };
      wake();
    });
    call.on('error', (err) => {
      finish();
      failure ??= ctx.signal.aborted ? ctx.interrupted() : fromGrpcError(err, method, this.#address);
      wake();
    });
    call.on('end', () => {
      finish();
      ended = true;
      wake();
    });
    const next = async (): Promise<Res | Undecodable | undefined> => {
      for (;;) {
        if (ctx.signal.aborted) throw ctx.interrupted();
        if (pending !== undefined) {
          const { value } = pending;
          pending = undefined;
          return value;
        }
        if (failure !== undefined) throw failure;
        if (ended) return undefined;
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
      }
    };
    return {
      next,
      cancel: () => {
        finish();
        call.cancel();
      },
    };
  }

  close(): void {
    this.#client.close();
  }
}

/** Builds the error for a response that cannot be turned into SVIDs or bundles. */
export function malformed(method: string, field: string, message: string, cause?: unknown): WorkloadApiClientError {
  return new WorkloadApiClientError('ERR_WID_CLIENT_MALFORMED_RESPONSE', `malformed ${method} response: ${message}`, {
    method,
    field,
    cause,
  });
}
