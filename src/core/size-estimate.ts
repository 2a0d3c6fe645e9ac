const OBJECT_OVERHEAD = 16
const ENTRY_OVERHEAD = 8

/**
 * Rough heap size of a value in bytes, used to bound L1 by `maxBytes`. It walks the value once
 * (shared and cyclic references are counted once) and counts strings as 2 bytes a character,
 * numbers as 8 and binary data by its length. It trades precision for speed: V8's real layout
 * varies, but the figure grows in step with it, which is what an LRU bound needs.
 */
export function estimateSize(value: unknown): number {
  return sizeOf(value, new Set())
}

function sizeOf(value: unknown, seen: Set<object>): number {
  switch (typeof value) {
    case 'string':
      return 12 + value.length * 2
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8
    case 'bigint':
      return 16 + Math.ceil(value.toString(16).length / 2)
    case 'object':
      return value === null ? 8 : objectSize(value, seen)
    default:
      return 8
  }
}

function objectSize(value: object, seen: Set<object>): number {
  if (seen.has(value)) return ENTRY_OVERHEAD
  seen.add(value)
  if (ArrayBuffer.isView(value)) return OBJECT_OVERHEAD + value.byteLength
  if (value instanceof Date) return OBJECT_OVERHEAD + 8
  let total = OBJECT_OVERHEAD
  if (value instanceof Map) {
    for (const [k, v] of value) total += ENTRY_OVERHEAD + sizeOf(k, seen) + sizeOf(v, seen)
  } else if (value instanceof Set || Array.isArray(value)) {
    for (const item of value as Iterable<unknown>) total += ENTRY_OVERHEAD + sizeOf(item, seen)
  } else {
    for (const key in value) {
      total += ENTRY_OVERHEAD + key.length * 2 + sizeOf((value as Record<string, unknown>)[key], seen)
    }
  }
  return total
}
