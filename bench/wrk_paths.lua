-- wrk script: GET a random path from a file (one path per line), report JSON at the end.
-- usage: wrk -s bench/wrk_paths.lua URL -- PATHS_FILE [SEED]
local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  -- each wrk thread has its own Lua state: seed each from its own table address
  local addr = tonumber(string.match(tostring({}), "0x(%x+)") or "1", 16) or 1
  math.randomseed((tonumber(args[2]) or 1) * 7919 + (addr % 1000003) + os.time())
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
