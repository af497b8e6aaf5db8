#!/usr/bin/env bash
# The searches of the search_pareto study (issue 29), two lanes of one core each; every command resumes
# (--resume) where a killed run stopped, so rerunning this script finishes what is missing.
# `bash benchmarks/search_pareto_searches.sh round2`: after the first report, the 0.10 ms search again for 45 epochs
# (temperature falling to 0.23 instead of 0.56), a further candidate for that budget, chosen on validation like the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=benchmarks/results/search_pareto
SPACE=configs/search/fmnist_small.yaml
LUT=$OUT/lut_onnxruntime_1t.json
COMMON="--limit-train 4000 --batch-size 64 --threads 1 --seed 0 --resume"

dmasking() {  # budget in ms (ONNX Runtime, 1 thread, predicted by the space's table) [epochs decay suffix]
  mobilezoo search dmasking --config $SPACE --cost latency --lut $LUT --target-ms "$1" --epochs "${2:-20}" \
      --warmup-epochs 4 --arch-lr 0.03 --temperature 5 --temperature-decay "${3:-0.115}" --derive budget --band 0.9 \
      --name "dmasking_fmnist_${1/./p}ms${4:-}" --out $OUT/searches/dmasking_${1}ms${4:-} $COMMON
}

lane_a() { dmasking 0.05; dmasking 0.1; }
lane_b() { mobilezoo search supernet --config $SPACE --epochs 20 --out $OUT/searches/supernet_uniform $COMMON; dmasking 0.075; }

mkdir -p $OUT/searches
if [ "${1:-}" = round2 ]; then
  dmasking 0.1 45 0.07 _45ep > $OUT/searches/round2.log 2>&1
  exit
fi
lane_a > $OUT/searches/lane_a.log 2>&1 &
A=$!
lane_b > $OUT/searches/lane_b.log 2>&1 &
B=$!
wait $A $B
