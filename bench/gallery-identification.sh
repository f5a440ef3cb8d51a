#!/usr/bin/env bash
# Top-1 identification on the demo's held-out people: the first 5 photos of each person form the
# gallery, the other 5 are probes. Usage: bench/gallery-identification.sh bin/sphereface.js MODEL HELD_OUT_DIR WORK_DIR
set -euo pipefail
bin=$1; model=$2; lfw=$3; work=$4
if [ -e "$work" ]; then echo "$work exists: give a new folder" >&2; exit 2; fi
mkdir -p "$work/gallery"; : > "$work/probes.txt"
for person in "$lfw"/*/; do
  name=$(basename "$person")
  mkdir -p "$work/gallery/$name"
  i=0
  for f in $(ls "$person" | sort); do
    if [ $i -lt 5 ]; then cp -l "$person/$f" "$work/gallery/$name/$f"; else echo "$person$f" >> "$work/probes.txt"; fi
    i=$((i+1))
  done
done
node "$bin" gallery build --model "$model" --root "$work/gallery" --gallery "$work/g.sfg" --json > "$work/build.json"
node "$bin" gallery search --model "$model" --gallery "$work/g.sfg" --top 1 --json $(cat "$work/probes.txt") > "$work/search.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").at(-1)).results;
const path = require("path");
const right = r.filter((x) => x.matches[0].name === path.basename(path.dirname(x.probe))).length;
console.log(`top-1: ${right} of ${r.length} probes (${(100 * right / r.length).toFixed(1)} %)`);
' "$work/search.json"
