/**
 * Cached values as JSON, for `strata get`. Types JSON cannot hold are written as an object with
 * one `$`-tag key, so nothing is silently changed into something else:
 *
 * | value | printed as |
 * |---|---|
 * | `Date` | `{ "$date": "2024-05-01T12:00:00.000Z" }` (ISO 8601; `null` for an invalid date) |
 * | `Map` | `{ "$map": [[key, value], …] }` (keys and values tagged too) |
 * | `Set` | `{ "$set": [value, …] }` |
 * | `bigint` | `{ "$bigint": "123456789012345678901234567890" }` |
 * | `Buffer`, `Uint8Array` | `{ "$bytes": "<base64>" }` |
 * | `undefined` (inside an array or object) | `{ "$undefined": true }` |
 * | `NaN`, `Infinity`, `-Infinity`, `-0` | `{ "$number": "NaN" }` … |
 * | an object whose only key is one of these tags | `{ "$object": { … } }`, so it is not read as a tag |
 *
 * Everything else (strings, finite numbers, booleans, `null`, arrays, plain objects) is plain JSON.
 */

/** Tag keys, for the `$object` escape. */
const TAGS = new Set(['$date', '$map', '$set', '$bigint', '$bytes', '$undefined', '$number', '$object'])

/** `value` as JSON text in the tagged form above, indented by two spaces. */
export function toTaggedJson(value: unknown): string {
  return JSON.stringify(tagged(value, new Set()), null, 2)
}

/** The JSON-ready form of `value`; `seen` guards against cycles (msgpack cannot make them, a custom serializer could). */
export function tagged(value: unknown, seen: Set<object>): unknown {
  if (value === undefined) return { $undefined: true }
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? '-0' : String(value) }
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (seen.has(value)) return { $cycle: true }
  seen.add(value)
  try {
    if (value instanceof Map) return { $map: [...value].map(([k, v]) => [tagged(k, seen), tagged(v, seen)]) }
    if (value instanceof Set) return { $set: [...value].map((item) => tagged(item, seen)) }
    if (Array.isArray(value)) return value.map((item) => tagged(item, seen))
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = tagged(item, seen)
    const keys = Object.keys(out)
    return keys.length === 1 && TAGS.has(keys[0]!) ? { $object: out } : out
  } finally {
    seen.delete(value)
  }
}
