/**
 * A reversible rename that lets an own `__proto__` key survive msgpackr, whose decoder renames it
 * to `__proto_` (its guard against prototype pollution).
 *
 * Keys of the form `__proto` followed by n underscores are the only ones touched:
 * - `escapeProtoKeys` turns n ≥ 2 into n + 1, so `__proto__` never reaches the wire;
 * - `unescapeProtoKeys` turns n ≥ 3 back into n − 1, defining `__proto__` as an own data property
 *   (an assignment would set the prototype instead).
 *
 * Every other key, and `__proto_` itself (n = 1), passes unchanged, so the rename is a bijection.
 * Both walks copy only the containers on the way to a renamed key and keep key order. A string Map
 * key or Set member is a value, not a property name, so it is left alone; an object one is walked.
 *
 * @module
 */

const PROTO_FAMILY = /^__proto_+$/
const PROTO_PREFIX_LENGTH = '__proto'.length

/** Whether `object` has an own `__proto__` key: the case msgpackr cannot carry. */
export function hasOwnProtoKey(object: object): boolean {
  return Object.hasOwn(object, '__proto__')
}

/** A copy of `value` in which every `__proto__`-family key with n ≥ 2 underscores gains one. */
export function escapeProtoKeys(value: unknown): unknown {
  return rename(value, 2, 1)
}

/** The inverse of `escapeProtoKeys`, applied to decoded data. */
export function unescapeProtoKeys(value: unknown): unknown {
  return rename(value, 3, -1)
}

function rename(value: unknown, minUnderscores: number, delta: 1 | -1): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const next = rename(item, minUnderscores, delta)
      if (next !== item) (out ??= value.slice())[i] = next
    }
    return out ?? value
  }
  if (value instanceof Map) {
    let changed = false
    const entries: [unknown, unknown][] = []
    for (const [k, v] of value) {
      const nextKey = rename(k, minUnderscores, delta)
      const next = rename(v, minUnderscores, delta)
      changed ||= next !== v || nextKey !== k
      entries.push([nextKey, next])
    }
    return changed ? new Map(entries) : value
  }
  if (value instanceof Set) {
    let changed = false
    const members: unknown[] = []
    for (const m of value) {
      const next = rename(m, minUnderscores, delta)
      changed ||= next !== m
      members.push(next)
    }
    return changed ? new Set(members) : value
  }
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) return value
  // msgpackr writes what `toJSON` returns in place of the object; walk that.
  const { toJSON } = value as { toJSON?: unknown }
  if (typeof toJSON === 'function') {
    const json: unknown = toJSON.call(value)
    return json === value ? value : rename(json, minUnderscores, delta)
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  let changed = false
  const fields: [string, unknown][] = []
  for (const key of keys) {
    const item = record[key]
    const next = rename(item, minUnderscores, delta)
    const renamed = renameKey(key, minUnderscores, delta)
    changed ||= next !== item || renamed !== key
    fields.push([renamed, next])
  }
  if (!changed) return value
  const out = (Object.getPrototypeOf(value) === null ? Object.create(null) : {}) as object
  for (const [key, item] of fields) {
    Object.defineProperty(out, key, {
      value: item,
      writable: true,
      enumerable: true,
      configurable: true,
    })
  }
  return out
}

function renameKey(key: string, minUnderscores: number, delta: 1 | -1): string {
  if (!PROTO_FAMILY.test(key) || key.length - PROTO_PREFIX_LENGTH < minUnderscores) return key
  return delta === 1 ? `${key}_` : key.slice(0, -1)
}
