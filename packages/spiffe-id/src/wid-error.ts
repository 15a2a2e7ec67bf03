/**
 * The base of every error wid throws. Match on `code` (a stable string, append-only), not on
 * `instanceof` or message text: two copies of a package in one tree each have their own
 * class, but codes stay equal.
 *
 * @example
 * try { SpiffeId.parse(input) } catch (e) {
 *   if (e instanceof WidError && e.code === 'ERR_WID_SPIFFE_ID_EMPTY_SEGMENT') ...
 * }
 */
export class WidError extends Error {
  /** Stable machine-readable code, `ERR_WID_<PACKAGE>_<WHAT>`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is a wid error (of any package, any copy) carrying `code`, or any wid error if `code` is omitted. */
export function isWidError(error: unknown, code?: string): error is WidError {
  if (typeof error !== 'object' || error === null) return false;
  const c = (error as { code?: unknown }).code;
  return typeof c === 'string' && c.startsWith('ERR_WID_') && (code === undefined || c === code);
}
