import { ENTRY_LUA } from './entry-lua.js'
import { defineScript } from './lua-script.js'

/**
 * Writes an entry and indexes it under its tags, atomically, refusing a load that an
 * invalidation has overtaken.
 *
 * KEYS[1] = entry key; KEYS[2] = the namespace's tag-state hash; KEYS[3] = the key's delete mark
 * (see `DELETE_MARKED`); KEYS[4..] = one tag index per tag.
 * ARGV[1] = encoded entry; ARGV[2] = physical ttl in ms, or '' for no expiry; ARGV[3] = the
 * tag epoch read before the loader ran, or '' for an unconditional write; ARGV[4..] = the tag
 * names, in the order of KEYS[4..].
 *
 * Tag-state hash fields: `epoch` (a counter bumped by every tag invalidation and every clear),
 * `*` (the epoch of the last clear), `t:<tag>` (the epoch of the tag's last invalidation). A
 * conditional write is refused (returns 0) when the namespace was cleared, the key deleted, or
 * one of the entry's tags invalidated, after the epoch it carries. Epochs come from Redis, so no client clock is
 * compared with another.
 *
 * Each tag index is maintained as `ENTRY_LUA` describes. Returns 1 when written.
 */
export const SET_ENTRY = defineScript(`${ENTRY_LUA}
local ntags = #KEYS - 3
if ARGV[3] ~= '' then
  local since = tonumber(ARGV[3])
  local cleared = redis.call('HGET', KEYS[2], '*')
  if cleared and tonumber(cleared) > since then return 0 end
  if deleted_after(KEYS[3], since) then return 0 end
  for i = 1, ntags do
    local at = redis.call('HGET', KEYS[2], 't:' .. ARGV[3 + i])
    if at and tonumber(at) > since then return 0 end
  end
end
write_entry(KEYS[1], ARGV[1], ARGV[2])
if ntags == 0 then return 1 end
local now = server_ms()
for i = 4, #KEYS do index_entry(KEYS[i], KEYS[1], ARGV[2], now) end
return 1`)
