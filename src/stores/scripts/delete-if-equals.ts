import { defineScript } from './lua-script.js'

/**
 * Compare-and-delete: unlinks KEYS[1] only while it still holds ARGV[1], byte for byte.
 * Used to drop a corrupt entry without racing a writer that has just replaced it.
 * Returns 1 when deleted, 0 otherwise.
 */
export const DELETE_IF_EQUALS = defineScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('UNLINK', KEYS[1])
end
return 0`)
