#!/usr/bin/env bash
# Training-step speed and peak memory of netc against the chapter's PyTorch model, in one run.
# Usage: scripts/bench.sh [resnet18|resnext] [PYTHON with torch]   (release build of netc first: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-resnet18}
python=${2:-/opt/peervenv/bin/python}
peers=${PEERS:-../shared/peers}
netc_out=$( { /usr/bin/time -f "%M" .build/release/netc bench "$arch" --batch 128 --steps 5 2>/tmp/netc-bench-rss; } )
netc_rss=$(tail -1 /tmp/netc-bench-rss)
torch_out=$( { /usr/bin/time -f "%M" "$python" "$peers/d2l_resnet.py" train-bench --arch "$arch" --batch 128 --steps 5 2>/tmp/torch-bench-rss; } )
torch_rss=$(tail -1 /tmp/torch-bench-rss)
echo "netc:    $netc_out (max RSS $((netc_rss / 1024)) MiB)"
echo "pytorch: $torch_out (max RSS $((torch_rss / 1024)) MiB)"
"$python" - "$netc_out" "$torch_out" "$netc_rss" "$torch_rss" <<'PY'
import json, sys
n, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"speed ratio netc/pytorch: {n['train_img_per_s'] / t['train_img_per_s']:.2f}x; "
      f"memory ratio: {int(sys.argv[3]) / int(sys.argv[4]):.2f}x")
PY
