-- luacheck of the Lua scripts (src/lib/lua): `npx nx run pipeline:lint-lua` (needs Debian's lua-check).
-- Redis runs scripts on Lua 5.1 with these globals; the DEDUPE_* names, `publish`, the window helpers
-- (`num`, `value`, `less`, `fields`), `summary`, `bufferedTicks` and BUFFER_ENTRY_MAX_TICKS come from the registry's includes (src/lib/scripts.ts),
-- spliced in before Redis sees the script.
std = 'lua51'
read_globals = { 'redis', 'KEYS', 'ARGV', 'cjson', 'cmsgpack', 'bit', 'struct', 'DEDUPE_PENDING', 'DEDUPE_ACCEPTED', 'DEDUPE_COUNTED', 'publish', 'num', 'value', 'less', 'fields', 'summary', 'bufferedTicks', 'BUFFER_ENTRY_MAX_TICKS' }
max_line_length = 160
-- An include defines what the scripts that include it use.
files['src/lib/lua/includes'] = { ignore = { '211' } }
