-- A parents' journey mix for wrk (Debian's wrk 4.1, LuaJIT), run by
-- tools/journey.  Each request is one step picked at random by weight:
--
--   session       GET /api/session          (a seeded session)  200
--   account       GET /api/account                               200
--   put           PUT /api/account, a first declaration (version 0,
--                 each session of the put pool once)              200
--   me, declarations, payments    GET /api/...                   200
--   login         POST /api/login (argon2id in the thread pool)  200
--   register      POST /api/register with an SMS code from the
--                 outbox (tools/journey fetches them first)      201
--
--   wrk -t2 -c50 -d30s -s tools/load/journey.lua URL -- \
--       dir=var/bench/load mix=session:40,account:20,put:5,login:2
--
-- Files in dir (tools/gen-dataset, tools/journey): sessions.tsv,
-- accounts.csv, codes.csv.  Arguments: dir=, mix=, put_first=N (the
-- first line of sessions.tsv of the put pool, default half the lines;
-- its accounts must have no bank account yet), seed=N.
--
-- Every response is checked: a status outside 2xx, a GET /api/session
-- answered logged_in false, or a socket error counts as an error, and
-- the run exits with status 1 when there was any.  wrk does not say
-- which request a response answers (connections interleave), so every
-- step of the mix is one whose answer must be 2xx.

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    threads[#threads + 1] = thread
end

-- per thread ----------------------------------------------------------

local opts = {}
local steps, total = {}, 0
local sessions, puts, logins, codes = {}, {}, {}, {}
local si, li, ci = 0, 0, 0
pi = 0
put_start = 0
local nthreads = 1
errors = {}
failed = 0
short = 0
sent = {}

local function lines(path)
    local t = {}
    local f = io.open(path, "r")
    if not f then return t end
    for line in f:lines() do
        if line ~= "" then t[#t + 1] = line end
    end
    f:close()
    return t
end

-- the lines of this thread: i, i + T, i + 2T ...
local function slice(all, first)
    local t = {}
    for i = (first or 1) + tid - 1, #all, nthreads do
        t[#t + 1] = all[i]
    end
    return t
end

local function split(s, sep)
    local t = {}
    for f in (s .. sep):gmatch("(.-)" .. sep) do t[#t + 1] = f end
    return t
end

-- a Luhn-valid ICBC debit card number (BIN 622202), 19 digits
local function card()
    local d = "622202" .. string.format("%012d", math.random(0, 1e12 - 1))
    local sum, dbl = 0, true
    for i = #d, 1, -1 do
        local v = tonumber(d:sub(i, i))
        if dbl then v = v * 2; if v > 9 then v = v - 9 end end
        sum = sum + v
        dbl = not dbl
    end
    return d .. tostring((10 - sum % 10) % 10)
end

function init(args)
    for _, a in ipairs(args) do
        local k, v = a:match("^([%w_]+)=(.*)$")
        assert(k, "argument not key=value: " .. a)
        opts[k] = v
    end
    local dir = opts.dir or "var/bench/load"
    nthreads = tonumber(opts.threads or "0") or 0
    if nthreads == 0 then nthreads = counter > 0 and counter or 1 end
    math.randomseed((tonumber(opts.seed) or os.time()) + tid * 7919)

    local mix = opts.mix or "session:40,account:20,me:10,declarations:10,"
                          .. "payments:10,put:5,login:3,register:2"
    for _, item in ipairs(split(mix, ",")) do
        local name, w = item:match("^(%a+):(%d+)$")
        assert(name, "mix item not name:weight: " .. item)
        w = tonumber(w)
        if w > 0 then
            total = total + w
            steps[#steps + 1] = { name = name, upto = total }
            sent[name] = 0
        end
    end
    assert(total > 0, "empty mix")

    local all = lines(dir .. "/sessions.tsv")
    local first = tonumber(opts.put_first or "") or math.floor(#all / 2) + 1
    for i = 1, math.min(first - 1, #all) do sessions[#sessions + 1] = all[i] end
    if #sessions == 0 then sessions = all end
    puts = slice(all, first)
    put_start = first
    logins = slice(lines(dir .. "/accounts.csv"))
    codes = slice(lines(dir .. "/codes.csv"))
    for _, s in ipairs(steps) do
        local need = ({ login = logins, register = codes, put = puts })[s.name]
                     or sessions
        assert(#need > 0, "no data in " .. dir .. " for the step " .. s.name)
    end
end

local function session_headers(line, write)
    local cookie, csrf = line:match("^([^\t]+)\t([^\t]+)")
    local h = { ["Cookie"] = "csibiz=" .. cookie,
                ["Accept-Language"] = "zh-CN" }
    if write then
        h["X-CSRF-Token"] = csrf
        h["Content-Type"] = "application/json"
    end
    return h
end

local function next_session()
    si = si % #sessions + 1
    return sessions[si]
end

local json_post = { ["Content-Type"] = "application/json" }

local make = {}

make.session = function()
    return wrk.format("GET", "/api/session", session_headers(next_session()))
end

for _, q in ipairs({ "account", "me", "declarations", "payments" }) do
    make[q] = function()
        return wrk.format("GET", "/api/" .. q, session_headers(next_session()))
    end
end

make.put = function()
    if pi >= #puts then return nil end       -- pool used up
    pi = pi + 1
    local h = session_headers(puts[pi], true)
    h["Idempotency-Key"] = string.format("load-%d-%d-%d", tid, pi, os.time())
    local n = card()
    return wrk.format("PUT", "/api/account", h, string.format(
        '{"version":0,"payer":"self","method":"card","bank":"ICBC",'
        .. '"doc_type":"id_card","account_no":"%s",'
        .. '"account_no_confirm":"%s"}', n, n))
end

make.login = function()
    li = li % #logins + 1
    local id, pw = logins[li]:match("^([^,]+),(.*)$")
    return wrk.format("POST", "/api/login", json_post, string.format(
        '{"id_number":"%s","password":"%s"}', id, pw))
end

make.register = function()
    if ci >= #codes then return nil end
    ci = ci + 1
    local f = split(codes[ci], ",")
    return wrk.format("POST", "/api/register", json_post, string.format(
        '{"id_number":"%s","si_card_no":"%s","phone":"%s","sms_code":"%s",'
        .. '"sms_ticket":"%s",'
        .. '"password":"a quiet journey password","agree_version":"%s"}',
        f[1], f[2], f[3], f[4], f[5], opts.agree or "2024-09-01"))
end

function request()
    local r = math.random(total)
    for _, s in ipairs(steps) do
        if r <= s.upto then
            local req = make[s.name]()
            if req then
                sent[s.name] = sent[s.name] + 1
                return req
            end
            break
        end
    end
    -- a pool ran out: a session read instead, counted as a drift of
    -- the mix (tools/journey plans its pools and warns before a run)
    short = short + 1
    sent.session = (sent.session or 0) + 1
    return make.session()
end

function response(status, headers, body)
    if status < 200 or status > 299
       or (status == 200 and body:find('"logged_in":false', 1, true))
    then
        local key = tostring(status) .. " " .. (body:match('"code":"([%w_]+)"')
                                                or body:sub(1, 40))
        errors[key] = (errors[key] or 0) + 1
        failed = failed + 1
    end
end

-- main state ------------------------------------------------------------

function done(summary, latency, requests)
    local bad, by, steps_sent, put_next, drift = 0, {}, {}, 0, 0
    for _, t in ipairs(threads) do
        -- thread i took lines first + i - 1 + k * #threads, k < pi
        put_next = math.max(put_next,
                            t:get("put_start") + t:get("pi") * #threads)
        bad = bad + t:get("failed")
        drift = drift + t:get("short")
        for k, v in pairs(t:get("errors")) do by[k] = (by[k] or 0) + v end
        for k, v in pairs(t:get("sent")) do
            steps_sent[k] = (steps_sent[k] or 0) + v
        end
    end
    local e = summary.errors
    local sock = e.connect + e.read + e.write + e.timeout
    local names = {}
    for k in pairs(steps_sent) do names[#names + 1] = k end
    table.sort(names)
    io.write("journey: steps sent:")
    for _, k in ipairs(names) do
        io.write(string.format(" %s=%d", k, steps_sent[k]))
    end
    io.write(string.format("\njourney: %d requests, %.0f req/s, p50 %.2f ms,"
        .. " p99 %.2f ms\n", summary.requests,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
    io.write(string.format("journey: put_next=%d\n", put_next))
    for k, v in pairs(by) do
        io.write(string.format("journey: unexpected %s: %d\n", k, v))
    end
    if sock > 0 then
        io.write(string.format("journey: socket errors: %d\n", sock))
    end
    if drift > 0 then
        io.write(string.format("journey: warning: %d steps were session"
            .. " reads because a pool ran out: the mix drifted\n", drift))
    end
    if bad + sock + drift > 0 then
        io.write(string.format("journey: FAILED, %d bad responses\n",
                               bad + sock))
        os.exit(1)
    end
    io.write("journey: every response as expected\n")
end
