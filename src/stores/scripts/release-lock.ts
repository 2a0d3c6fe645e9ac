import { defineScript } from './lua-script.js'

/**
 * Releases a lock only while it is still held by the caller's token (a holder whose lease ran
 * out must not delete its successor's lock), then tells waiters on other instances at once.
 * KEYS[1] = lock key; ARGV[1] = token; ARGV[2] = channel; ARGV[3] = message.
 * Returns 1 when released.
 */
export const RELEASE_LOCK = defineScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`)
