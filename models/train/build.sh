#!/usr/bin/env bash
# Rebuild every Warden model artifact from ../shared/data (train/val files only for fitting)
# and registry packages.
#
#   bash models/train/build.sh            # full build (data, baseline, train, export, eval, cards)
#   SKIP_BASELINE=1 bash models/train/build.sh
#
# Environment: VENV (default /work/.venv-train, created from requirements.txt if missing),
# DATA (default ../shared/data next to the repo). Heavy steps run under `nice -n 19`.
# The Debian manuals the document head trains on come from Debian's archive first (issue #19):
#   mkdir -p /work/debdocs && cd /work/debdocs && apt-get download python3.11-doc nodejs-doc postgresql-doc-15 \
#     && for f in *.deb; do dpkg-deb -x "$f" x; done        (data.py --debian-docs; without them it trains without)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-/work/.venv-train}"
DATA="${DATA:-$REPO/../shared/data}"
OUT="$HERE/out"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=2 PYTHONHASHSEED=0
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  nice -n 19 "$VENV/bin/pip" install -r "$HERE/requirements.txt"
fi
PY="nice -n 19 $VENV/bin/python"
mkdir -p "$OUT" "$HERE/../warden-minilm" "$HERE/../cards" "$HERE/eval_scores"
cd "$HERE"
T0=$(date +%s)
step() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
step "data";      $PY data.py --data "$DATA" --out "$OUT/data"
step "frozen embeddings + LR baseline"; $PY baseline.py --out "$OUT"
step "fine-tune"; : > "$OUT/train.log"; $PY train.py --out "$OUT" ${TRAIN_ARGS:---max-steps 1500 --epochs 1.0 --frozen-online 1}
step "export";    $PY export.py --out "$OUT"
if [ -z "${SKIP_BASELINE:-}" ]; then
  step "export + evaluate baseline"
  mkdir -p "$OUT/baseline"
  $PY export.py --out "$OUT" --ckpt "$OUT/baseline.pt" --dest "$OUT/baseline" --fp32 "$OUT/baseline/model.fp32.onnx"
  $PY evaluate.py --out "$OUT" --only-baseline
fi
step "evaluate";  $PY evaluate.py --out "$OUT" --skip-baseline
step "cards + manifest"; $PY cards.py
step "traffic fixture"; $PY traffic_fixture.py --data "$OUT/data"
step "done in $(( $(date +%s) - T0 ))s"
