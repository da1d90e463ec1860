-- POST /v1/charges of 1 cent on a random voucher (uniformly over BENCH_IDS).
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
  return wrk.format("POST", "/v1/charges", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"voucher_id":"' .. id .. '","amount":1,"currency":"EUR"}')
end
