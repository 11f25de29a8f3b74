-- wrk script of the soak test: counts answers by status class over every thread and prints
-- one summary line that tests/soak/run parses.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    s2, s3, s4, s5 = 0, 0, 0, 0
end

function response(status, headers, body)
    if status >= 500 then
        s5 = s5 + 1
    elseif status >= 400 then
        s4 = s4 + 1
    elseif status >= 300 then
        s3 = s3 + 1
    else
        s2 = s2 + 1
    end
end

function done(summary, latency, requests)
    local t2, t3, t4, t5 = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        t2 = t2 + t:get("s2")
        t3 = t3 + t:get("s3")
        t4 = t4 + t:get("s4")
        t5 = t5 + t:get("s5")
    end
    local e = summary.errors
    io.write(string.format("SOAK requests=%d s2xx=%d s3xx=%d s4xx=%d s5xx=%d connect=%d " ..
                           "read=%d write=%d timeout=%d p99_ms=%.1f\n",
                           summary.requests, t2, t3, t4, t5, e.connect, e.read, e.write,
                           e.timeout, latency:percentile(99) / 1000))
end
