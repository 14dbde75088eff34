--[[
  Publish with a sequence number, as a Lua function other scripts include: XADD the message
  to the capped history stream (~maxLen entries), then PUBLISH it with the entry id spliced
  in as "seq". In one script, so channel order == stream order for every publisher.
  `json` must be a JSON object with at least one field.
]]
local function publish(stream, channel, maxLen, json)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'm', json)
  redis.call('PUBLISH', channel, '{"seq":"' .. id .. '",' .. string.sub(json, 2))
  return id
end
