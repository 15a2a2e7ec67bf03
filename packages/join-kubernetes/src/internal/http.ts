import { type Dispatcher, request } from 'undici';
import { KubernetesJoinError, type KubernetesJoinErrorCode } from '../errors.js';

export interface JsonRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly dispatcher: Dispatcher | undefined;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly signal: AbortSignal | undefined;
  /** The code used for every failure of this call. */
  readonly code: KubernetesJoinErrorCode;
  /** Statuses accepted as success. */
  readonly okStatuses: readonly number[];
}

/** One bounded JSON HTTP exchange; every failure becomes `code` (or ABORTED) with the URL and status. */
export async function fetchJson(req: JsonRequest): Promise<unknown> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const fail = (message: string, status?: number, cause?: unknown) =>
    new KubernetesJoinError(req.code, message, { url: req.url, status }, cause === undefined ? undefined : { cause });
  let status: number;
  let text: string;
  try {
    const response = await request(req.url, {
      method: req.method ?? 'GET',
      headers: { accept: 'application/json', ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}),
    });
    status = response.statusCode;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > req.maxBytes) {
        response.body.destroy();
        throw fail(`the answer of ${req.url} exceeds ${req.maxBytes} bytes`, status);
      }
      chunks.push(chunk as Buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } catch (cause) {
    if (cause instanceof KubernetesJoinError) throw cause;
    if (req.signal?.aborted) {
      throw new KubernetesJoinError(
        'ERR_WID_JOIN_KUBERNETES_ABORTED',
        'the join was aborted',
        { url: req.url },
        { cause },
      );
    }
    if (timeout.aborted) throw fail(`${req.url} did not answer within ${req.timeoutMs} ms`, undefined, cause);
    throw fail(`could not reach ${req.url}`, undefined, cause);
  }
  if (!req.okStatuses.includes(status)) throw fail(`${req.url} answered HTTP ${status}`, status);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw fail(`the answer of ${req.url} is not JSON`, status, cause);
  }
}
