/**
 * Parses the text of Redis `INFO`: `# Section` headings and `field:value` lines separated by
 * CRLF. Later duplicates win; headings, blank lines and lines without `:` are skipped.
 */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    fields.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  return fields
}

/** A numeric INFO field, or `null` when absent or not a number (older servers, restricted INFO). */
export function infoNumber(fields: ReadonlyMap<string, string>, name: string): number | null {
  const raw = fields.get(name)
  if (raw === undefined || raw === '') return null
  const value = Number(raw)
  return Number.isFinite(value) ? value : null
}

/** A text INFO field, or `null` when absent. */
export function infoText(fields: ReadonlyMap<string, string>, name: string): string | null {
  return fields.get(name) ?? null
}
