-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script: every request is POST PREFIX TOKEN with the same body of SIZE
-- bytes, on keep-alive connections, as fast as the server answers. It
-- measures publishes per second; bench/wrk/README.md says how to run it
-- against eventsource-server and nginx+nchan.
--
--   wrk -t2 -c4 -d10s -s bench/wrk/publish.lua http://127.0.0.1:8888
--   wrk -t2 -c4 -d10s -s bench/wrk/publish.lua http://127.0.0.1:8080/pub/   (nchan)
--   TOKEN=room SIZE=1000 wrk ... -s bench/wrk/publish.lua http://127.0.0.1:8888
--   wrk ... -s bench/wrk/publish.lua http://127.0.0.1:8888 -- room 1000
--
-- Settings, each from the script arguments after "--" (in this order), else
-- the environment, else the default:
--   TOKEN   the channel                                   default: wrk
--   SIZE    bytes of the body (a run of "x")              default: 100
--   PREFIX  the path before the token                     default: the URL's path
--           if it is not "/" (a "/" is added at its end), else /ping/ (eventsource-server)
--
-- Publishing to a token nobody listens to is 404 on eventsource-server
-- without --redis: attach a subscriber first. wrk counts answers of 400 and
-- above as "Non-2xx or 3xx responses"; done() below repeats that count and
-- warns when it is not 0, because requests/s of failed publishes mean
-- nothing. Its last line, "publish.lua: {...}", is the run as JSON (for
-- bench/compare --only wrk).

local function setting(args, index, name, default)
  if args and args[index] and args[index] ~= "" then return args[index] end
  local value = os.getenv(name)
  if value and value ~= "" then return value end
  return default
end

local function configure(args)
  token = setting(args, 1, "TOKEN", "wrk")
  size = tonumber(setting(args, 2, "SIZE", "100"))
  if not size or size < 0 or size ~= math.floor(size) then
    error("publish.lua: SIZE must be a whole number of bytes, not " .. tostring(setting(args, 2, "SIZE", "100")))
  end
  local url_path = (wrk.path ~= nil and wrk.path ~= "/") and wrk.path or nil
  prefix = setting(args, 3, "PREFIX", url_path or "/ping/")
  if prefix:sub(1, 1) ~= "/" then prefix = "/" .. prefix end
  if prefix:sub(-1) ~= "/" then prefix = prefix .. "/" end
  wrk.method = "POST"
  publish_path = prefix .. token
  wrk.path = publish_path
  wrk.body = string.rep("x", size)
  wrk.headers["Content-Type"] = "text/plain"
end

-- The main environment (setup and done) sees no script arguments; each
-- thread's init() does, and done() reads what the threads chose.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  configure(args)
end

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local path = threads[1] and threads[1]:get("publish_path") or "?"
  local body_size = threads[1] and threads[1]:get("size") or 0
  local seconds = summary.duration / 1e6
  local rate = seconds > 0 and summary.requests / seconds or 0
  local e = summary.errors
  io.write(string.format("publish.lua: POST %s, %d-byte body: %d requests in %.2f s, %.0f requests/s\n",
                         path, body_size, summary.requests, seconds, rate))
  io.write(string.format("publish.lua: latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  if e.status > 0 then
    io.write(string.format("publish.lua: WARNING: %d answers were 400 or above: not publishes (no subscriber on "
                           .. "the token, 404? a wrong PREFIX?); requests/s means nothing\n", e.status))
  end
  if e.connect + e.read + e.write + e.timeout > 0 then
    io.write(string.format("publish.lua: socket errors: connect %d, read %d, write %d, timeout %d\n",
                           e.connect, e.read, e.write, e.timeout))
  end
  io.write(string.format('publish.lua: {"path": %s, "size": %d, "requests": %d, "seconds": %.6f, '
                         .. '"requests_per_second": %.1f, "status_errors": %d, "connect_errors": %d, '
                         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, '
                         .. '"latency_ms": {"p50": %.3f, "p99": %.3f, "max": %.3f}}\n',
                         json_string(path), body_size, summary.requests, seconds, rate, e.status, e.connect,
                         e.read, e.write, e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         latency.max / 1000))
end
