#!/usr/bin/env bash
# tools/data/landscapes.sh OUT_DIR: a folder of landscape photographs for training (pixsyn train --data
# OUT_DIR), from three Debian wallpaper packages (installed with apt when missing; that needs root).
#
# Only photographs of landscapes are taken: the packages' vector art, abstract renderings, macro shots
# (flowers, leaves, insects) and indoor scenes are left out, by the list below (chosen by looking at
# every wallpaper of the packages' Debian 12 versions). A photo that a package ships at several
# resolutions (Plasma's contents/images/<W>x<H>.*) is taken once, at its largest. OUT_DIR also gets
# SOURCES.tsv: file, package, original path, author, license (from /usr/share/doc/<package>/copyright
# and Plasma's metadata.json). Files are copied atomically (temporary name, then rename), and a file
# already in place with the same bytes is left alone, so running it again changes nothing.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1

packages=(lomiri-wallpapers-16.04 plasma-workspace-wallpapers mate-backgrounds)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: the packages ${missing[*]} are not installed; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# name in OUT_DIR | package | source (a file, or a Plasma wallpaper folder: its largest image) | author | license
photos=(
  "lomiri-bridge|lomiri-wallpapers-16.04|/usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg|Sander Klootwijk|CC-BY-SA-4.0"
  "lomiri-aitzgorri|lomiri-wallpapers-16.04|/usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0"
  "lomiri-life|lomiri-wallpapers-16.04|/usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0"
  "lomiri-picosdeeuropa|lomiri-wallpapers-16.04|/usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0"
  "lomiri-seeding|lomiri-wallpapers-16.04|/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg|Clemens Engelhardt|CC0-1.0"
  "lomiri-sunset|lomiri-wallpapers-16.04|/usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg|Aitzol Berasategi|CC-BY-4.0"
  "mate-dune|mate-backgrounds|/usr/share/backgrounds/mate/nature/Dune.jpg|Marco Cogoni, Hylke Bons|GPL-2+"
  "mate-storm|mate-backgrounds|/usr/share/backgrounds/mate/nature/Storm.jpg|Sergey Nazarov|GPL-2+"
  "plasma-bythewater|plasma-workspace-wallpapers|/usr/share/wallpapers/BytheWater|Maciej Wiklo|LGPL-3"
  "plasma-coldripple|plasma-workspace-wallpapers|/usr/share/wallpapers/ColdRipple|Risto Saukonpää|LGPL-3"
  "plasma-darkesthour|plasma-workspace-wallpapers|/usr/share/wallpapers/DarkestHour|Risto Saukonpää|LGPL-3"
  "plasma-eveningglow|plasma-workspace-wallpapers|/usr/share/wallpapers/EveningGlow|Ian Hex|LGPL-3"
  "plasma-path|plasma-workspace-wallpapers|/usr/share/wallpapers/Path|Risto Saukonpää|LGPL-3"
  "plasma-summer1am|plasma-workspace-wallpapers|/usr/share/wallpapers/summer_1am|Risto Saukonpää|LGPL-3"
)

# The largest of a Plasma wallpaper's contents/images/<W>x<H>.<ext> (by pixels; not images_dark/).
largest_image() {
  local best="" best_pixels=0 file name w h
  for file in "$1"/contents/images/*; do
    name=$(basename "$file")
    [[ $name =~ ^([0-9]+)x([0-9]+)\.(jpg|jpeg|png)$ ]] || continue
    w=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]}
    if [ $((w * h)) -gt "$best_pixels" ]; then
      best=$file best_pixels=$((w * h))
    fi
  done
  [ -n "$best" ] || { echo "error: no <W>x<H> image in $1/contents/images" >&2; exit 1; }
  echo "$best"
}

mkdir -p "$out"
trap 'rm -f "$out"/*.tmp.$$' EXIT  # an interrupted copy leaves nothing half-written
sources="name	package	source	author	license"$'\n'
copied=0 kept=0
for entry in "${photos[@]}"; do
  IFS='|' read -r name package source author license <<<"$entry"
  [ -d "$source" ] && source=$(largest_image "$source")
  [ -f "$source" ] || { echo "error: $source (package $package) is missing" >&2; exit 1; }
  ext=${source##*.}
  target="$out/$name.${ext,,}"
  if [ -f "$target" ] && cmp -s "$source" "$target"; then
    kept=$((kept + 1))
  else
    cp "$source" "$target.tmp.$$"
    mv -f "$target.tmp.$$" "$target"
    copied=$((copied + 1))
  fi
  sources+="$name.${ext,,}	$package	$source	$author	$license"$'\n'
done
printf '%s' "$sources" >"$out/SOURCES.tsv.tmp.$$"
mv -f "$out/SOURCES.tsv.tmp.$$" "$out/SOURCES.tsv"
echo "$out: ${#photos[@]} landscape photos ($copied copied, $kept already there); sources and licenses in SOURCES.tsv"
