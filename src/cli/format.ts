/** Small, pure text helpers for human-readable CLI output. */

/** One titled block of label/value rows. */
export interface TableSection {
  /** Heading line of the block. */
  readonly title: string
  /** Rows as `[label, value]`; labels are padded into one column across all sections. */
  readonly rows: ReadonlyArray<readonly [string, string]>
}

/**
 * Replaces the secret parts of a Redis URL with `***`: the password of `user:password@`, and a
 * user-info part without `:` too, since some clients read `redis://secret@host` as a password.
 * A text that does not look like a URL with user-info is returned unchanged.
 */
export function redactUrl(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url)
  if (match === null) return url
  const scheme = match[1] ?? ''
  const userInfo = match[2] ?? ''
  return `${scheme}${redactUserInfo(userInfo)}@${url.slice(match[0].length)}`
}

/**
 * The user-info of a URL anywhere in a text: scheme, then everything up to the last `@` before
 * the path, query, fragment or end of the word (a password may itself hold `@` or `:`).
 */
const URL_USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi

/**
 * Fields whose value is a secret, as `name=value` (URL queries, key=value logs) or `name: value`
 * and `"name":"value"` (JSON, YAML). A separator is required: in Redis' own texts
 * ("username-password pair") the word alone is not followed by a value.
 */
const SECRET_FIELD = /\b(password|passwd|pwd|pass|requirepass|masterauth|secret|token|auth)(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)/gi

/**
 * Text safe to print: the credentials of every URL in it (`redis://user:***@host`, and a lone
 * user-info part, see {@link redactUrl}) and the values of known secret fields (`password=***`)
 * are replaced by `***`. Nothing else changes: the password is never searched for as a word,
 * because replacing every occurrence of it would reveal it ("cannot connect to *** at …" says
 * the password is `Redis`) and mangle hosts that contain it.
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_USER_INFO, (_, scheme: string, userInfo: string) => `${scheme}${redactUserInfo(userInfo)}@`).replace(SECRET_FIELD, '$1$2***')
}

/** `user:password` → `user:***`; a part without `:` (read as a password by some clients) → `***`. */
function redactUserInfo(userInfo: string): string {
  const colon = userInfo.indexOf(':')
  return colon === -1 ? '***' : `${userInfo.slice(0, colon)}:***`
}

/** `1234567` → `1,234,567`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US')
}

/** Bytes in binary units with one decimal: `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** A ratio in [0, 1] as a percentage with one decimal; `null` (nothing measured) as `n/a`. */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${(ratio * 100).toFixed(1)}%`
}

/** Seconds as the two largest units: `93784` → `1d 2h`, `59` → `59s`. */
export function formatUptime(seconds: number): string {
  const parts: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [Math.floor(seconds % 60), 's'],
  ]
  const first = parts.findIndex(([amount]) => amount > 0)
  if (first === -1) return '0s'
  return parts
    .slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount}${unit}`)
    .join(' ')
}

/** Renders sections as an aligned two-column table, ending with a newline. */
export function renderTable(sections: readonly TableSection[]): string {
  const width = Math.max(0, ...sections.flatMap((section) => section.rows.map(([label]) => label.length)))
  const blocks = sections.map((section) => {
    const rows = section.rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)
    return [section.title, ...rows].join('\n')
  })
  return `${blocks.join('\n\n')}\n`
}
