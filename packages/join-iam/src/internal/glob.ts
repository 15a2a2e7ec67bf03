/**
 * Anchored glob match: `*` matches any run of characters (including none), `?` exactly one, every other character
 * itself. No regular expression is built, so a pattern cannot inject one, and the greedy-with-backtrack-to-last-star
 * walk runs in O(pattern × text) at worst.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '?' || (pc !== undefined && pc !== '*' && pc === text[t])) {
      p++;
      t++;
    } else if (pc === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
