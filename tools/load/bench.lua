-- wrk script of tools/bench: one endpoint class, GET PATH, with the
-- cookie of the first session of SESSIONS_TSV (tools/gen-dataset) when
-- one is given, and a summary line that tools/bench reads.  No request()
-- function: wrk sends one prepared request, so the load generator costs
-- as little as it can.
--
--   wrk -s tools/load/bench.lua URL -- PATH [SESSIONS_TSV]

function init(args)
    wrk.path = args[1] or "/"
    wrk.headers["Accept-Language"] = "zh-CN"

    local file = args[2]
    if file and file ~= "" and file ~= "-" then
        local f = assert(io.open(file, "r"))
        local line = f:read("*l")
        f:close()
        local cookie = line and line:match("^([^\t]+)\t")
        assert(cookie, "no session in " .. file)
        wrk.headers["Cookie"] = "csibiz=" .. cookie
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d "
        .. "non2xx=%d sockerr=%d\n",
        summary.requests, summary.duration, latency:percentile(50),
        latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout))
end
