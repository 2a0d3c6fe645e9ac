import { defineScript } from './lua-script.js'

/**
 * Renews a lock's lease only while it is still held by the caller's token.
 * KEYS[1] = lock key; ARGV[1] = token; ARGV[2] = lease in ms. Returns 1 when renewed.
 */
export const EXTEND_LOCK = defineScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
