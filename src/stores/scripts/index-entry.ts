import { defineScript } from './lua-script.js'

/**
 * Lua functions shared by the scripts that index an entry under a tag (`SET_ENTRY`, and
 * `INDEX_ENTRY` on a cluster, where the index lives in another slot than the entry).
 *
 * A tag index is a sorted set of entry keys scored by each entry's physical expiry, in the
 * server's own time (TIME). Every write prunes the members that have expired, so an index holds
 * its live entries plus those that expired since its last write, and the index itself expires
 * with its longest-lived member (or persists while one never expires).
 */
export const INDEX_ENTRY_LUA = `
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function index_entry(index, member, px, now)
  local score = '+inf'
  if px ~= '' then score = string.format('%d', now + tonumber(px)) end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', string.format('%d', now))
  redis.call('ZADD', index, score, member)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  local last = tonumber(top[2])
  if last == math.huge then
    redis.call('PERSIST', index)
  else
    redis.call('PEXPIREAT', index, string.format('%d', last + 1))
  end
end`

/**
 * Adds one entry to one tag index (see `INDEX_ENTRY_LUA`).
 * KEYS[1] = the tag index; ARGV[1] = the entry key; ARGV[2] = its physical ttl in ms, or '' for
 * no expiry. Returns 1.
 */
export const INDEX_ENTRY = defineScript(`${INDEX_ENTRY_LUA}
index_entry(KEYS[1], ARGV[1], ARGV[2], server_ms())
return 1`)
