#!/usr/bin/env bash
# netc against PyTorch and ONNX Runtime on the chapter's workloads, in one table. Each row runs
# netc and its peer alternately ROUNDS times (so both see the same machine load) and gives the
# range over rounds of each and of their ratio (netc/peer: above 1 is netc faster; for latency
# and memory, below 1 is netc better).
# Usage: scripts/bench.sh [ROUNDS] [PYTHON with torch, torchvision, onnx, onnxruntime]
#   (release build of netc first: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${2:-/opt/peervenv/bin/python}
peers=${PEERS:-../shared/peers}
netc=${NETC:-.build/release/netc}
log=$(mktemp /tmp/netc-bench-XXXXXX.jsonl)

# ONNX Runtime on torchvision's ResNet-50 (the peers' script builds only the chapter's models).
resnet50_ort() {
  "$python" - "$1" <<'PY'
import io, json, sys, time
import numpy as np, torch, torchvision, onnxruntime as ort
batch = int(sys.argv[1])
net = torchvision.models.resnet50().eval()
buf = io.BytesIO()
torch.onnx.export(net, torch.randn(1, 3, 224, 224), buf, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "n"}}, dynamo=False)
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
s = ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
x = np.random.randn(batch, 3, 224, 224).astype(np.float32)
s.run(None, {"x": x})
t = time.perf_counter(); n = 3
for _ in range(n): s.run(None, {"x": x})
dt = (time.perf_counter() - t) / n
print(json.dumps({"infer_img_per_s": batch / dt}))
PY
}

# row NAME METRIC NETC-COMMAND PEER-NAME PEER-COMMAND: METRIC is a JSON key both print.
row() {
  local name=$1 metric=$2 netc_cmd=$3 peer=$4 peer_cmd=$5
  for r in $(seq "$rounds"); do
    n=$(eval "$netc_cmd" 2>/dev/null | tail -1)
    p=$(eval "$peer_cmd" 2>/dev/null | tail -1)
    echo "{\"row\": \"$name\", \"metric\": \"$metric\", \"peer\": \"$peer\", \"netc\": $n, \"other\": $p}" >> "$log"
  done
}

# Peak RSS of a command, as {"rss_kib": N}.
rss() { /usr/bin/time -f '{"rss_kib": %M}' "$@" 2>&1 >/dev/null | tail -1; }

B="$netc bench"
D="$python $peers/d2l_resnet.py"
row "ResNet-18 96x96 train b128"   train_img_per_s "$B resnet18 --steps 3"                      PyTorch "$D train-bench --arch resnet18 --steps 3"
row "ResNet-18 28x28 train b128"   train_img_per_s "$B resnet18 --size 28 --steps 5"            PyTorch "$D train-bench --arch resnet18 --size 28 --steps 5"
row "ResNeXt 96x96 train b128"     train_img_per_s "$B resnext --steps 3"                       PyTorch "$D train-bench --arch resnext --steps 3"
row "ResNet-18 96x96 infer b128"   infer_img_per_s "$B resnet18 --infer --steps 3"              "ONNX Runtime" "$python $peers/ort_bench.py resnet18 128 96"
row "ResNeXt 96x96 infer b128"     infer_img_per_s "$B resnext --infer --steps 3"               "ONNX Runtime" "$python $peers/ort_bench.py resnext 128 96"
row "ResNet-18 96x96 latency b1"   latency_ms      "$B resnet18 --infer --batch 1 --steps 20"   "ONNX Runtime" "$python $peers/ort_bench.py resnet18 1 96"
row "ResNet-50 224x224 infer b16"  infer_img_per_s "$B imagenet/resnet50 --infer --batch 16 --steps 3" "ONNX Runtime" "resnet50_ort 16"
row "ResNet-18 96x96 train peak RSS" rss_kib "rss $B resnet18 --steps 2"                        PyTorch "rss $D train-bench --arch resnet18 --steps 2"

"$python" - "$log" "$rounds" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    scale = 1 / 1024 if r["metric"] == "rss_kib" else 1
    rows.setdefault((r["row"], r["metric"], r["peer"]), []).append((r["netc"][r["metric"]] * scale, r["other"][r["metric"]] * scale))
def span(v, f="{:.1f}"): return f.format(min(v)) if len(v) == 1 else f"{f.format(min(v))}-{f.format(max(v))}"
units = {"train_img_per_s": "img/s", "infer_img_per_s": "img/s", "latency_ms": "ms", "rss_kib": "MiB"}
print(f"| workload | netc | peer | ratio netc/peer (rounds: {sys.argv[2]}) |")
print("|---|---|---|---|")
for (name, metric, peer), runs in rows.items():
    u = units[metric]
    netc, other = [a for a, _ in runs], [b for _, b in runs]
    print(f"| {name} | {span(netc)} {u} | {peer} {span(other)} {u} | {span([a / b for a, b in runs], '{:.2f}')}x |")
PY
echo "raw runs: $log"
