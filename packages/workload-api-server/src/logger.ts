/**
 * A pino-compatible logger: each method takes a structured object and a message. The server is silent by default.
 *
 * @example
 * import pino from 'pino';
 * createWorkloadApiServer({ ..., logger: pino() });
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}
