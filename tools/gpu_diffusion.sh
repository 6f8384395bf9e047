#!/usr/bin/env bash
# Lesson 10's shipped diffusion models, trained on one CUDA GPU, and the generators benchmark recorded there
# (issue 18: "where a GPU is at hand, a larger network, more epochs"; the CPU recipe is `python -m course_lib.train
# ddpm`, whose result the benchmark shows beside). About 7 minutes on one H200.
#
#   tools/gpu_diffusion.sh [OUT_DIR]      # from the repository root, on a machine with CUDA and PyTorch
#
# It uses the machine's own torch and runs course_lib from this checkout (PYTHONPATH), so nothing replaces torch.
# Packages the machine lacks can travel as wheels in .whl/ (diffusers, importlib_metadata, kornia, kornia_rs):
# they are installed with --no-deps into /tmp/site. Writes the checkpoints into course_lib/checkpoints/ and
# copies them, the logs and benchmarks/measured.json to OUT_DIR (default $OUT, else build/gpu).
# Settings (environment): CHANNELS (64), BATCH (256), UNCOND_MIN (2), CFG_MIN (0), BENCH_ARGS, and INIT (a
# checkpoint the unconditional run continues from, with a new warm-up and cosine decay; its time is counted).
# CFG_MIN > 0 also trains the class-conditional `ddpm_mnist_cfg` from the new model for that many minutes; by default
# the shipped one (trained from scratch on the course's 2-core CPU, see recipes/ddpm.py) is kept and only measured.
set -uo pipefail
out=${1:-${OUT:-build/gpu}}
mkdir -p "$out"
CHANNELS=${CHANNELS:-64} BATCH=${BATCH:-256} UNCOND_MIN=${UNCOND_MIN:-2} CFG_MIN=${CFG_MIN:-0}
BENCH_ARGS=${BENCH_ARGS:---batch-size 2500 --ddpm-seconds 75 --cpu-steps}
if [ "${WHEELS:-1}" = 1 ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing .whl/ failed"; exit 1; }
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" COURSE_DEVICE=${COURSE_DEVICE:-cuda} COURSE_PROGRESS=0 PYTHONUNBUFFERED=1
log() { echo "== $(date +%T) $*"; }
python3 -c "import torch, diffusers, kornia; print('torch', torch.__version__, '| diffusers', diffusers.__version__,
'|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')" || exit 1
train="python3 -m course_lib.train ddpm --full --channels $CHANNELS --batch-size $BATCH --save-minutes 1"
log "unconditional model, $UNCOND_MIN min${INIT:+, from $INIT}"
$train --minutes "$UNCOND_MIN" ${INIT:+--init "$INIT"} --out course_lib/checkpoints/ddpm_mnist.pt > "$out/train_ddpm.log" 2>&1 \
  || { tail -n 20 "$out/train_ddpm.log"; exit 1; }
tail -n 2 "$out/train_ddpm.log"
if [ "$CFG_MIN" != 0 ]; then
  log "class-conditional model from it, $CFG_MIN min"
  $train --minutes "$CFG_MIN" --conditional --init ddpm_mnist --out course_lib/checkpoints/ddpm_mnist_cfg.pt \
    > "$out/train_ddpm_cfg.log" 2>&1 || { tail -n 20 "$out/train_ddpm_cfg.log"; exit 1; }
  tail -n 2 "$out/train_ddpm_cfg.log"
fi
cp course_lib/checkpoints/ddpm_mnist.pt course_lib/checkpoints/ddpm_mnist_cfg.pt "$out/"
log "generators benchmark: $BENCH_ARGS"
python3 - $BENCH_ARGS <<'PY' 2>&1 | tee "$out/generators.log"
import sys
from course_lib import benchmark
from course_lib.benchmarks import generators
results = generators.measure(sys.argv[1:])
generators.show(results)
generators.store(results)             # into ddpm_mnist.pt's metadata, where lesson 10 reads it
benchmark.record("generators", results)  # and measured.json, with the checkpoints' fingerprints
PY
cp course_lib/checkpoints/ddpm_mnist.pt course_lib/benchmarks/measured.json "$out/"
log done
