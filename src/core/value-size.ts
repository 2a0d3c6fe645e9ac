import { ValueTooLargeError } from '../errors.js'
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
  if (estimateSize(value) * 2 + 64 < maxValueBytes) return
  const size = msgpackSerializer.serialize(value).byteLength
  if (size > maxValueBytes) throw new ValueTooLargeError(key, size, maxValueBytes)
}
