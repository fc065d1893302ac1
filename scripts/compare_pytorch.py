"""Compare netc with the d2l chapter's PyTorch models, number for number.

1. Same weights and input: `netc run` logits vs PyTorch's (eval mode, non-trivial running stats).
2. One SGD step from the same weights and batch: `netc step` updated weights and BN statistics
   vs torch.optim.SGD's; also both against PyTorch in float64, to show float32's own error.
Relative error is max |a - b| / max |b| per tensor. Batch-norm shifts start non-zero, as in a
trained network: a shift that starts at 0 is all update, and its gradient is a sum that nearly
cancels, which float32 gets only to a few percent in any implementation (PyTorch's included).

Needs torch (not part of `make test`):  python3 -m venv /opt/peervenv && /opt/peervenv/bin/pip install torch
Usage: /opt/peervenv/bin/python scripts/compare_pytorch.py [--arch resnet18|resnext] [--netc .build/release/netc]
"""
import argparse, json, os, struct, subprocess, sys, tempfile
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


# The chapter's models (d2l 8.6), as in shared/peers/d2l_resnet.py.
class Residual(nn.Module):
    def __init__(self, cin, cout, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv3 = nn.Conv2d(cin, cout, 1, stride=strides) if use_1x1conv else None
        self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)


class ResNeXtBlock(nn.Module):
    def __init__(self, cin, cout, groups, bot_mul, use_1x1conv=False, strides=1):
        super().__init__()
        b = int(round(cout * bot_mul))
        self.conv1 = nn.Conv2d(cin, b, 1)
        self.conv2 = nn.Conv2d(b, b, 3, stride=strides, padding=1, groups=b // groups)
        self.conv3 = nn.Conv2d(b, cout, 1)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(b), nn.BatchNorm2d(b), nn.BatchNorm2d(cout)
        self.conv4 = nn.Conv2d(cin, cout, 1, stride=strides) if use_1x1conv else None
        self.bn4 = nn.BatchNorm2d(cout) if use_1x1conv else None

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        Y = self.bn3(self.conv3(Y))
        if self.conv4 is not None:
            X = self.bn4(self.conv4(X))
        return F.relu(Y + X)


def model(arch):
    layers = [nn.Sequential(nn.Conv2d(1, 64, 7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                            nn.MaxPool2d(3, stride=2, padding=1))]
    cin = 64
    for i, c in enumerate((64, 128, 256, 512)):
        blocks = []
        for j in range(2):
            down = j == 0 and i != 0
            if arch == "resnet18":
                blocks.append(Residual(cin, c, use_1x1conv=down, strides=2 if down else 1))
            else:
                blocks.append(ResNeXtBlock(cin, c, 16, 1, use_1x1conv=down or cin != c, strides=2 if down else 1))
            cin = c
        layers.append(nn.Sequential(*blocks))
    layers.append(nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(cin, 10)))
    return nn.Sequential(*layers)


def netc_name(torch_name):
    """d2l's Sequential indices to netc's hierarchical names (block layer names are the same)."""
    for prefix, name in (("0.0.", "stem.conv1."), ("0.1.", "stem.bn1."), ("5.2.", "head.fc1.")):
        if torch_name.startswith(prefix):
            return name + torch_name[len(prefix):]
    stage, block, rest = torch_name.split(".", 2)
    return f"stages.{int(stage) - 1}.{block}.{rest}"


DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dtype).reshape(info["shape"])
    return out


def state(net):
    return {netc_name(k): v.detach().numpy().copy() for k, v in net.state_dict().items()}


def relative(a, b):
    """max |a - b| / max |b|: the error relative to the tensor's scale."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnext"])
    p.add_argument("--netc", default=".build/release/netc")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.01)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    spec = open(f"architectures/{a.arch}.yaml").read()
    net = model(a.arch)
    # Batch-norm scales and shifts as a trained network has them, not the 1 and 0 of a fresh one:
    # a shift that starts at 0 is all update, and its gradient is a sum that nearly cancels.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    # A few training forwards give the batch norms non-trivial running statistics.
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 1, 96, 96) * 2 + 0.5)
    tmp = tempfile.mkdtemp(prefix="netc-compare-")
    weights = os.path.join(tmp, "weights.safetensors")
    write_safetensors(weights, state(net), {"spec": spec})
    x = torch.randn(a.batch, 1, 96, 96)
    y = torch.randint(0, 10, (a.batch,))
    np.save(os.path.join(tmp, "x.npy"), x.numpy())
    np.save(os.path.join(tmp, "y.npy"), y.numpy().astype(np.float32))

    # 1. Logits in eval mode.
    net.eval()
    with torch.no_grad():
        reference = net(x).numpy()
    subprocess.run([a.netc, "run", a.arch, "--weights", weights, "--input", os.path.join(tmp, "x.npy"),
                    "--output", os.path.join(tmp, "logits.npy")], check=True)
    logits_error = relative(np.load(os.path.join(tmp, "logits.npy")), reference)

    # 2. One SGD step in training mode, in float32 as netc computes it and in float64 as ground truth.
    def step(net, dtype):
        net = net.to(dtype).train()
        opt = torch.optim.SGD(net.parameters(), lr=a.lr)
        opt.zero_grad()
        loss = F.cross_entropy(net(x.to(dtype)), y)
        loss.backward()
        opt.step()
        return loss, state(net)
    import copy
    _, exact = step(copy.deepcopy(net), torch.float64)
    loss, expected = step(net, torch.float32)
    out = subprocess.run([a.netc, "step", a.arch, "--weights", weights, "--input", os.path.join(tmp, "x.npy"),
                          "--labels", os.path.join(tmp, "y.npy"), "--lr", str(a.lr),
                          "--output", os.path.join(tmp, "stepped.safetensors")], check=True, capture_output=True, text=True)
    got = read_safetensors(os.path.join(tmp, "stepped.safetensors"))
    errors = {k: relative(got[k].astype(np.float64), v.astype(np.float64))
              for k, v in expected.items() if not k.endswith("num_batches_tracked")}
    worst = max(errors, key=errors.get)
    # How far PyTorch's own float32 step is from the float64 one: the noise floor of float32.
    torch_errors = {k: relative(expected[k].astype(np.float64), exact[k]) for k in errors}
    netc_errors = {k: relative(got[k].astype(np.float64), exact[k]) for k in errors}
    if os.environ.get("NETC_COMPARE_VERBOSE"):
        for k in sorted(errors, key=errors.get)[-40:]:
            print(f"netc-vs-torch {errors[k]:.3e}  torch32-vs-64 {torch_errors[k]:.3e}  netc-vs-64 {netc_errors[k]:.3e}  {k}")
    result = {"arch": a.arch, "batch": a.batch, "logits_max_relative_error": logits_error,
              "torch_loss": float(loss.detach()), "netc_loss": float(out.stdout.split()[-1]),
              "step_max_relative_error": errors[worst], "step_worst_tensor": worst, "tensors_compared": len(errors),
              "float64_reference": {"torch_float32_max_relative_error": max(torch_errors.values()),
                                    "netc_max_relative_error": max(netc_errors.values())}}
    print(json.dumps(result, indent=2))
    # The float64 figures say how far float32 itself is from exact, for netc and PyTorch alike.
    ok = logits_error <= 1e-4 and errors[worst] <= 1e-4
    print("PASS" if ok else "FAIL", "(tolerance 1e-4 relative: logits and updated weights vs PyTorch)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
