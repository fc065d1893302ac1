#!/usr/bin/env bash
# Replays the hostile-input corpus of Tests/Hostile against a netc binary: every case must end
# with its expected exit status (1 for an error, never a signal) and say what is wrong.
# Not part of `make test` (it trains for a second and sends signals).
#   scripts/hostile_cli.sh [path/to/netc]      (default: .build/release/netc)
set -u
cd "$(dirname "$0")/.."
NETC=$(realpath "${1:-.build/release/netc}")
H=Tests/Hostile
T=$(mktemp -d /tmp/netc-hostile.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkfifo "$T/fifo"
pass=0 fail=0
# expect STATUS NAME COMMAND...: runs COMMAND (10 s at most), compares its exit status.
expect() {
    local want=$1 name=$2; shift 2
    timeout 10 "$@" >"$T/out" 2>"$T/err" </dev/null
    local got=$?
    if [ "$got" = "$want" ]; then pass=$((pass + 1)); s=ok; else fail=$((fail + 1)); s="FAIL (exit $got, expected $want)"; fi
    printf '%-4s %-34s %s\n' "$s" "$name" "$(grep -m1 -E 'error|warning' "$T/err" | cut -c1-110)"
}
W="--weights $H/data/linear_stack.safetensors"
LS=$H/odd/linear_stack.yaml
M=9223372036854775807
expect 1 "bn eps/momentum on a layer"      "$NETC" check $H/specs/bn_layer_range.yaml
expect 0 "stride no layer reads (warning)" "$NETC" check $H/specs/stride_unused.yaml
expect 1 "spec path is a FIFO"             "$NETC" check "$T/fifo"
expect 1 "spec path is a device"           "$NETC" check /dev/zero
expect 1 "--output is a FIFO"              "$NETC" run $LS $W --input $H/data/x.npy --output "$T/fifo"
[ -p "$T/fifo" ] || { echo "FAIL the FIFO was replaced"; fail=$((fail + 1)); }
expect 1 "--output is a directory"         "$NETC" run $LS $W --input $H/data/x.npy --output "$T"
expect 1 "--output ''"                     "$NETC" run $LS $W --input $H/data/x.npy --output ""
expect 1 "--input is a FIFO"               "$NETC" run $LS $W --input "$T/fifo" --output "$T/y.npy"
expect 1 "--weights is a FIFO"             "$NETC" run $LS --weights "$T/fifo" --input $H/data/x.npy --output "$T/y.npy"
expect 1 "input holds NaN"                 "$NETC" run $LS $W --input $H/data/x_nan.npy --output "$T/y.npy"
expect 1 "weights hold NaN"                "$NETC" run $LS --weights $H/data/linear_stack_nan.safetensors --input $H/data/x.npy --output "$T/y.npy"
expect 1 "8x8 images, 5x5 flatten weights" "$NETC" run $LS $W --input $H/data/x_8x8.npy --output "$T/y.npy"
expect 0 "the good run"                    "$NETC" run $LS $W --input $H/data/x.npy --output "$T/y.npy"
expect 1 "train --out ''"                  "$NETC" train $H/odd/never_project.yaml --out ""
expect 1 "train --data ''"                 "$NETC" train $H/odd/never_project.yaml --data ""
expect 1 "train --resume ''"               "$NETC" train --resume ""
expect 1 "train --epochs Int.max"          "$NETC" train --epochs $M
expect 1 "train --warmup-epochs Int.max"   "$NETC" train --warmup-epochs $M
expect 1 "train --resize Int.max"          "$NETC" train --resize $M
expect 1 "eval --resize Int.max"           "$NETC" eval $LS $W --resize $M
expect 1 "bench --size Int.max"            "$NETC" bench --size $M
expect 1 "summary --depth -1"              "$NETC" summary --depth -1
expect 1 "IDX images of 0x0"               "$NETC" train $H/odd/never_project.yaml --data $H/data/idx_empty_images --out "$T/run0"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    "$NETC" train $H/odd/never_project.yaml --limit 20000 --epochs 30 --resize 28 --batch 32 --out "$T/run" >/dev/null 2>&1 &
    pid=$!; sleep 2; kill -TERM $pid; wait $pid; got=$?
    if [ $got = 143 ] && [ -f "$T/run/checkpoint.safetensors" ]; then pass=$((pass + 1)); s=ok; else fail=$((fail + 1)); s="FAIL (exit $got)"; fi
    printf '%-4s %-34s %s\n' "$s" "SIGTERM while training" "exit 143, checkpoint kept"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
