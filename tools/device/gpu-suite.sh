#!/usr/bin/env bash
# Everything that needs a GPU, in one command of at most ten minutes, writing a report directory (md + json + png):
#   1. host→device GB/s, page-locked against pageable, and the batch loader's positions/s into device tensors;
#   2. `teacher train` of the small preset on Brown for a fixed step budget (tiny presets in the smoke run);
#   3. `pack --teacher` tokens/s against the bare forward's tokens/s (the pack's own phase timings), bound side named;
#      then the same for a random-weight checkpoint of Llama-3.2-1B's configuration in Hugging Face layout (BF16
#      shards, Llama 3's tokenizer): `teacher bench`, the bare forward and the pack over the same tokens in one process;
#   4. student step time: LM-only, offline KD and online KD (the teacher inside every step), same student and batch;
#   5. a summary (gpu-suite.md, gpu-suite.json) with the feed's positions/s over the student's tokens/s;
#   6. with LOGITSTORE_SUITE_STUDY_SECONDS=N, the offline-versus-online study for at most N seconds, its report and
#      finished runs packed into study.tgz (the study resumes from those runs); LOGITSTORE_SUITE_STUDY_ARMS (default
#      core), LOGITSTORE_SUITE_STUDY_SEEDS (default 1) and LOGITSTORE_SUITE_STUDY_ARGS (say, --teacher-preset small)
#      choose what it runs.
# Each step has its own time limit and the suite goes on past a failed step, so one run always leaves a report.
#
# On the GPU machine, from the repository root, with the bundle from tools/device/build-bundle.sh
# (carry .device and data/brown):   bash tools/device/gpu-suite.sh "$OUT"
# Rehearsal on any machine (CPU, tiny sizes, every step but the study; the test suite runs it):
#   bash tools/device/gpu-suite.sh --cpu-smoke [DIR]
# A rehearsal writes to DIR, or to a new temporary directory it names; never to reports/gpu, where measured results live.
# LOGITSTORE_CLI overrides the command that runs the CLI, LOGITSTORE_SUITE_CORPUS the corpus (default data/brown).
set -uo pipefail
smoke=0
if [[ "${1:-}" == "--cpu-smoke" ]]; then smoke=1; shift; fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if (( smoke )); then
    out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/logitstore-gpu-smoke.XXXXXX")}"
else
    out="${1:-$repo/reports/gpu}"
fi
out="$(realpath -m "$out")"
if (( smoke )) && [[ "$out/" == "$(realpath -m "$repo/reports/gpu")/"* ]]; then
    echo "gpu-suite: a CPU rehearsal never writes to reports/gpu (measured results); give another directory" >&2
    exit 2
fi
mkdir -p "$out"
(( smoke )) && echo "gpu-suite: CPU rehearsal, report in $out" >&2
cd "$repo"
corpus="${LOGITSTORE_SUITE_CORPUS:-data/brown}"
work="${LOGITSTORE_SUITE_WORK:-/tmp/logitstore-gpu-suite}"
rm -rf "$work" && mkdir -p "$work"
log="$out/suite.log"
: > "$log"

if (( smoke )); then
    read -r -a cli <<< "${LOGITSTORE_CLI:-./logitstore}"
    device=cpu teacher_preset=tiny student_preset=tiny
    teacher_steps=6 teacher_batch=2 teacher_seq=32 pack_tokens=2048 pack_batch=8 student_steps=2 student_batch=2 feed_batches=3
    study_scale=(--corpus-tokens 60000 --teacher-epochs 1 --student-steps 4 --eval-every 4 --seq-len 64 --batch 4)
    hf_checkpoint=(--preset tiny-llama --vocab 128256) hf_tokens=512 hf_seq=64 hf_batch=2
    python="${LOGITSTORE_PYTHON:-/usr/bin/python3}"   # the system's, with numpy
else
    # shellcheck disable=SC1091
    source .device/env.sh
    export LOGITSTORE_TRACE=1
    read -r -a cli <<< "${LOGITSTORE_CLI:-dotnet .device/app/LogitStore.Cli.dll}"
    device=cuda teacher_preset=small student_preset=small
    teacher_steps=600 teacher_batch=32 teacher_seq=256 pack_tokens=524288 pack_batch=64 student_steps=200 student_batch=16 feed_batches=200
    study_scale=()
    hf_checkpoint=(--preset llama-3.2-1b) hf_tokens=262144 hf_seq=2048 hf_batch=8
    python="${LOGITSTORE_PYTHON:-python3}"   # the one PyTorch is installed in, with numpy
fi

# step NAME LIMIT_SECONDS COMMAND...: runs one step under its limit, appends its output to the log, records rc and seconds.
step() {
    local name=$1 limit=$2; shift 2
    echo "### step $name (limit ${limit} s): $*" | tee -a "$log"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "### end $name rc=$rc seconds=$((SECONDS - t0))" | tee -a "$log"
}

{
    echo "### machine"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU (nvidia-smi absent)"
    nproc; uname -r
} 2>&1 | tee -a "$log"

teacher="$work/teacher" store="$work/store"
step teacher-train 180 "${cli[@]}" teacher train --device "$device" --preset "$teacher_preset" --corpus "$corpus" \
    --out "$teacher" \
    --max-steps "$teacher_steps" --batch "$teacher_batch" --seq-len "$teacher_seq" --warmup 50 --lr 0.002 \
    --eval-every 200
step teacher-pack 75 "${cli[@]}" pack --teacher "$teacher" --corpus "$corpus" --device "$device" --out "$store" \
    --method top-k --top-k 50 \
    --tokens "$pack_tokens" --batch "$pack_batch" --seq-len "$teacher_seq" --force
hf_teacher="$work/hf-teacher"
# The GPU machine has no network: the bundle carries Llama 3's tokenizer files. A rehearsal fetches them (a no-op once there).
if (( smoke )); then
    step fetch-tokenizers 120 ./tools/fetch-tokenizers.sh
    tokenizer=data/tokenizers/llama3
else
    tar -xJf .device/llama3-tokenizer.tar.xz -C "$work" && tokenizer="$work/llama3"
fi
step hf-checkpoint 150 "$python" tools/hf_checkpoint.py "$hf_teacher" "${hf_checkpoint[@]}" --shards 2 \
    --tokenizer-from "$tokenizer"
step hf-teacher-bench 150 "${cli[@]}" teacher bench --device "$device" --teacher "$hf_teacher" --corpus "$corpus" \
    --tokens "$hf_tokens" --seq-len "$hf_seq" --batch "$hf_batch"
rm -rf "$hf_teacher"
for mode in lm offline online; do
    step "student-$mode" 70 "${cli[@]}" train --device "$device" --store "$store" --mode "$mode" --teacher "$teacher" \
        --vocab-from "$teacher" --preset "$student_preset" --max-steps "$student_steps" --batch "$student_batch" --seq-len 0 \
        --out "$work/student-$mode"
done
step device-feed 50 "${cli[@]}" bench device "$store" --device "$device" --out "$out" --batch "$student_batch" \
    --batches "$feed_batches"

study_seconds="${LOGITSTORE_SUITE_STUDY_SECONDS:-0}"
if (( study_seconds > 0 )); then
    read -r -a study_args <<< "${LOGITSTORE_SUITE_STUDY_ARGS:-}"
    step study "$study_seconds" "${cli[@]}" experiment offline-vs-online --device "$device" \
        --arms "${LOGITSTORE_SUITE_STUDY_ARMS:-core}" --seeds "${LOGITSTORE_SUITE_STUDY_SEEDS:-1}" \
        --out "$work/study-report" --work "$work/study" "${study_scale[@]}" "${study_args[@]}"
    tar -czf "$out/study.tgz" -C "$work" study-report
fi
step report 20 python3 tools/device/gpu-report.py "$out"
