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
targets=${FUZZ_TARGETS:-kosync_request opf epub fb2 mobi comic partial_md5 opds_search}
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
export TMPDIR=$scratch   # the FB2 and MOBI targets write their input there

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
