import { crc32 as zlibCrc32 } from 'node:zlib'

/** CRC-32 (IEEE) of `bytes[start, end)`, from node:zlib (native; Node >= 20.15). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end))
}
