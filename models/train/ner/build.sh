#!/usr/bin/env bash
# Rebuilds the entity head of warden-minilm (issue #22) on top of the shipped graph. See README.md.
#   VENV=/work/.venv-ner  DATA=../shared/data  SEEDS="1 2 3"  SHIP_SEED=1
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-/work/.venv-ner}
P="nice -n 19 $VENV/bin/python"
SEEDS=${SEEDS:-"1 2 3"}
SHIP_SEED=${SHIP_SEED:-1}
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
mkdir -p out

$P prep.py
$P features.py --sets train dev wnut_test uner_test --layers 3 4 5
for s in $SEEDS; do
  $P train_head.py --layers 3 5 --case 1 --epochs 3 --hidden 256 --seed "$s" --tag "final_s$s"
done
# the shipped model.int8.onnx with any earlier entity head stripped is the base (export_head.strip_head)
$P export_head.py --head "out/heads/final_s$SHIP_SEED.npz" --out out/model.entities.int8.onnx
$P -c "import onnx, export_head; onnx.save(export_head.strip_head(onnx.load('../../warden-minilm/model.int8.onnx')), 'out/base.int8.onnx')"
echo "c5390496245ca46fd3fade521b038f29e40d861caadfb99d82e6e8cab17a247c  out/base.int8.onnx" | sha256sum -c
$P check_graph.py --old out/base.int8.onnx --new out/model.entities.int8.onnx --runs 400 --json out/check.json
$P latency.py --graph bare=out/base.int8.onnx --graph new=out/model.entities.int8.onnx --json out/latency.json
$P manifest.py --model out/model.entities.int8.onnx --head "out/heads/final_s$SHIP_SEED.npz"
$P fixture.py
for s in $SEEDS; do
  $P export_head.py --head "out/heads/final_s$s.npz" --out "out/seed$s.onnx"
  $P evaluate.py --model "out/seed$s.onnx" --thresholds "out/heads/final_s$s.json" --tag "final_s$s"
done
# evaluation corpus, once, at the end (never used for choices)
$P evaluate.py --model ../../warden-minilm/model.int8.onnx --thresholds "out/heads/final_s$SHIP_SEED.json" \
  --sets --synth --tag synth
