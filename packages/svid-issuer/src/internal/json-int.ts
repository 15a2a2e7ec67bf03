// JSON.parse turns every number into a double, so integers above 2^53 lose digits (9223372036854775807 comes back
// as 9223372036854775808). `spiffe_sequence` is a uint64 (Trust Domain and Bundle §4.1.1): this tiny scanner finds
// the raw text of a top-level member so it can be read exactly as a bigint. It runs only on text JSON.parse has
// already accepted, so it need not validate; like JSON.parse, the last of duplicate members wins.

/**
 * The raw JSON text of member `name` of the top-level object in `json`, or undefined when absent. `json` must be
 * valid JSON whose top-level value is an object.
 */
export function rawTopLevelMember(json: string, name: string): string | undefined {
  let i = skipWhitespace(json, 0);
  if (json[i] !== '{') return undefined;
  i = skipWhitespace(json, i + 1);
  let found: string | undefined;
  while (i < json.length && json[i] !== '}') {
    const keyEnd = endOfString(json, i);
    const rawKey = json.slice(i, keyEnd);
    // Keys with escapes (e.g. "spiffe\u005fsequence") are decoded as JSON.parse would.
    const key = rawKey.includes('\\') ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    i = skipWhitespace(json, keyEnd);
    i = skipWhitespace(json, i + 1); // ':'
    const valueEnd = endOfValue(json, i);
    if (key === name) found = json.slice(i, valueEnd);
    i = skipWhitespace(json, valueEnd);
    if (json[i] === ',') i = skipWhitespace(json, i + 1);
  }
  return found;
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** `s[i]` is `"`; returns the index just past the closing quote. */
function endOfString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}

/** Returns the index just past the value starting at `s[i]`. */
function endOfValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return endOfString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < s.length) {
      const d = s[i];
      if (d === '"') {
        i = endOfString(s, i);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // number, true, false, null
  while (i < s.length) {
    const d = s[i];
    if (d === ',' || d === '}' || d === ']' || d === ' ' || d === '\t' || d === '\n' || d === '\r') break;
    i++;
  }
  return i;
}
