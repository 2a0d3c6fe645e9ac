import { CodecEncodeError, ValueTooLargeError } from '../errors.js'
import { msgpackSerializer } from '../codecs/msgpack-serializer.js'
import { estimateSize } from './size-estimate.js'

/**
 * Enforces `maxValueBytes` for a cache that never encodes (memory only), with the meaning it
 * has on Redis: the size of the value once serialized (msgpack, the default serializer), so a
 * value is accepted by both backends or by neither.
 *
 * Encoding every value would cost more than the write itself, so the estimate decides first:
 * msgpack never needs more than twice the estimated heap size (UTF-8 takes at most 3 bytes per
 * UTF-16 unit, which the estimate counts as 2; headers are smaller than the per-item overhead
 * the estimate adds), so only values whose doubled estimate reaches the bound are encoded.
 */
export function checkValueSize(key: string, value: unknown, maxValueBytes: number): void {
  checkStorable(key, value)
  if (estimateSize(value) * 2 + 64 < maxValueBytes) return
  const size = msgpackSerializer.serialize(value).byteLength
  if (size > maxValueBytes) throw new ValueTooLargeError(key, size, maxValueBytes)
}

/** Deepest nesting a memory cache accepts; deeper values would overflow the stack on the way to Redis. */
export const MAX_VALUE_DEPTH = 1000

/**
 * Refuses, with `E_CODEC_ENCODE`, what the default serializer cannot carry, so a memory cache
 * stores what a Redis cache would: functions and symbols anywhere in the value, and nesting
 * deeper than {@link MAX_VALUE_DEPTH} (cycles included). Iterative, so a deep value gets the coded
 * error instead of a `RangeError`.
 */
function checkStorable(key: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw new CodecEncodeError(key, new TypeError(`a ${typeof value} cannot be stored`))
    return
  }
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number]
    if (typeof item === 'function' || typeof item === 'symbol') throw new CodecEncodeError(key, new TypeError(`a ${typeof item} cannot be stored`))
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item) || item instanceof Date) continue
    // A cycle (which no serializer here can carry) ends up here too.
    if (depth > MAX_VALUE_DEPTH) {
      throw new CodecEncodeError(key, new RangeError(`the value is nested deeper than ${MAX_VALUE_DEPTH} levels, or contains a cycle`))
    }
    const children = item instanceof Map ? [...item.keys(), ...item.values()] : item instanceof Set ? [...item] : Object.values(item)
    for (const child of children) if (typeof child === 'object' || typeof child === 'function' || typeof child === 'symbol') stack.push([child, depth + 1])
  }
}
