-- Plain GET of the URL given to wrk; optional X-Auth-Token from OVERCAST_BENCH_TOKEN.
wrk.method = "GET"
local token = os.getenv("OVERCAST_BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["X-Auth-Token"] = token
end
local subject = os.getenv("OVERCAST_BENCH_SUBJECT_TOKEN")
if subject and subject ~= "" then
  wrk.headers["X-Subject-Token"] = subject
end
