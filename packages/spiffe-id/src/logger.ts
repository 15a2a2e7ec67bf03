/**
 * The `logger` seam every wid package accepts: the pino-compatible subset `(obj, msg)`. It lives here, beside
 * `WidError`, so that the one shape is declared once; pass `pino()` or anything with these four methods.
 *
 * @example
 * import pino from 'pino';
 * createCertificateAuthority({ trustDomain: 'example.org', logger: pino() });
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

function noop(): void {}

/**
 * The default logger of every wid component: logs nothing.
 *
 * @example
 * const logger = options.logger ?? silentLogger;
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
