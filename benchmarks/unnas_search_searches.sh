#!/usr/bin/env bash
# The searches of the unnas_search study (issue 30): DARTS with labels and with each UnNAS pretext task, 2 seeds each,
# in two lanes of one core. Every command resumes (--resume) where a killed run stopped, so rerunning this script
# (or one lane: `bash benchmarks/unnas_search_searches.sh lane_a`) finishes what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=benchmarks/results/unnas_search/searches
COMMON="--input-size 16 --channels 8 --layers 5 --epochs 10 --arch-epochs 1 --limit-train 1000 --threads 1 --resume"

search() {  # task seed
  local dataset=fashion_mnist short
  [ "$1" = colorization ] && dataset=colour_crops
  case "$1" in classification) short=cls ;; rotation) short=rot ;; jigsaw) short=jig ;; colorization) short=col ;; esac
  mobilezoo search darts --task "$1" --dataset $dataset --seed "$2" --name "unnas_fmnist_${short}_s$2" \
      --out $OUT/${short}_s$2 $COMMON
}

lane_a() { search rotation 0; search classification 0; search colorization 1; search jigsaw 1; }
lane_b() { search jigsaw 0; search colorization 0; search classification 1; search rotation 1; }

mkdir -p $OUT
case "${1:-both}" in
  lane_a) lane_a > $OUT/lane_a.log 2>&1 ;;
  lane_b) lane_b > $OUT/lane_b.log 2>&1 ;;
  *) lane_a > $OUT/lane_a.log 2>&1 & A=$!; lane_b > $OUT/lane_b.log 2>&1 & B=$!; wait $A $B ;;
esac
