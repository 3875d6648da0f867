-- bench/web.py --client wrk: one wrk per server port (one thread, a few keep-alive connections). The headers
-- (bearer token or session cookie) come from wrk's -H; the paths from a file. wrk itself has no request bound,
-- only its -d duration: this script stops the thread after its share of the line's requests.
--
--   wrk -t1 -c4 -d20s --timeout 30s -H 'Authorization: Bearer ...' -s web_wrk.lua http://127.0.0.1:PORT \
--       -- PATHS_FILE BOUND
--
-- stdout: a line "start" at the first request and "stop" when BOUND answers are in (flushed at once: bench/web.py
-- times the line by them and interrupts wrk, whose main thread otherwise sleeps to the end of -d), "end" when
-- done() begins, each with the process's CPU seconds so far (os.clock: all threads, microseconds), then one line
-- of JSON: the requests, the non-200 answers by status, wrk's socket errors, p50/p95 and the latency
-- histogram (microseconds -> count, non-empty buckets only) so that two wrk runs combine into exact percentiles.
-- wrk 4 has already added its coordinated-omission samples to that histogram (stats_correct, at the interval
-- duration / (requests / connections)): bench/web.py takes them out again.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  bound = tonumber(args[2]) or 0
  sent, answered, bad, statuses = 0, 0, 0, {}
end

function request()
  if sent == 0 then
    io.write(string.format("start %.6f\n", os.clock()))
    io.flush()
  end
  local path = paths[(sent % #paths) + 1]
  sent = sent + 1
  return wrk.format(nil, path)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then
    bad = bad + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    -- a thread's globals cross to done() only as strings and numbers: keep a flat "status=count ..." list
    local parts = {}
    for k, v in pairs(statuses) do
      parts[#parts + 1] = k .. "=" .. v
    end
    bad_statuses = table.concat(parts, " ")
  end
  if bound > 0 and answered == bound then
    io.write(string.format("stop %.6f\n", os.clock()))
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad_total, bad_list, answered_total = 0, {}, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + (thread:get("bad") or 0)
    answered_total = answered_total + (thread:get("answered") or 0)
    local s = thread:get("bad_statuses")
    if s then
      bad_list[#bad_list + 1] = s
    end
  end
  -- the CPU of the measured requests ends here: the histogram below costs (distinct values x range)
  io.write(string.format("end %.6f\n", os.clock()))
  io.flush()
  local buckets = {}
  for i = 1, #latency do -- wrk 4.1: #stats is the number of distinct values, stats(i) the i-th and its count
    local us, n = latency(i)
    buckets[#buckets + 1] = string.format('"%d":%d', us, n)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"answered":%d,"duration_us":%d,"bytes":%d,"non200":%d,"non200_statuses":"%s",'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},'
      .. '"p50_us":%d,"p95_us":%d,"histogram":{%s}}\n',
    summary.requests, answered_total, summary.duration, summary.bytes, bad_total, table.concat(bad_list, " "),
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), table.concat(buckets, ",")))
  io.flush()
end
