-- GET /syncs/progress/{document} for documents drawn from a pool of 1,000.
wrk.headers["x-auth-user"] = os.getenv("BENCH_USER")
wrk.headers["x-auth-key"] = os.getenv("BENCH_KEY")

request = function()
    return wrk.format("GET", "/syncs/progress/bench-doc-" .. math.random(1, 1000))
end
