import { CodecEncodeError, ValueTooLargeError } from '../errors.js'
import { msgpackSerializer } from '../codecs/msgpack-serializer.js'

/** Deepest nesting a memory cache accepts; deeper values would overflow the stack on the way to Redis. */
export const MAX_VALUE_DEPTH = 1000

const OBJECT_OVERHEAD = 16
const ENTRY_OVERHEAD = 8

/**
 * Enforces, for a cache that never encodes (memory only), what a Redis cache's encoding enforces,
 * so a value is accepted by both backends or by neither:
 * - what the default serializer cannot carry is refused with `E_CODEC_ENCODE`: functions and
 *   symbols anywhere in the value, nesting deeper than {@link MAX_VALUE_DEPTH} (cycles included);
 * - `maxValueBytes` means the size of the value once serialized (msgpack).
 *
 * One walk does both ({@link storableSize}). Encoding every value would cost more than the write
 * itself, so only values whose doubled estimate reaches the bound are encoded.
 */
export function checkValueSize(key: string, value: unknown, maxValueBytes: number): void {
  if (storableSize(key, value) * 2 + 64 < maxValueBytes) return
  const size = msgpackSerializer.serialize(value).byteLength
  if (size > maxValueBytes) throw new ValueTooLargeError(key, size, maxValueBytes)
}

/**
 * Walks the value once, iteratively (a deep value gets the coded error, not a `RangeError`), and
 * returns an upper-leaning size: strings 2 bytes a character, numbers 8, binary data by its
 * length, every property name, every occurrence of a shared reference. msgpack never needs more
 * than twice this figure (UTF-8 takes at most 3 bytes per UTF-16 unit; its headers are smaller
 * than the overheads counted here). Throws `E_CODEC_ENCODE` for what cannot be stored.
 */
export function storableSize(key: string, value: unknown): number {
  let total = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number]
    switch (typeof item) {
      case 'string':
        total += 12 + item.length * 2
        continue
      case 'bigint':
        total += 16 + Math.ceil(item.toString(16).length / 2)
        continue
      case 'function':
      case 'symbol':
        throw new CodecEncodeError(key, new TypeError(`a ${typeof item} cannot be stored`))
      case 'object':
        break
      default:
        total += 8
        continue
    }
    if (item === null) {
      total += 8
      continue
    }
    // A cycle (which no serializer here can carry) ends up here too.
    if (depth > MAX_VALUE_DEPTH) {
      throw new CodecEncodeError(key, new RangeError(`the value is nested deeper than ${MAX_VALUE_DEPTH} levels, or contains a cycle`))
    }
    total += OBJECT_OVERHEAD
    if (ArrayBuffer.isView(item)) total += item.byteLength
    else if (item instanceof Date) total += 8
    else if (item instanceof Map) {
      for (const [k, v] of item) {
        total += ENTRY_OVERHEAD
        stack.push([k, depth + 1], [v, depth + 1])
      }
    } else if (item instanceof Set || Array.isArray(item)) {
      for (const child of item as Iterable<unknown>) {
        total += ENTRY_OVERHEAD
        stack.push([child, depth + 1])
      }
    } else {
      for (const name in item) {
        total += ENTRY_OVERHEAD + name.length * 2
        stack.push([(item as Record<string, unknown>)[name], depth + 1])
      }
    }
  }
  return total
}
