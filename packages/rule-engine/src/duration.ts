import { RuleEngineError } from './errors.js';

// Go's time.ParseDuration grammar, because Teleport (and so every existing workload_identity and tbot config file)
// writes durations that way: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or the bare string "0". No `d` unit, as in Go.
const UNIT_NS: Readonly<Record<string, number>> = Object.freeze({
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // µs, MICRO SIGN
  '\u03bcs': 1e3, // μs, GREEK SMALL LETTER MU
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
});

// Go durations are int64 nanoseconds.
const MAX_NS = 2 ** 63 - 1;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function fail(text: string, why: string): never {
  throw new RuleEngineError(
    'ERR_WID_RULE_INVALID_DURATION',
    `invalid duration ${JSON.stringify(text)}: ${why}; write a Go duration such as 90s, 30m, 1h30m or 24h`,
    { input: text },
  );
}

/**
 * Parses a Go duration string (`300ms`, `1.5h`, `1h30m`, `24h`, `-2m`, `0`) into **milliseconds** (fractional for
 * sub-millisecond units). Units: ns, us (µs), ms, s, m, h. This is the one duration parser of wid: resource
 * `maximum_ttl` fields and the agent's YAML configuration both use it.
 *
 * @throws {RuleEngineError} `ERR_WID_RULE_INVALID_DURATION` with `input`, for anything Go's time.ParseDuration rejects.
 * @example
 * parseDuration('1h30m'); // 5_400_000
 * parseDuration('90s') / 1000; // 90
 */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') fail(String(text), 'not a string');
  let s = 0;
  let negative = false;
  if (text.length > 0 && (text[0] === '-' || text[0] === '+')) {
    negative = text[0] === '-';
    s = 1;
  }
  if (text.slice(s) === '0') return 0;
  if (s === text.length) fail(text, 'empty');
  let totalNs = 0;
  while (s < text.length) {
    const c = text.charCodeAt(s);
    if (!(c === 0x2e || isDigit(c))) fail(text, `expected a number at ${s}`);
    let intStart = s;
    while (s < text.length && isDigit(text.charCodeAt(s))) s++;
    const intPart = text.slice(intStart, s);
    let fracPart = '';
    if (s < text.length && text[s] === '.') {
      s++;
      intStart = s;
      while (s < text.length && isDigit(text.charCodeAt(s))) s++;
      fracPart = text.slice(intStart, s);
    }
    if (intPart === '' && fracPart === '') fail(text, 'a number needs at least one digit');
    const unitStart = s;
    while (s < text.length) {
      const u = text.charCodeAt(s);
      if (u === 0x2e || isDigit(u)) break;
      s++;
    }
    if (unitStart === s) fail(text, 'missing unit');
    const unit = text.slice(unitStart, s);
    const scale = Object.hasOwn(UNIT_NS, unit) ? UNIT_NS[unit] : undefined;
    if (scale === undefined) fail(text, `unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    const value = Number(`${intPart === '' ? '0' : intPart}.${fracPart === '' ? '0' : fracPart}`) * scale;
    totalNs += value;
    if (!Number.isFinite(totalNs) || totalNs > MAX_NS) fail(text, 'too large');
  }
  const ms = totalNs / 1e6;
  return negative ? -ms : ms;
}
