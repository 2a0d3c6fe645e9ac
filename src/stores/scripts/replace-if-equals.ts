import { defineScript } from './lua-script.js'

/**
 * Compare-and-set: replaces KEYS[1] with ARGV[2] only while it still holds ARGV[1], byte for
 * byte, keeping its remaining time to live (`KEEPTTL`, Redis 6.0+). Used to re-encrypt an entry
 * under the current key without racing a writer or a delete that came meanwhile.
 * Returns 1 when replaced, 0 otherwise.
 */
export const REPLACE_IF_EQUALS = defineScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`)
