/**
 * The URL (or comma-separated URLs, as a Redis Cluster's REDIS_URL, in groups separated by `;`
 * as AMQP_URL's clusters) without passwords.
 */
export function redactUrl(url: string): string {
  return url.split(';').map(redactList).join(';');
}

function redactList(url: string): string {
  return url
    .split(',')
    .map((one) => {
      try {
        const u = new URL(one.trim());
        if (u.password) u.password = '***';
        return u.toString();
      } catch {
        return '<unparseable url>';
      }
    })
    .join(',');
}

/** A setting's value as it may be printed: URLs without their passwords, secrets not at all. */
export function printableSetting(name: string, value: string): string {
  if (/SECRET|TOKEN|PASSWORD/.test(name)) return '***';
  if (name.endsWith('_URL')) return redactUrl(value);
  return value;
}
