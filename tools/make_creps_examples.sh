#!/usr/bin/env bash
# Renders the CREPS pictures of docs/creps.md ("Examples") with the pixsyn program on the CPU: an any-scale
# zoom sequence, a rotation and a non-square banner of one latent. No trained CREPS weights are available,
# so the model is a seeded random initialisation of the official architecture (creps at size 64); its
# output is nearly flat, so tools/npy_strip.py stretches each picture's contrast (docs/creps.md says how).
# About 4 minutes of CPU (most of it the rotated views).
#
# usage: tools/make_creps_examples.sh [PIXSYN] [OUT_DIR]   (defaults: build/tools/pixsyn, docs/images)
set -euo pipefail
cd "$(dirname "$0")/.."
pixsyn=${1:-build/tools/pixsyn}
out=${2:-docs/images}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render() { "$pixsyn" render --model creps --size 64 --init-seed 1 --seed 3 --quiet "$@"; }

# Any scale: 32, 64 and 128 row and column points over the same [0, 1] span, then zoom 2, 4 and 8 about
# the centre with 64 points (the last samples the span 512 times: 8 times the training density).
for n in 32 64 128; do render --height "$n" --width "$n" --npy "$work/scale_$n.npy"; done
for z in 2 4 8; do render --height 64 --width 64 --zoom "$z" --npy "$work/zoom_$z.npy"; done
python3 tools/npy_strip.py "$out/creps_zoom.png" "$work"/scale_{32,64,128}.npy "$work"/zoom_{2,4,8}.npy

# A rotation: 0, 15, 30 and 45 degrees about the centre, zoomed 3 times (a rotated view is a point set, one
# point a pixel: the slow part); shown enlarged twice.
for deg in 0 15 30 45; do render --height 48 --width 48 --zoom 3 --rotate "$deg" --npy "$work/rotate_$deg.npy"; done
python3 tools/npy_strip.py --scale 2 "$out/creps_rotate.png" "$work"/rotate_{0,15,30,45}.npy

# A banner three training images wide, zoomed 2 times: six 64 x 64 views with the camera moved right by
# 0, 0.5, ..., 2.5 images, side by side (a shift moves only the column vector, so the columns continue
# across the seams; each seam repeats one column, as the view's linspace holds both ends).
for dx in 0 0.5 1 1.5 2 2.5; do render --height 64 --width 64 --zoom 2 --shift-x "$dx" --npy "$work/banner_$dx.npy"; done
python3 tools/npy_strip.py --gap 0 "$out/creps_banner.png" "$work"/banner_{0,0.5,1,1.5,2,2.5}.npy
echo "wrote $out/creps_zoom.png, $out/creps_rotate.png and $out/creps_banner.png"
