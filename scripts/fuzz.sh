#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ with AddressSanitizer and runs each for
# a while: first every committed input (Fuzz/Corpus and Fuzz/Regressions) once,
# so a regression fails fast, then new inputs for SECONDS. docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(ndjson tapwire lz4 config checkpoint recovery)
SCRATCH=Fuzz/.build-fuzz
SWIFT=${SWIFT:-swift}

usage() {
    cat <<EOF
usage: scripts/fuzz.sh [--merge] [SECONDS] [TARGET...]

Builds the fuzz targets (release, -sanitize=fuzzer,address, in $SCRATCH) and
runs each TARGET for SECONDS (default 30) after replaying its committed inputs.
Prints per target the executions, executions per second and corpus size; exits
non-zero if any input crashes, hangs or breaks an invariant, with the path of
the input that did.

Targets: ${ALL_TARGETS[*]} (default: all).

  --merge   afterwards, minimise what was found into Fuzz/Corpus/TARGET
            (libFuzzer -merge=1): for committing a better seed corpus.
  --help    this text.

Environment: FUZZ_SEED fixes libFuzzer's random seed, so a run can be repeated
(\`make test\` uses FUZZ_SEED=1: CI walks the same inputs every time, and what it
finds, a local run with the same seed finds too; unset, each run explores anew).
FUZZ_ARGS adds libFuzzer flags to each run (e.g. FUZZ_ARGS=-jobs=2, or
-max_len=65536); SWIFT names the swift driver.
EOF
}

seconds=30
merge=0
targets=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --merge) merge=1 ;;
        '' | *[!0-9]*)
            known=0
            for t in "${ALL_TARGETS[@]}"; do [ "$t" = "$arg" ] && known=1; done
            if [ $known = 0 ]; then
                echo "fuzz.sh: unknown target '$arg'; known: ${ALL_TARGETS[*]} (see --help)" >&2
                exit 2
            fi
            targets+=("$arg")
            ;;
        *) seconds=$arg ;;
    esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")

echo "fuzz: building the fuzz targets in $SCRATCH (release, fuzzer + address sanitizer)"
mkdir -p "$SCRATCH"
# The main package's pins, when it was built, so both resolve to the same
# versions and resolution skips the version search (neither file is committed).
if [ -f Package.resolved ] && [ ! -f Fuzz/Package.resolved ]; then cp Package.resolved Fuzz/Package.resolved; fi
build_start=$(date +%s)
run_build() {
    if ! "$SWIFT" build -c release --package-path Fuzz --scratch-path "$SCRATCH" "$@" \
        -Xswiftc -sanitize=fuzzer,address >"$SCRATCH/fuzz-build.log" 2>&1; then
        tail -n 40 "$SCRATCH/fuzz-build.log" >&2
        echo "fuzz: the build failed (full log: $SCRATCH/fuzz-build.log)" >&2
        exit 1
    fi
}
# Always all of them: they share nearly every module, and a --product build
# was seen to miss a source file added to a dependency.
run_build
bin_dir=$("$SWIFT" build -c release --package-path Fuzz --scratch-path "$SCRATCH" --show-bin-path)
echo "fuzz: built in $(($(date +%s) - build_start)) s"

# Crashes write their input; the Swift runtime's backtracer would get there first.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:handle_abort=1}
work=$SCRATCH/run
mkdir -p "$work"

failed=()
for t in "${targets[@]}"; do
    bin="$bin_dir/fuzz-$t"
    corpus=Fuzz/Corpus/$t
    regressions=Fuzz/Regressions/$t
    found=$work/corpus/$t
    artifacts=$work/artifacts/$t
    log=$work/$t.log
    mkdir -p "$corpus" "$regressions" "$found" "$artifacts"
    rm -rf "$work/tmp/$t" && mkdir -p "$work/tmp/$t"
    dict=()
    [ -f "Fuzz/Dictionaries/$t.dict" ] && dict=("-dict=Fuzz/Dictionaries/$t.dict")
    committed=$(find "$corpus" "$regressions" -type f | wc -l)

    echo "fuzz: [$t] replaying $committed committed input(s)"
    if ! TMPDIR="$work/tmp/$t" "$bin" -runs=0 -timeout=25 -artifact_prefix="$artifacts/" "${dict[@]}" \
        "$corpus" "$regressions" >"$log.replay" 2>&1; then
        crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log.replay" | tail -n 1)
        grep -m 3 -E 'fuzz invariant broken|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log.replay" >&2 || tail -n 20 "$log.replay" >&2
        echo "fuzz: [$t] FAILED on a committed input: ${crash:-see $log.replay} (log: $log.replay)" >&2
        failed+=("$t")
        continue
    fi

    seed=()
    if [ -n "${FUZZ_SEED:-}" ]; then
        # From the committed inputs only, as on a fresh clone.
        seed=("-seed=$FUZZ_SEED")
        rm -rf "$found" && mkdir -p "$found"
    fi
    echo "fuzz: [$t] fuzzing for $seconds s${FUZZ_SEED:+ from seed $FUZZ_SEED}"
    # shellcheck disable=SC2086
    if TMPDIR="$work/tmp/$t" "$bin" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 "${seed[@]}" \
        -artifact_prefix="$artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$found" "$corpus" "$regressions" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
        corp=$(grep -o 'corp: [0-9]*/[0-9A-Za-z]*' "$log" | tail -n 1 | cut -d' ' -f2)
        echo "fuzz: [$t] ok: ${execs:-?} executions, ${rate:-?}/s, corpus ${corp:-?} (inputs/size)"
    else
        crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        grep -m 3 -E 'fuzz invariant broken|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" >&2 || tail -n 20 "$log" >&2
        echo "fuzz: [$t] FAILED: crashing input ${crash:-not written} (log: $log)" >&2
        failed+=("$t")
        continue
    fi

    if [ $merge = 1 ]; then
        fresh=$work/merge/$t
        rm -rf "$fresh" && mkdir -p "$fresh"
        TMPDIR="$work/tmp/$t" "$bin" -merge=1 -timeout=25 "$fresh" "$corpus" "$found" >"$log.merge" 2>&1
        rm -rf "$corpus" && mkdir -p "$corpus" && cp "$fresh"/* "$corpus"/ 2>/dev/null || true
        echo "fuzz: [$t] merged: Fuzz/Corpus/$t now holds $(find "$corpus" -type f | wc -l) input(s), $(du -sh "$corpus" | cut -f1)"
    fi
    rm -rf "$work/tmp/$t"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (docs/fuzzing.md says how to reproduce and keep the input as a regression)" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) passed"
