/** A surrogate code unit that is not half of a pair: what a client gets by cutting an emoji. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when `s` is well-formed UTF-16 (String.prototype.isWellFormed, which ES2022 lacks).
 * Text that is not cannot be encoded as UTF-8: Redis's cjson, browsers' TextEncoder and other
 * languages' JSON parsers reject or mangle it, so it never enters the system.
 */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** Length in code points: what a person counts as characters closer than UTF-16 units do. */
export function textLength(s: string): number {
  let n = s.length;
  // Each surrogate pair is two UTF-16 units and one code point.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
