#!/usr/bin/env bash
# Runs the test suite while every core is kept busy by another process (stress-ng --cpu N, N = the core count), the
# way a shared CI machine runs it: the README's test command RUNS times in a row, then the timing-sensitive tests
# (allocation counts, kill and resume, writer locks, concurrent parts, truncated shards) TIMING_RUNS times. Prints one
# line per run and a count of passes; exits 1 if any run failed. Installs stress-ng from Debian when missing.
#   tools/test-under-load.sh [RUNS [TIMING_RUNS]]        (defaults: 3 and 20)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}" timing_runs="${2:-20}"
if ! command -v stress-ng >/dev/null; then
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq stress-ng >/dev/null
fi
command -v stress-ng >/dev/null || { echo "test-under-load: stress-ng is missing and could not be installed" >&2; exit 2; }
stress-ng --cpu "$(nproc)" --timeout 0 >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
log="$(mktemp -d)"
echo "load: stress-ng --cpu $(nproc) (pid $load); logs in $log" >&2

failed=0
readme_tests() {
    dotnet test tests/LogitStore.Tests -c Release && dotnet test tests/LogitStore.Torch.Tests -c Release && ./tools/test-python.sh
}
for i in $(seq 1 "$runs"); do
    start=$SECONDS
    if readme_tests >"$log/suite-$i.log" 2>&1; then echo "suite run $i: passed in $((SECONDS - start)) s"
    else echo "suite run $i: FAILED after $((SECONDS - start)) s (see $log/suite-$i.log)"; failed=$((failed + 1)); fi
done

core='FullyQualifiedName~LoaderAllocationTests|FullyQualifiedName~ExactResume|FullyQualifiedName~WriterLock'
core+='|FullyQualifiedName~MergeChecks|FullyQualifiedName~StreamResumeIdentity|FullyQualifiedName~TruncatedShard'
cli='FullyQualifiedName~CrashResume|FullyQualifiedName~ConcurrentParts|FullyQualifiedName~WriterLockCli'
python_tests=(python/tests/test_store.py python/tests/test_truncated_shard.py -k "allocates_nothing or truncated")
for i in $(seq 1 "$timing_runs"); do
    start=$SECONDS
    if dotnet test tests/LogitStore.Tests -c Release --no-build --filter "$core" >"$log/timing-$i.log" 2>&1 \
        && dotnet test tests/LogitStore.Torch.Tests -c Release --no-build --filter "$cli" >>"$log/timing-$i.log" 2>&1 \
        && /usr/bin/python3 -m pytest -q "${python_tests[@]}" >>"$log/timing-$i.log" 2>&1; then
        echo "timing run $i: passed in $((SECONDS - start)) s"
    else
        echo "timing run $i: FAILED after $((SECONDS - start)) s (see $log/timing-$i.log)"; failed=$((failed + 1))
    fi
done
echo "$((runs + timing_runs - failed)) of $((runs + timing_runs)) runs passed under load"
[ "$failed" = 0 ]
