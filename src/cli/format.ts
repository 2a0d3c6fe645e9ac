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
  const colon = userInfo.indexOf(':')
  const redacted = colon === -1 ? '***' : `${userInfo.slice(0, colon)}:***`
  return `${scheme}${redacted}@${url.slice(match[0].length)}`
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
