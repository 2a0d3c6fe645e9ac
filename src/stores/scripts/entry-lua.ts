/**
 * Lua functions shared by the scripts that write an entry (`SET_ENTRY`, and on a cluster, where
 * the entry, its tag indexes and the tag state live in different slots, `SET_UNMARKED` and
 * `INDEX_ENTRY`).
 *
 * `deleted_after(mark, since)`: whether the key's delete mark holds an epoch newer than `since`.
 * `write_entry(key, value, px)`: SET, with PX unless `px` is ''.
 *
 * A tag index is a sorted set of entry keys scored by each entry's physical expiry, in the
 * server's own time (TIME). Every write prunes the members that have expired, so an index holds
 * its live entries plus those that expired since its last write, and the index itself expires
 * with its longest-lived member (or persists while one never expires).
 */
export const ENTRY_LUA = `
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
end
local function deleted_after(mark, since)
  local deleted = redis.call('GET', mark)
  return deleted and tonumber(deleted) > since
end
local function write_entry(key, value, px)
  if px == '' then
    redis.call('SET', key, value)
  else
    redis.call('SET', key, value, 'PX', px)
  end
end`
