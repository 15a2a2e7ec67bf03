const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A DNS SAN: a hostname (RFC 1123 labels of letters, digits and inner hyphens, 1-63 characters each, 253 in total),
 * optionally with a leading `*.` wildcard label (RFC 6125 §6.4.3: the wildcard is the whole left-most label).
 */
export function isValidDnsSan(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const rest = name.startsWith('*.') ? name.slice(2) : name;
  if (rest === '') return false;
  for (const label of rest.split('.')) if (!LABEL.test(label)) return false;
  return true;
}
