-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, socketId. Returns a flat list room, userId, name per room left.
--! include _disconnect
local out = {}
disconnect(ARGV[1], ARGV[2], out)
return out
