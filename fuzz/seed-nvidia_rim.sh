#!/bin/sh
# Seed the nvidia_rim fuzzer with the sample RIMs of $VERITEE_VECTORS (copied to DIR at run time).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/nvidia_hopper/rim/*.swidtag; do
  [ -f "$f" ] || continue
  i=$((i + 1)); cp "$f" "$dir/nvidia_rim_$i"
done
