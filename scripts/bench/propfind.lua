-- PROPFIND (Depth 1) of a WebDAV folder, as KOReader's Cloud storage lists one.
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.body = '<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:resourcetype/><a:getcontentlength/><a:getlastmodified/></a:prop></a:propfind>'
