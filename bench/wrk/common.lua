-- Shared by charge.lua and lookup.lua: public voucher ids and the Bearer token.
-- BENCH_IDS: a file with one public id per line; BENCH_TOKEN: an access token.
local M = {}

function M.load()
  local ids = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  assert(#ids > 0, "no voucher ids in BENCH_IDS")
  return ids, os.getenv("BENCH_TOKEN")
end

return M
