-- POST /identity/v3/auth/tokens with the JSON body in the file named by OVERCAST_BENCH_BODY_FILE
-- (the same user, password and scope every time: the token-issue path, bcrypt included).
local path = os.getenv("OVERCAST_BENCH_BODY_FILE")
local fh = assert(io.open(path, "rb"), "cannot open OVERCAST_BENCH_BODY_FILE " .. tostring(path))
wrk.method = "POST"
wrk.body = fh:read("*a")
fh:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
