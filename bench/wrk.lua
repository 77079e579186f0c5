-- wrk.lua: request shape from the environment, one machine-readable summary line at the end.
--   BENCH_METHOD (GET), BENCH_TOKEN (Authorization: Bearer), BENCH_ETAG (If-None-Match),
--   BENCH_BODY (JSON body, sent with Content-Type: application/json), BENCH_GZIP=1.
local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
local etag = os.getenv("BENCH_ETAG")
local body = os.getenv("BENCH_BODY")

wrk.method = method
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
if etag and etag ~= "" then wrk.headers["If-None-Match"] = etag end
if os.getenv("BENCH_GZIP") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
if body and body ~= "" then
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end

-- Latencies are in microseconds; "bad" counts HTTP status >= 400 plus socket errors.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d bad=%d status_errors=%d bytes=%d\n",
		summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		e.connect + e.read + e.write + e.timeout + e.status, e.status, summary.bytes))
end
