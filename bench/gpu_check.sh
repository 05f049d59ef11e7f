#!/usr/bin/env bash
# Check spacy-xfer on a machine with a CUDA GPU, in under ten minutes on one GPU:
#   (a) the test suite's `gpu`-marked tests, which must run (a missing GPU fails them here);
#   (b) the default experiment (PTB POS -> Twitter POS, T-A, rate 0.1, seed 13) trained for
#       a fixed number of steps on the GPU and on the CPU, and both dev scores compared;
#   (c) training and inference tokens/s on the GPU at batch 10, 32 and 256 (bench/speed.py).
# The device comes from thinc/spaCy (`--gpu-id`, require_gpu). Run from anywhere, in the
# environment spacy-xfer is installed in (with CuPy and a CUDA build of torch):
#   bench/gpu_check.sh [GPU_ID]
# Settings (environment): PYTHON (python), CORPORA (../shared/corpora, as for `prepare`),
# OUT (gpu-check: corpus, trainings and scores), STEPS (300 updates per training),
# TOLERANCE (3.0: the largest GPU - CPU dev score difference, in points, that passes;
# the two runs draw different random numbers, so small differences are noise).
set -euo pipefail

GPU_ID=${1:-0}
PYTHON=${PYTHON:-python}
REPO=$(cd "$(dirname "$0")/.." && pwd)
CORPORA=${CORPORA:-$REPO/../shared/corpora}
OUT=${OUT:-$REPO/gpu-check}
STEPS=${STEPS:-300}
TOLERANCE=${TOLERANCE:-3.0}
cd "$REPO"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code
mkdir -p "$OUT"

echo "== GPU $GPU_ID"
"$PYTHON" -c "from spacy_xfer.device import use_device; use_device($GPU_ID)"
"$PYTHON" -c "import torch; print(torch.cuda.get_device_name($GPU_ID), '| torch', torch.__version__, '| CUDA', torch.version.cuda, '| cuDNN', torch.backends.cudnn.version())"

echo "== (a) gpu-marked tests"
XFER_REQUIRE_GPU=1 XFER_GPU_ID=$GPU_ID "$PYTHON" -m pytest tests -m gpu -q -p no:cacheprovider

echo "== (b) default experiment, $STEPS steps on GPU $GPU_ID and on the CPU"
for name in ptb twitter_pos; do
    [ -f "$OUT/corpus/$name/dev.spacy" ] || "$PYTHON" -m spacy_xfer prepare "$name" "$CORPORA" "$OUT/corpus/$name" --seed 13
done
for device in gpu cpu; do
    gpu_arg=$([ "$device" = gpu ] && echo "$GPU_ID" || echo -1)
    rm -rf "$OUT/train-$device"
    "$PYTHON" -m spacy_xfer train configs/t_a.cfg "$OUT/train-$device" --source ptb --target twitter_pos \
        --rate 0.1 --seed 13 --corpus-dir "$OUT/corpus" --gpu-id "$gpu_arg" \
        --set training.max_steps="$STEPS" --set training.patience=0 --set training.eval_frequency="$STEPS"
    "$PYTHON" -m spacy_xfer evaluate "$OUT/train-$device/model-last" "$OUT/dev-$device.json" \
        --source ptb --target twitter_pos --corpus-dir "$OUT/corpus" --part dev --gpu-id "$gpu_arg"
done
"$PYTHON" - "$OUT" "$TOLERANCE" <<'PY'
import json, sys
out, tolerance = sys.argv[1], float(sys.argv[2])
scores = {device: json.load(open(f"{out}/dev-{device}.json"))["target"]["scores"] for device in ("gpu", "cpu")}
key = next(k for k in scores["cpu"] if k.endswith("_score"))
gpu, cpu = 100 * scores["gpu"][key], 100 * scores["cpu"][key]
print(f"dev {key}: GPU {gpu:.2f}, CPU {cpu:.2f}, difference {gpu - cpu:+.2f} points (tolerance {tolerance})")
if abs(gpu - cpu) > tolerance:
    sys.exit("FAIL: the GPU and CPU trainings differ by more than the tolerance")
PY

echo "== (c) tokens/s on GPU $GPU_ID (spacy_xfer.Adam.v1 steps)"
"$PYTHON" bench/speed.py --gpu-id "$GPU_ID" --batch-sizes 10 32 256 --json "$OUT/speed-gpu.json"
echo "== done: $OUT"
