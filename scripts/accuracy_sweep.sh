#!/usr/bin/env bash
# Test accuracy after training, over seeds, for netc and the chapter's PyTorch peer, alternating the
# two so that both see the same machine load. Prints one line per run and the median and range of each.
# Usage: [NETC=path] scripts/accuracy_sweep.sh [SIZE] [SEEDS] [EPOCHS] [PYTHON with torch]
#   e.g. scripts/accuracy_sweep.sh 28 "0 1 2 3 4"     (release build of netc first: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-28}
seeds=${2:-0 1 2 3 4}
epochs=${3:-1}
python=${4:-/opt/peervenv/bin/python}
peers=${PEERS:-../shared/peers}
netc=${NETC:-.build/release/netc}
out=$(mktemp -d /tmp/netc-sweep-XXXXXX)
trap 'echo "run directories and logs: $out"' EXIT
for seed in $seeds; do
  "$netc" train architectures/resnet18.yaml --resize "$size" --epochs "$epochs" --lr 0.01 --batch 128 \
    --seed "$seed" --out "$out/netc-$seed" > "$out/netc-$seed.log" 2>&1
  netc_row=$(grep '"kind":"epoch"' "$out/netc-$seed/metrics.jsonl" | tail -1)
  echo "netc    seed $seed: $netc_row"
  torch=$("$python" "$peers/fmnist_train.py" --arch resnet18 --size "$size" --epochs "$epochs" --lr 0.01 --batch 128 --seed "$seed" | tail -1)
  echo "pytorch seed $seed: $torch"
  echo "$netc_row" >> "$out/netc.jsonl"
  echo "$torch" >> "$out/torch.jsonl"
done
"$python" - "$out" <<'PY'
import json, statistics, sys
for who in ("netc", "torch"):
    rows = [json.loads(l) for l in open(f"{sys.argv[1]}/{who}.jsonl")]
    acc, loss = [r["test_acc"] for r in rows], [r["train_loss"] for r in rows]
    print(f"{who:7s} test accuracy median {statistics.median(acc):.4f} (range {min(acc):.4f}-{max(acc):.4f}), "
          f"train loss median {statistics.median(loss):.4f} (range {min(loss):.4f}-{max(loss):.4f}), n={len(rows)}")
PY
