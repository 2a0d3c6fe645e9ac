import { defineScript } from './lua-script.js'

/**
 * Reads, on one cluster node and in one round trip, the strings named in ARGV, whatever their
 * slots: one GET each, nil for a missing key or one of another type (as MGET answers). The keys
 * are arguments, not KEYS, because Redis refuses declared keys of several slots; the
 * `allow-cross-slot-keys` flag lets the script read undeclared keys of any slot the node serves,
 * and a key of a slot it does not serve fails the whole script (never a wrong value).
 */
export const GET_LOCAL = defineScript(`#!lua flags=allow-cross-slot-keys,no-writes
local values = {}
for i, key in ipairs(ARGV) do
  local value = redis.pcall('GET', key)
  if type(value) == 'table' and value.err then
    if string.sub(value.err, 1, 9) ~= 'WRONGTYPE' then return value end
    value = false
  end
  values[i] = value
end
return values`)
