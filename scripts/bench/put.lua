-- PUT /syncs/progress for documents drawn from a pool of 1,000.
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-auth-user"] = os.getenv("BENCH_USER")
wrk.headers["x-auth-key"] = os.getenv("BENCH_KEY")

request = function()
    local n = math.random(1, 1000)
    local body = string.format(
        '{"document":"bench-doc-%d","progress":"/body/DocFragment[10]/body/p[22]/text().42",' ..
        '"percentage":%.4f,"device":"bench-device","device_id":"bench-device-id"}', n, n / 1000)
    return wrk.format("PUT", "/syncs/progress", nil, body)
end
