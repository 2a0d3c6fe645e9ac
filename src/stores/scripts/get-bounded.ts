import { defineScript } from './lua-script.js'

/**
 * A read that never transfers what it would refuse: returns the string under KEYS[1] when it
 * holds at most ARGV[1] bytes, and otherwise unlinks it and says why, so a huge or foreign value
 * costs one round trip once instead of a transfer on every read.
 *
 * Returns the value; `false` (nil) when the key is missing; `-1` when it held another type (a hash
 * or list written by other code) and was unlinked; its length when it was longer and was unlinked.
 * Two commands on the common path: STRLEN (0 for a missing key, an error for another type), then
 * GET.
 */
export const GET_BOUNDED = defineScript(`
local length = redis.pcall('STRLEN', KEYS[1])
if type(length) == 'table' then
  redis.call('UNLINK', KEYS[1])
  return -1
end
if length > tonumber(ARGV[1]) then
  redis.call('UNLINK', KEYS[1])
  return length
end
return redis.call('GET', KEYS[1])`)
