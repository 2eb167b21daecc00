#!/usr/bin/env bash
# Fails when src/ holds a pair of repeated code runs that .ci/duplicates-baseline does not list.
#
# `duplicates` (the workplace's duplicate finder) lists pairs of places sharing six or more
# lines. Line numbers move with every edit, so a pair is keyed by its two files and its kind
# (identical, or same shape), and counted: a key may appear at most as often as the baseline
# says. To accept a pair on purpose, regenerate the baseline with `--update` and say why in the
# commit. Where the tool is not installed, the check is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=.ci/duplicates-baseline

if ! command -v duplicates >/dev/null 2>&1; then
    echo "duplicates: the tool is not installed on this machine; check skipped"
    exit 0
fi

out=$(duplicates --repo src --most 200 --seconds 120)
if grep -q '^incomplete:' <<<"$out"; then
    echo "duplicates: the scan did not finish; check skipped"
    grep '^incomplete:' <<<"$out"
    exit 0
fi
current=$(grep -E '^D[0-9]+ ' <<<"$out" \
    | sed -E 's/^D[0-9]+ //; s/:[0-9]+-[0-9]+//g; s/ \(\+[0-9]+ more runs?\)//; s/ +$//' \
    | sort | uniq -c | sed -E 's/^ +//')

if [ "${1:-}" = "--update" ]; then
    printf '%s\n' "$current" >"$baseline"
    echo "duplicates: baseline written ($(wc -l <"$baseline") keys)"
    exit 0
fi

status=0
while read -r count key; do
    [ -n "$key" ] || continue
    allowed=$(awk -v k="$key" '{c=$1; $1=""; sub(/^ /, ""); if ($0 == k) print c}' "$baseline")
    if [ -z "$allowed" ] || [ "$count" -gt "$allowed" ]; then
        echo "duplicates: new repeated code in src/: $key ($count, baseline ${allowed:-0})"
        status=1
    fi
done <<<"$current"
if [ "$status" -ne 0 ]; then
    echo "Rows of the full report (line numbers included):"
    grep -E '^D[0-9]+ ' <<<"$out"
    echo "Factor the repeated code out, or accept it with .ci/duplicates.sh --update (say why)."
else
    echo "duplicates: no new repeated code in src/"
fi
exit "$status"
