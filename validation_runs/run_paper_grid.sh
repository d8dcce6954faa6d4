#!/usr/bin/env bash
# Train the paper-profile grid seed by seed (resumable) and commit finished records as they appear.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate 2>/dev/null || true
# Dyn-GDA's switched-window entries are computed in the run (about 13 CPU-s each); set
# GPU_VALIDATION_SKIP_WINDOW=1 to defer them to `python -m gpu_validation analyze`
commit_records() {
  git add validation_runs/paper/records validation_runs/paper/samples 2>/dev/null || return 0
  n=$(ls validation_runs/paper/records 2>/dev/null | wc -l)
  git commit -q -m "validation: paper-profile grid records ($n runs so far)" -- validation_runs/paper/records validation_runs/paper/samples 2>/dev/null || true
}
( while sleep 300; do commit_records; done ) &
committer=$!
for s in 0 1 2; do
  python -m gpu_validation run --datasets all2d --gans all --methods thesis --profile paper \
      --seeds "$s" --batched 32 --threads 1 --out validation_runs/paper --no-progress
done
kill "$committer" 2>/dev/null
commit_records
