import { defineScript } from './lua-script.js'

/**
 * A read that never transfers what it would refuse: returns the string under KEYS[1] when it
 * holds at most ARGV[1] bytes, and otherwise unlinks it and says why, so a huge or foreign value
 * costs one round trip once instead of a transfer on every read.
 *
 * Returns the value; `false` (nil) when the key is missing; `-1` when it held another type (a hash
 * or list written by other code) and was unlinked; its length when it was longer and was unlinked.
 */
export const GET_BOUNDED = defineScript(`
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return false end
if kind ~= 'string' then
  redis.call('UNLINK', KEYS[1])
  return -1
end
local length = redis.call('STRLEN', KEYS[1])
if length > tonumber(ARGV[1]) then
  redis.call('UNLINK', KEYS[1])
  return length
end
return redis.call('GET', KEYS[1])`)
