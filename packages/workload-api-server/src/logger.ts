// The logger seam is declared once, in @wid/spiffe-id (pino-compatible `(obj, msg)`); re-exported here so users of
// this package find it under the name they expect.
export type { Logger } from '@wid/spiffe-id';
