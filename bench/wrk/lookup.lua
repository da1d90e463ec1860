-- GET /v1/vouchers/{public_id} of a random voucher (uniformly over BENCH_IDS).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local ids, token
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  ids, token = common.load()
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/v1/vouchers/" .. id, {
    ["Authorization"] = "Bearer " .. token,
  })
end
