--[[
  mdPublish: publishes one message on the realtime channel with its sequence number (see
  includes/publish.lua). KEYS: 1 history stream; ARGV: 1 channel, 2 maxLen, 3 message JSON.
  Returns the message's stream id (its seq).
]]
--- @include "includes/publish"
return publish(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
