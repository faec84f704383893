#!/usr/bin/env bash
# `make fuzz`: builds the cargo-fuzz targets (nightly), seeds a fresh corpus for each from
# fixtures/, replays fuzz/regressions/<target>/*, then fuzzes each target for FUZZ_SECONDS
# (default 120) and prints a table of executions, coverage and crashes. Exits non-zero when a
# target crashed (panic, overflow, OOM, timeout).
#
#   FUZZ_SECONDS=60 fuzz/run.sh                  # shorter
#   FUZZ_TARGETS="opf epub" fuzz/run.sh          # some targets only
#   FUZZ_SANITIZER=address fuzz/run.sh           # ASan (default none: the crate is safe Rust)
set -uo pipefail

cd "$(dirname "$0")" || exit 1
fuzz_dir=$PWD
fixtures=$fuzz_dir/../fixtures
export PATH="$HOME/.cargo/bin:$PATH"

seconds=${FUZZ_SECONDS:-120}
targets=${FUZZ_TARGETS:-kosync_request opf epub fb2 mobi comic partial_md5 opds_search pdf rar}
sanitizer=${FUZZ_SANITIZER:-none}
# Bounds every input: a hostile file must not cost more than this.
fuzz_flags=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

# --- tools -----------------------------------------------------------------------------------
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal || exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || exit 1
fi
command -v python3 >/dev/null || { echo "fuzz: python3 is needed to seed the corpora" >&2; exit 1; }

echo "fuzz: building the targets (nightly, sanitizer: $sanitizer)" >&2
cargo +nightly fuzz build --sanitizer "$sanitizer" --debug-assertions || exit 1
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$fuzz_dir/target/$host/release

scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/libris-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch   # the FB2, MOBI, PDF and RAR targets write their input there

# --- seeds -----------------------------------------------------------------------------------
# Entries of zip fixtures: files ending in $2 (case-insensitive), prefixed with $3 (bytes).
unzip_seeds() {
    python3 - "$@" <<'PY'
import hashlib, os, sys, zipfile
out, suffix, prefix, paths = sys.argv[1], sys.argv[2].lower(), sys.argv[3].encode(), sys.argv[4:]
for p in paths:
    try:
        z = zipfile.ZipFile(p)
        for info in z.infolist():
            if info.filename.lower().endswith(suffix) and info.file_size < 1 << 20:
                data = prefix + z.read(info)
                name = hashlib.sha1(data).hexdigest()
                with open(os.path.join(out, name), "wb") as f:
                    f.write(data)
    except Exception:
        pass  # broken fixtures are seeds for the zip targets, not here
PY
}

# Hand-made files for the readers the fixtures have few or none of ($2: pdf or rar), written
# into $1: PDFs with a classic xref table, an incremental update, an encrypted trailer and
# an xref stream with an object stream; RAR 4 and RAR 5 archives with pages, folders, a
# Unicode name, 64-bit sizes and the blocks the walk skips.
synth_seeds() {
    python3 - "$@" <<'PY'
import hashlib, os, struct, sys, zlib
out, kind = sys.argv[1], sys.argv[2]

def put(data):
    with open(os.path.join(out, "synth-" + hashlib.sha1(data).hexdigest()[:12]), "wb") as f:
        f.write(data)

def pdf(objects, trailer, prev=None, base=b""):
    """objects: {number: body}; appended to base (an incremental update when base is a PDF)."""
    body = bytearray(base or b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num, obj in sorted(objects.items()):
        offsets[num] = len(body)
        body += b"%d 0 obj\n%s\nendobj\n" % (num, obj)
    xref = len(body)
    body += b"xref\n"
    for num in sorted(offsets):
        body += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    if not base:
        body = body.replace(b"xref\n", b"xref\n0 1\n0000000000 65535 f \n", 1)
    size = max(objects) + 1
    extra = b" /Prev %d" % prev if prev is not None else b""
    body += b"trailer\n<< /Size %d %s%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, extra, xref)
    return bytes(body), xref

def stream(dictionary, data):
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)

if kind == "pdf":
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
           b' xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description><dc:title><rdf:Alt><rdf:li xml:lang="x-default">'
           b'XMP &amp; title</rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq><rdf:li>Ann</rdf:li><rdf:li>Bob</rdf:li>'
           b'</rdf:Seq></dc:creator><dc:language><rdf:Bag><rdf:li>en-GB</rdf:li></rdf:Bag></dc:language>'
           b'</rdf:Description></rdf:RDF></x:xmpmeta>')
    classic = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R /Lang (de) >>",
        2: b"<< /Type /Pages /Kids [3 0 R 6 0 R] >>",
        3: b"<< /Type /Page /Parent 2 0 R >>",
        4: b"<< /Title (\\376\\377\\000T\\000i) /Author (A. Writer; B. Other) /Subject <48656C6C6F> >>",
        5: stream(b"/Type /Metadata /Subtype /XML", xmp),
        6: b"<< /Type /Pages /Parent 2 0 R /Kids [7 0 R] >>",
        7: b"<< /Type /Page /Parent 6 0 R >>",
    }
    first, xref = pdf(classic, b"/Root 1 0 R /Info 4 0 R")
    put(first)
    update, _ = pdf({4: b"<< /Title (Updated) /Author (C) >>"}, b"/Root 1 0 R /Info 4 0 R", prev=xref, base=first)
    put(update)
    put(pdf({1: classic[1], 2: b"<< /Type /Pages /Count 3 /Kids [] >>", 8: b"<< /Filter /Standard >>"},
            b"/Root 1 0 R /Encrypt 8 0 R")[0])
    # Object stream (objects 1-3) and a cross-reference stream, PNG-up predicted.
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 2 /Kids [3 0 R] >>",
            b"<< /Title (In an object stream) >>"]
    header, data = b"", b""
    for i, o in enumerate(objs):
        header += b"%d %d " % (i + 1, len(data))
        data += o + b" "
    objstm = stream(b"/Type /ObjStm /N 3 /First %d /Filter /FlateDecode" % len(header),
                    zlib.compress(header + data))
    body = bytearray(b"%PDF-1.5\n")
    off4 = len(body)
    body += b"4 0 obj\n" + objstm + b"\nendobj\n"
    xref_at = len(body)
    rows = [(0, 0, 65535), (2, 4, 0), (2, 4, 1), (2, 4, 2), (1, off4, 0), (1, xref_at, 0)]
    raw, prev = b"", bytes(6)
    for row in rows:
        cur = struct.pack(">BIB", row[0], row[1], row[2] & 0xFF)
        raw += b"\x02" + bytes((c - p) & 0xFF for c, p in zip(cur, prev))
        prev = cur
    xs = stream(b"/Type /XRef /Size 6 /W [1 4 1] /Root 1 0 R /Info 3 0 R /Filter /FlateDecode"
                b" /DecodeParms << /Predictor 12 /Columns 6 >>", zlib.compress(raw))
    body += b"5 0 obj\n" + xs + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    put(bytes(body))
    put(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Count 1 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

if kind == "rar":
    def rar4_file(name, data, flags=0):
        name = name.encode() if isinstance(name, str) else name
        wide = flags & 0x0100
        h = bytes([0x74]) + struct.pack("<HH", flags | 0x8000, 32 + (8 if wide else 0) + len(name))
        h += struct.pack("<IIB4s4sBBHI", len(data), len(data), 2, bytes(4), bytes(4), 29, 0x30, len(name), 0x20)
        if wide:
            h += struct.pack("<II", 0, 0)
        return b"\0\0" + h + name + data
    def rar4(files, end=True):
        v = b"Rar!\x1a\x07\x00" + bytes([0, 0, 0x73, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0])
        v += b"".join(files)
        return v + (bytes([0, 0, 0x7b, 0, 0x40, 7, 0]) if end else b"")
    def vint(x):
        out = bytearray()
        while True:
            b, x = x & 0x7F, x >> 7
            if not x:
                return bytes(out + bytes([b]))
            out.append(b | 0x80)
    def block(fields, data=b""):
        return bytes(4) + vint(len(fields)) + fields + data
    def rar5_file(name, data, folder=False):
        name = name.encode()
        f = vint(2) + vint(0x02) + vint(len(data)) + vint(0x01 if folder else 0x06) + vint(len(data)) + vint(0x20)
        if not folder:
            f += bytes(range(1, 9))
        return block(f + vint(0) + vint(1) + vint(len(name)) + name, data)
    def rar5(files):
        return b"Rar!\x1a\x07\x01\x00" + block(b"\x01\x00\x00") + b"".join(files) + block(b"\x05\x00\x00")
    put(rar4([rar4_file("Comic", b"", 0x00E0), rar4_file("Comic\\002.jpg", b"JPEGDATA"),
              rar4_file("Comic\\001.jpg", b"JPG"), rar4_file("Thumbs.db", b"x")]))
    put(rar4([rar4_file(b"page.png\0\x01\x02", b"x", 0x0200)], end=False))
    put(rar4([rar4_file("big/01.webp", b"data", 0x0100), b"\0\0" + bytes([0x7a]) + struct.pack("<HH", 0x8000, 32 + 3)
              + struct.pack("<IIB4s4sBBHI", 2, 2, 2, bytes(4), bytes(4), 29, 0x30, 3, 0) + b"CMT" + b"zz",
              rar4_file("02.gif", b"")]))
    put(b"Rar!\x1a\x07\x00" + bytes([0, 0, 0x73, 0x80, 0, 13, 0, 0, 0, 0, 0, 0, 0]))
    put(rar5([rar5_file("漫画", b"", True), rar5_file("漫画/010.webp", bytes(300)),
              rar5_file("漫画/002.webp", b"abc"), rar5_file("__MACOSX/._001.jpg", b"")]))
    put(rar5([rar5_file("1.jpeg", b"j")]) + b"trailing")
    put(b"Rar!\x1a\x07\x01\x00" + block(b"\x04\x00\x00\x00"))
PY
}

# A seed: $2 with printf's %b escapes (\n, \xHH, \\) interpreted.
put() {
    printf '%b' "$2" >"$1/seed-$(printf '%b' "$2" | md5sum | cut -c1-12)"
}

copy_seeds() {
    local dir=$1
    shift
    local f
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$dir/$(basename "$f" | tr -c 'A-Za-z0-9._-' _)"
    done
}

seed() {
    local t=$1 dir=$fuzz_dir/corpus/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    local books=$fixtures/books
    mapfile -t epubs < <(find "$books" "$fixtures/koreader" -name '*.epub' -size -600k)
    case $t in
    kosync_request)
        put "$dir" '{"username":"ann","password":"5ebe2294ecd0e0f08eab7690d2a6ee69"}'
        put "$dir" '{"password":"x"}'
        put "$dir" '{"document":"0b229176d4e8db7f6d2b5a4952368d7a","progress":"/body/DocFragment[20]/body/p[22]/img.0","percentage":0.3268,"device":"PocketBook","device_id":"3A5C4E"}'
        put "$dir" '{"document":"d","progress":12,"percentage":"1","device":7,"device_id":null,"metadata":{"title":" Dune ","authors":["Frank Herbert","Brian"]}}'
        put "$dir" '{"document":"a:b","percentage":1e400,"progress":[],"device":{},"metadata":{"author":"x"}}'
        put "$dir" '{"a":"\\u0000","b":[1,2,{"c":null}],"d":-0.0,"e":true}'
        put "$dir" 'ann\n5ebe2294ecd0e0f08eab7690d2a6ee69'
        put "$dir" 'application/vnd.koreader.v1+json'
        put "$dir" '  \n\t'
        ;;
    opf)
        unzip_seeds "$dir" .opf '' "${epubs[@]}"
        ;;
    epub)
        copy_seeds "$dir" "${epubs[@]}"
        ;;
    fb2)
        copy_seeds "$dir" "$books"/*.fb2
        put "$dir" '<?xml version="1.0" encoding="windows-1251"?>\n<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink"><description><title-info><book-title>\xcf\xf0\xe8</book-title><sequence name="S" number="1.5"/><coverpage><image l:href="#c"/></coverpage></title-info></description><body/><binary id="c" content-type="image/png">iVBORw0KGgo=</binary></FictionBook>'
        ;;
    mobi)
        copy_seeds "$dir" "$books"/*.mobi "$books"/*.azw3
        ;;
    comic)
        copy_seeds "$dir" "$books"/*.cbz
        unzip_seeds "$dir" comicinfo.xml $'\x01' "$books"/*.cbz
        ;;
    partial_md5)
        copy_seeds "$dir" "$books"/*.txt "$books"/broken-png-disguised.epub "$books"/no-cover.fb2
        put "$dir" '\xff\xff\xff\xff\x01pattern'
        put "$dir" '\x00\x04\x00\x00\x90'
        put "$dir" '\x01\x00\x10\x00\xff\x00'
        ;;
    pdf)
        copy_seeds "$dir" "$books"/*.pdf
        mapfile -t pdfs < <(find "$fixtures/koreader" -maxdepth 1 -name '*.pdf' -size -600k)
        copy_seeds "$dir" "${pdfs[@]}"
        synth_seeds "$dir" pdf
        ;;
    rar)
        # No RAR in fixtures/ (nothing writes RAR freely): hand-made archives only.
        synth_seeds "$dir" rar
        ;;
    opds_search)
        put "$dir" 'q=Dune+messiah&page=2'
        put "$dir" 'query=tolk'
        put "$dir" 'q=B%C3%BCcher+%C3%84rger'
        put "$dir" "o'brien & | ! :* (x)"
        put "$dir" 'q=%FF%00&query=&page=-1'
        put "$dir" '\xc4\xb0stanbul \xef\xac\x81 \xe5\x90\xbe\xe8\xbc\xa9\xe3\x81\xaf\xe7\x8c\xab'
        ;;
    *)
        echo "fuzz: unknown target $t" >&2
        return 1
        ;;
    esac
}

# --- run ---------------------------------------------------------------------------------------
failed=0
rows=()
for t in $targets; do
    seed "$t" || exit 1
    art=$fuzz_dir/artifacts/$t
    mkdir -p "$art"
    log=$art/fuzz.log
    stamp=$art/.started
    : >"$stamp"
    replay="-"
    shopt -s nullglob
    regressions=("$fuzz_dir/regressions/$t"/*)
    shopt -u nullglob
    if [ ${#regressions[@]} -gt 0 ]; then
        if "$bin_dir/$t" "${fuzz_flags[@]}" "${regressions[@]}" >"$art/replay.log" 2>&1; then
            replay="${#regressions[@]} ok"
        else
            replay="FAILED"
            failed=1
            echo "fuzz: $t: a regression input crashes again, see $art/replay.log" >&2
        fi
    fi
    echo "fuzz: $t: $(ls "$fuzz_dir/corpus/$t" | wc -l) seeds, ${seconds}s" >&2
    "$bin_dir/$t" "${fuzz_flags[@]}" -max_total_time="$seconds" \
        -artifact_prefix="$art/" "$fuzz_dir/corpus/$t" >"$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # The final "#N DONE cov: X ft: Y", else (after a crash) the last status line.
    last=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    [ -n "$last" ] || last=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(sed -n 's/.* corp: \([0-9]*\)\/\([0-9a-zA-Z]*\).*/\1 (\2)/p' <<<"$last")
    crashes=$(find "$art" -maxdepth 1 -newer "$stamp" \
        \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed=1
        [ "$crashes" -gt 0 ] || crashes="exit $status"
        echo "fuzz: $t crashed, see $log and $art/" >&2
        grep -m1 -E "panicked at|ERROR: libFuzzer" -A2 "$log" >&2
    fi
    rows+=("$(printf '%-15s | %12s | %8s | %6s | %6s | %-14s | %-11s | %s' \
        "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$replay" "$crashes")")
done

echo
echo "fuzzing: ${seconds}s per target, sanitizer $sanitizer, logs in fuzz/artifacts/<target>/fuzz.log"
printf '%-15s | %12s | %8s | %6s | %6s | %-14s | %-11s | %s\n' \
    target executions "exec/s" cov ft corpus regressions crashes
printf '%s\n' "----------------+--------------+----------+--------+--------+----------------+-------------+--------"
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: crashes found: minimise with 'cargo +nightly fuzz tmin -s $sanitizer <target> <artifact>'" \
        "and keep the input under fuzz/regressions/<target>/" >&2
fi
exit "$failed"
