#!/usr/bin/env bash
# Lesson 11's shipped flow-matching models, trained on the course's 2-core CPU, one after the other (issue 20: each
# within lesson 10's CPU budget, 70 minutes; the autoguided pair within the issue's 75): the unconditional
# `flow_mnist` (UNCOND_MIN, 68; logit-normal training times and bfloat16 autocast, the recipe's defaults), the
# weaker model that autoguides it, `flow_mnist_guide` (GUIDE_MIN, 7; the same recipe at 8 channels in float32), and
# the class-conditional `flow_mnist_cfg` (CFG_MIN, 70; uniform training times, float32), trained from scratch with
# labels dropped to the null label with probability 0.2. Run it on a quiet machine, from the repository root:
#
#   nohup tools/cpu_flow.sh > build/flow/run.log 2>&1 &
#
# Logs go to build/flow/; interim checkpoints every 5 minutes (`--resume` continues a killed run).
set -euo pipefail
UNCOND_MIN=${UNCOND_MIN:-68} GUIDE_MIN=${GUIDE_MIN:-7} CFG_MIN=${CFG_MIN:-70} THREADS=${THREADS:-2}
mkdir -p build/flow
export PYTHONUNBUFFERED=1 COURSE_PROGRESS=0
py=${PYTHON:-.venv/bin/python}
echo "== $(date +%T) flow_mnist, $UNCOND_MIN min, load $(cut -d' ' -f1-3 /proc/loadavg)"
$py -m course_lib.train flow --full --threads "$THREADS" --minutes "$UNCOND_MIN" > build/flow/train_flow.log 2>&1
tail -n 1 build/flow/train_flow.log
echo "== $(date +%T) flow_mnist_guide, $GUIDE_MIN min, load $(cut -d' ' -f1-3 /proc/loadavg)"
$py -m course_lib.train flow --full --threads "$THREADS" --minutes "$GUIDE_MIN" --channels 8 --no-cpu-bf16 \
  --out course_lib/checkpoints/flow_mnist_guide.pt > build/flow/train_flow_guide.log 2>&1
tail -n 1 build/flow/train_flow_guide.log
echo "== $(date +%T) flow_mnist_cfg, $CFG_MIN min, load $(cut -d' ' -f1-3 /proc/loadavg)"
$py -m course_lib.train flow --full --threads "$THREADS" --minutes "$CFG_MIN" --conditional --time-sampling uniform \
  --no-cpu-bf16 > build/flow/train_flow_cfg.log 2>&1
tail -n 1 build/flow/train_flow_cfg.log
echo "== $(date +%T) done, load $(cut -d' ' -f1-3 /proc/loadavg)"
