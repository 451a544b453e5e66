#!/usr/bin/env bash
# Installs what pixsyn needs to build and test on Debian 12 (run as root), and the packages named as
# arguments. Skips apt when all is present.
set -euo pipefail
# dataset-fashion-mnist: training data (/usr/share/datasets/fashion-mnist) for the training tests.
packages=(cmake ninja-build g++ libeigen3-dev doctest-dev libstb-dev libjpeg-dev nlohmann-json3-dev libcli11-dev
  dataset-fashion-mnist zlib1g-dev "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
