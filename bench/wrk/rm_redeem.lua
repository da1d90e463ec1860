-- The charge through the Revenue Monster face: POST /rm/v3/vouchers/redeem {"codes":[code]}
-- (one use of a CASH voucher: its whole value). RM signs every request with the client's RSA
-- key over a fresh nonce and a timestamp (accepted for 120 s), which Lua cannot do at speed, so
-- bench.py signs a batch of distinct requests (each a different voucher, nonce and signature)
-- just before the run and this script replays them, each exactly once: threads take disjoint
-- strides. A thread that runs out of signed requests stops (then the run counts as exhausted:
-- "RM_EXHAUSTED n" from done()).
-- BENCH_SIGNED: lines "nonce<TAB>timestamp<TAB>signature<TAB>body"; BENCH_TOKEN: RM token.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local threads = {}
local counter = 0
local signed, token, position

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  threads[#threads + 1] = thread
end

function init(args)
  signed = common.lines(os.getenv("BENCH_SIGNED"))
  token = os.getenv("BENCH_TOKEN")
  position = index or 1
  exhausted = 0
end

function request()
  if position > #signed then
    exhausted = 1
    wrk.thread:stop()
    position = (index or 1)
  end
  local nonce, timestamp, signature, body = string.match(signed[position],
    "^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
  position = position + 2 -- at most two threads (bench.py), each on its own stride
  return wrk.format("POST", "/rm/v3/vouchers/redeem", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["X-Nonce-Str"] = nonce,
    ["X-Timestamp"] = timestamp,
    ["X-Signature"] = "sha256 " .. signature,
  }, body)
end

function done(summary, latency, requests)
  local exhausted = 0
  for _, thread in ipairs(threads) do
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  io.write(string.format("RM_EXHAUSTED %d\n", exhausted))
end
