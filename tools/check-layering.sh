#!/usr/bin/env bash
# DESIGN.md §2: a folder may include only the folders above it. Fails on any forbidden include.
set -uo pipefail
cd "$(dirname "$0")/.."
order=(core backend ops autograd dist nn coords models render metrics train)
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
bad=0
while IFS= read -r file; do
  folder=$(echo "$file" | cut -d/ -f3)
  [ -n "${rank[$folder]+x}" ] || continue
  while IFS= read -r inc; do
    target=$(echo "$inc" | sed -E 's|.*"pixsyn/([a-z_]+)/.*|\1|')
    [ "$target" = "$inc" ] && continue
    if [ "$target" = io ]; then
      # io sits beside the stack: anything from nn up may use it; io itself includes core only.
      [ "${rank[$folder]}" -ge "${rank[nn]}" ] || { echo "$file: $folder may not include io"; bad=1; }
      continue
    fi
    [ -n "${rank[$target]+x}" ] || continue
    if [ "${rank[$target]}" -gt "${rank[$folder]}" ]; then
      echo "$file: $folder may not include $target"
      bad=1
    fi
  done < <(grep -h '#include "pixsyn/' "$file")
done < <(find include/pixsyn -name '*.hpp')
# io works on tensors only; the Eigen and CUDA backends never include each other.
grep -l '#include "pixsyn/\(autograd\|nn\|models\|ops\)/' include/pixsyn/io/*.hpp 2>/dev/null && bad=1
grep -l '#include.*backend/cuda' include/pixsyn/backend/eigen/*.hpp 2>/dev/null && bad=1
grep -l '#include.*backend/eigen' include/pixsyn/backend/cuda/* 2>/dev/null && bad=1
grep -ln '#include.*\(Eigen/\|cuda_runtime\)' include/pixsyn/core/*.hpp 2>/dev/null && bad=1
[ "$bad" -eq 0 ] && echo "layering ok"
exit $bad
