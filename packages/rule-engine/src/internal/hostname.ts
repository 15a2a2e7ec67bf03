const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A DNS SAN: a hostname (RFC 1123 labels of letters, digits and inner hyphens, 1-63 characters each, 253 in total),
 * optionally with a leading `*.` wildcard label (RFC 6125 §6.4.3: the wildcard is the whole left-most label) when
 * `allowWildcard` is true. A rendered template passes `allowWildcard` only when its literal text starts with `*.`,
 * so an attribute value can never introduce a wildcard.
 */
export function isValidDnsSan(name: string, allowWildcard = true): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const rest = allowWildcard && name.startsWith('*.') ? name.slice(2) : name;
  if (rest === '') return false;
  for (const label of rest.split('.')) if (!LABEL.test(label)) return false;
  return true;
}
