/**
 * AMQP topic matching (`*` = one word, `#` = zero or more words), used to route a delivery to the
 * handler whose pattern matches its routing key, as the broker did when it routed it to us.
 */
export function topicMatches(pattern: string, key: string): boolean {
  return matchWords(pattern.split('.'), 0, key.split('.'), 0);
}

/** `topicMatches` with the pattern split once: for a handler that matches every delivery. */
export function topicMatcher(pattern: string): (key: string) => boolean {
  const words = pattern.split('.');
  return (key) => matchWords(words, 0, key.split('.'), 0);
}

function matchWords(p: string[], i: number, k: string[], j: number): boolean {
  if (i === p.length) return j === k.length;
  if (p[i] === '#') {
    for (let skip = j; skip <= k.length; skip++) {
      if (matchWords(p, i + 1, k, skip)) return true;
    }
    return false;
  }
  if (j === k.length) return false;
  return (p[i] === '*' || p[i] === k[j]) && matchWords(p, i + 1, k, j + 1);
}

export function isTopicPattern(pattern: string): boolean {
  return pattern.split('.').some((w) => w === '*' || w === '#');
}
