-- The native charge through the JTL face: POST /jtl/v1/reservations of 0.01 EUR on a voucher
-- (by code), then POST /jtl/v1/reservations/{id}/charge of that reservation: JTL has no direct
-- charge, so one charge is two requests. Each thread keeps a queue of reserved ids and sends
-- their charges before reserving again; threads walk disjoint strides of BENCH_CODES_FILE so
-- no reservation is replaced by another connection's. done() prints the completed charges
-- ("JTL_CHARGES n"), from which bench.py computes charges per second.
-- BENCH_CODES_FILE: one voucher code per line; BENCH_TOKEN: a JTL access token.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local threads = {}
local counter = 0
local codes, token, queue, head, tail, position

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  threads[#threads + 1] = thread
end

function init(args)
  codes = common.lines(os.getenv("BENCH_CODES_FILE"))
  token = os.getenv("BENCH_TOKEN")
  queue, head, tail = {}, 1, 0
  position = index or 1
  charges, reserves, orders = 0, 0, 0
end

local headers = {}

function request()
  headers["Authorization"] = "Bearer " .. token
  headers["Content-Type"] = "application/json"
  if head <= tail then
    local id = queue[head]
    queue[head] = nil
    head = head + 1
    orders = orders + 1
    return wrk.format("POST", "/jtl/v1/reservations/" .. id .. "/charge", headers,
      '{"order_number":"bench-' .. (index or 1) .. '-' .. orders .. '"}')
  end
  local code = codes[(position - 1) % #codes + 1]
  position = position + 2 -- at most two threads (bench.py), each on its own stride
  return wrk.format("POST", "/jtl/v1/reservations", headers,
    '{"amount":"0.01","currency":"EUR","code":"' .. code .. '"}')
end

function response(status, headers, body)
  if status ~= 201 then return end
  if string.find(body, '"type":"charge"', 1, true) then
    charges = charges + 1
  else
    local id = string.match(body, '"id":"(%d+)"')
    if id then
      reserves = reserves + 1
      tail = tail + 1
      queue[tail] = id
    end
  end
end

function done(summary, latency, requests)
  local total, reserved = 0, 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("charges") or 0)
    reserved = reserved + (thread:get("reserves") or 0)
  end
  io.write(string.format("JTL_CHARGES %d\nJTL_RESERVES %d\n", total, reserved))
end
