-- Shared by the wrk scripts: files of one item per line, public voucher ids and the token.
-- BENCH_IDS: a file with one public id per line; BENCH_TOKEN: an access token.
local M = {}

function M.lines(path)
  local items = {}
  for line in io.lines(path) do
    if #line > 0 then items[#items + 1] = line end
  end
  assert(#items > 0, "no lines in " .. path)
  return items
end

function M.load()
  return M.lines(os.getenv("BENCH_IDS")), os.getenv("BENCH_TOKEN")
end

return M
