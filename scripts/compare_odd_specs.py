"""Odd-but-valid specs (Tests/Hostile/odd/*.yaml) against hand-written PyTorch twins.

Each spec in Tests/Hostile/odd has a twin below, written from the spec's text (never from netc's
graph). Weights are random, batch-norm scales, shifts and running statistics randomised; netc's
`run` logits (eval mode) and `step` (one SGD step, training mode) are compared with PyTorch's.
Needs torch (not part of `make test`):
  /opt/peervenv/bin/python scripts/compare_odd_specs.py [NAME ...] [--netc .build/release/netc]
"""
import argparse, copy, json, os, subprocess, sys, tempfile
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(__file__))
from compare_pytorch import write_safetensors, read_safetensors, relative  # noqa: E402

ODD = os.path.join(os.path.dirname(__file__), "..", "Tests", "Hostile", "odd")


class Twin(nn.Module):
    """Modules under netc's names ('stem.conv1'), a forward written by hand."""
    def __init__(self, shape, mods, fwd):
        super().__init__()
        self.shape = shape
        self.m = nn.ModuleDict({k.replace(".", "__"): v for k, v in mods.items()})
        self.fwd = fwd

    def __getitem__(self, name):
        return self.m[name.replace(".", "__")]

    def forward(self, x):
        return self.fwd(self, x)

    def netc_state(self):
        return {k[2:].replace("__", "."): v.detach().numpy().copy() for k, v in self.state_dict().items()}


C, B, L = nn.Conv2d, nn.BatchNorm2d, nn.Linear
relu = F.relu
TWINS = {}


def twin(name):
    def register(f):
        TWINS[name] = f
        return f
    return register


@twin("identity_from_mid")   # identity path taps bn1 inside the body; no stem
def _():
    mods = {"stages.0.0.conv1": C(3, 4, 3, padding=1), "stages.0.0.bn1": B(4), "stages.0.0.conv2": C(4, 4, 3, padding=1),
            "stages.0.0.bn2": B(4), "head.fc1": L(4 * 6 * 6, 5)}
    def f(t, x):
        a = t["stages.0.0.bn1"](t["stages.0.0.conv1"](x))
        y = t["stages.0.0.bn2"](t["stages.0.0.conv2"](relu(a)))
        y = relu(y + a)
        return t["head.fc1"](y.flatten(1))
    return Twin((3, 6, 6), mods, f)


@twin("always_project_from_relu")   # when: always, projection_from: relu1, after: [relu, batchnorm]
def _():
    p = "stages.0.0."
    mods = {p + "bn1": B(2), p + "conv1": C(2, 6, 3, stride=2, padding=1, bias=False), p + "bn2": B(6),
            p + "conv2": C(6, 6, 3, padding=1, bias=False), p + "conv3": C(2, 6, 1, stride=2, bias=False), p + "bn3": B(6),
            "head.fc1": L(6, 3)}
    def f(t, x):
        r = relu(t[p + "bn1"](x))
        y = t[p + "conv2"](relu(t[p + "bn2"](t[p + "conv1"](r))))
        s = t[p + "conv3"](r)
        y = t[p + "bn3"](relu(y + s))
        return t["head.fc1"](y.mean((2, 3)))
    return Twin((2, 7, 7), mods, f)


@twin("never_project")   # when: never, two blocks, the stage stride on the first only is 1
def _():
    mods = {}
    for j in range(3):
        p = f"stages.0.{j}."
        mods.update({p + "conv1": C(4, 4, 3, padding=1), p + "bn1": B(4)})
    mods["stem.conv1"] = C(1, 4, 1)
    mods["head.fc1"] = L(4, 10)
    def f(t, x):
        x = t["stem.conv1"](x)
        for j in range(3):
            p = f"stages.0.{j}."
            x = x + t[p + "bn1"](t[p + "conv1"](x))
        return t["head.fc1"](x.mean((2, 3)))
    return Twin((1, 5, 5), mods, f)


@twin("nested_blocks")   # a block using the bundled residual as a layer, then its own conv
def _():
    mods = {}
    def res(p, cin, cout, s):
        mods.update({p + "conv1": C(cin, cout, 3, stride=s, padding=1), p + "bn1": B(cout),
                     p + "conv2": C(cout, cout, 3, padding=1), p + "bn2": B(cout)})
        if cin != cout or s != 1:
            mods[p + "conv3"] = C(cin, cout, 1, stride=s)
    def res_f(t, p, x):
        y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
        return relu(y + (t[p + "conv3"](x) if p + "conv3" in mods else x))
    cfg = [(0, 0, 2, 4, 2), (0, 1, 4, 4, 1)]
    for i, j, cin, c, s in cfg:
        p = f"stages.{i}.{j}."
        res(p + "residual1.", cin, c, s)
        mods[p + "conv1"] = C(c, c, 1)
        mods[p + "bn1"] = B(c)
        if cin != c or s != 1:
            mods[p + "conv2"] = C(cin, c, 1, stride=s)
    mods["head.fc1"] = L(4, 3)
    def f(t, x):
        for i, j, cin, c, s in cfg:
            p = f"stages.{i}.{j}."
            y = t[p + "bn1"](t[p + "conv1"](res_f(t, p + "residual1.", x)))
            x = y + (t[p + "conv2"](x) if p + "conv2" in mods else x)
        return t["head.fc1"](x.mean((2, 3)))
    return Twin((2, 8, 8), mods, f)


@twin("pools_padded")   # avgpool/maxpool with pad == kernel/2, stride > kernel, count_include_pad
def _():
    mods = {"stem.conv1": C(2, 3, 3, padding=1), "stages.0.0.conv1": C(3, 3, 1), "head.fc1": L(3 * 2 * 2, 4)}
    def f(t, x):
        x = t["stem.conv1"](x)
        x = F.avg_pool2d(x, 3, stride=2, padding=1)          # 9 -> 5
        x = F.max_pool2d(x, 2, stride=1, padding=1)          # 5 -> 6
        x = F.avg_pool2d(x, 4, stride=1, padding=2)          # 6 -> 7
        x = F.max_pool2d(x, 1, stride=3)                     # 7 -> 3
        x = x + t["stages.0.0.conv1"](x)
        x = F.max_pool2d(x, 3, stride=4, padding=1)          # 3 -> 1
        x = F.avg_pool2d(x, 2, stride=1, padding=1)          # 1 -> 2
        return t["head.fc1"](x.flatten(1))
    return Twin((2, 9, 9), mods, f)


@twin("big_even_kernels")   # kernels larger than the map, even kernels, stride > kernel
def _():
    mods = {"stem.conv1": C(1, 3, 7, padding=3), "stem.conv2": C(3, 4, 4, stride=3, padding=2),
            "stem.conv3": C(4, 5, 1, stride=3), "stem.conv4": C(5, 2, 6, padding=5, stride=2),
            "stages.0.0.conv1": C(2, 2, 2, padding=1, bias=False), "stages.0.0.conv2": C(2, 2, 2, bias=False),
            "head.fc1": L(2 * 3 * 3, 3)}
    def f(t, x):
        for k in ("stem.conv1", "stem.conv2", "stem.conv3", "stem.conv4"):
            x = t[k](x)
        x = x + t["stages.0.0.conv2"](t["stages.0.0.conv1"](x))
        return t["head.fc1"](x.flatten(1))
    return Twin((1, 4, 4), mods, f)


@twin("depthwise")   # groups == channels, group_width 1, groups on output multiples
def _():
    p = "stages.0.0."
    mods = {"stem.conv1": C(3, 6, 3, padding=1, groups=3), p + "conv1": C(6, 6, 3, padding=1, groups=6),
            p + "bn1": B(6), p + "conv2": C(6, 12, 5, padding=2, groups=6, stride=2), p + "bn2": B(12),
            p + "conv3": C(6, 12, 1, stride=2, groups=2), "head.fc1": L(12, 2)}
    def f(t, x):
        x = t["stem.conv1"](x)
        y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
        x = relu(y + t[p + "conv3"](x))
        return t["head.fc1"](x.mean((2, 3)))
    return Twin((3, 6, 6), mods, f)


@twin("linear_stack")   # flatten straight off a map, three linear layers, no bias on one, relu between
def _():
    mods = {"stem.conv1": C(2, 3, 3), "stages.0.0.conv1": C(3, 3, 3, padding=1),
            "head.fc1": L(3 * 3 * 3, 7), "head.fc2": L(7, 5, bias=False), "head.fc3": L(5, 4)}
    def f(t, x):
        x = t["stem.conv1"](x)
        x = x + t["stages.0.0.conv1"](x)
        x = relu(t["head.fc1"](x.flatten(1)))
        return t["head.fc3"](relu(t["head.fc2"](x)))
    return Twin((2, 5, 5), mods, f)


@twin("one_by_one")   # a 1x1 input through the bundled bottleneck (width 16 * 0.25 = 4)
def _():
    p = "stages.0.0."
    mods = {"stem.conv1": C(3, 8, 3, padding=1), "stem.bn1": B(8), p + "conv1": C(8, 4, 1), p + "bn1": B(4),
            p + "conv2": C(4, 4, 3, padding=1), p + "bn2": B(4), p + "conv3": C(4, 16, 1), p + "bn3": B(16),
            p + "conv4": C(8, 16, 1), p + "bn4": B(16), "head.fc1": L(16, 2)}
    def f(t, x):
        x = relu(t["stem.bn1"](t["stem.conv1"](x)))
        x = F.max_pool2d(x, 1)
        y = relu(t[p + "bn1"](t[p + "conv1"](x)))
        y = relu(t[p + "bn2"](t[p + "conv2"](y)))
        y = t[p + "bn3"](t[p + "conv3"](y))
        x = relu(y + t[p + "bn4"](t[p + "conv4"](x)))
        return t["head.fc1"](x.flatten(1))
    return Twin((3, 1, 1), mods, f)


@twin("non_square")   # height != width
def _():
    mods = {"stem.conv1": C(1, 4, 3, padding=1, stride=2), "stem.bn1": B(4)}
    for j in range(2):
        p = f"stages.0.{j}."
        mods.update({p + "conv1": C(4, 4, 3, padding=1), p + "bn1": B(4), p + "conv2": C(4, 4, 3, padding=1), p + "bn2": B(4)})
    mods["head.fc1"] = L(4 * 3 * 6, 3)
    def f(t, x):
        x = relu(t["stem.bn1"](t["stem.conv1"](x)))
        for j in range(2):
            p = f"stages.0.{j}."
            y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
            x = relu(y + x)
        return t["head.fc1"](x.flatten(1))
    return Twin((1, 5, 11), mods, f)


@twin("bn_overrides")   # defaults: bias false, bn_eps, bn_momentum; per-layer overrides
def _():
    p = "stages.0.0."
    mods = {"stem.conv1": C(2, 4, 3, padding=1, bias=False), "stem.bn1": B(4, eps=1e-2, momentum=0.3),
            p + "conv1": C(4, 4, 3, padding=1, bias=False), p + "bn1": B(4, eps=0.5, momentum=0.9),
            p + "conv2": C(4, 4, 3, padding=1, bias=False), p + "bn2": B(4, eps=1e-2, momentum=0.0),
            "head.fc1": L(4, 3)}
    def f(t, x):
        x = relu(t["stem.bn1"](t["stem.conv1"](x)))
        y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
        return t["head.fc1"](relu(x + y).mean((2, 3)))
    return Twin((2, 6, 6), mods, f)


@twin("identity_is_body")   # identity_from the body's last layer: the add doubles it
def _():
    p = "stages.0.0."
    mods = {p + "conv1": C(2, 3, 3, padding=1), p + "bn1": B(3), "head.fc1": L(3, 2)}
    def f(t, x):
        y = t[p + "bn1"](t[p + "conv1"](x))
        y = relu(y + y)
        return t["head.fc1"](y.mean((2, 3)))
    return Twin((2, 4, 4), mods, f)


@twin("project_from_last")   # when: always, an empty projection reading the body's last layer
def _():
    p = "stages.0.0."
    mods = {p + "conv1": C(2, 3, 3, padding=1), "head.fc1": L(3 * 16, 2)}
    def f(t, x):
        y = relu(t[p + "conv1"](x))
        return t["head.fc1"]((y + y).flatten(1))
    return Twin((2, 4, 4), mods, f)


@twin("stride_stage_depth3")   # stride on the first block only, if-skipped layers, pycls stages
def _():
    mods = {}
    cfg = [(0, 0, 1, 4, 2), (0, 1, 4, 4, 1), (0, 2, 4, 4, 1), (1, 0, 4, 6, 3)]
    for i, j, cin, c, s in cfg:
        p = f"stages.{i}.{j}."
        mods.update({p + "conv1": C(cin, c, 3, stride=s, padding=1), p + "bn1": B(c)})
        if cin != c or s != 1:
            mods[p + "conv2"] = C(cin, c, 1, stride=s)
    mods["head.fc1"] = L(6, 4)
    def f(t, x):
        for i, j, cin, c, s in cfg:
            p = f"stages.{i}.{j}."
            y = t[p + "bn1"](t[p + "conv1"](x))
            x = relu(y + (t[p + "conv2"](x) if p + "conv2" in mods else x))
        return t["head.fc1"](x.mean((2, 3)))
    return Twin((1, 9, 9), mods, f)


@twin("global_then_conv")   # global_avgpool, then a conv on the 1x1 map, then flatten and linear
def _():
    p = "stages.0.0."
    mods = {p + "conv1": C(2, 2, 3, padding=1), "head.conv1": C(2, 5, 1), "head.fc1": L(5, 3)}
    def f(t, x):
        x = x + t[p + "conv1"](x)
        x = t["head.conv1"](x.mean((2, 3), keepdim=True))
        return t["head.fc1"](relu(x).flatten(1))
    return Twin((2, 3, 3), mods, f)


@twin("bn_on_vector")   # batch norm on vectors: BatchNorm1d
def _():
    p = "stages.0.0."
    mods = {p + "conv1": C(2, 2, 3, padding=1), p + "bn1": B(2), p + "conv2": C(2, 2, 3, padding=1), p + "bn2": B(2),
            "head.bn1": nn.BatchNorm1d(32), "head.fc1": L(32, 5), "head.bn2": nn.BatchNorm1d(5), "head.fc2": L(5, 3)}
    def f(t, x):
        y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
        x = relu(y + x).flatten(1)
        x = relu(t["head.bn2"](t["head.fc1"](t["head.bn1"](x))))
        return t["head.fc2"](x)
    return Twin((2, 4, 4), mods, f)


@twin("mlp_residual_head")   # residual MLP blocks as head layers
def _():
    p = "stages.0.0."
    mods = {"stem.conv1": C(2, 4, 3, padding=1), p + "conv1": C(4, 4, 3, padding=1), p + "bn1": B(4),
            p + "conv2": C(4, 4, 3, padding=1), p + "bn2": B(4),
            "head.mlpres1.fc1": L(4, 6), "head.mlpres1.fc2": L(6, 6), "head.mlpres1.fc3": L(4, 6),
            "head.mlpres2.fc1": L(6, 6), "head.mlpres2.fc2": L(6, 6), "head.fc1": L(6, 3)}
    def f(t, x):
        x = t["stem.conv1"](x)
        y = t[p + "bn2"](t[p + "conv2"](relu(t[p + "bn1"](t[p + "conv1"](x)))))
        x = relu(y + x).mean((2, 3))
        x = relu(t["head.mlpres1.fc2"](relu(t["head.mlpres1.fc1"](x))) + t["head.mlpres1.fc3"](x))
        x = relu(t["head.mlpres2.fc2"](relu(t["head.mlpres2.fc1"](x))) + x)
        return t["head.fc1"](x)
    return Twin((2, 4, 4), mods, f)


@twin("vector_stage")   # a stage on vectors
def _():
    mods = {}
    for j in range(2):
        mods[f"stages.0.{j}.fc1"] = L(2, 5)
        mods[f"stages.0.{j}.fc2"] = L(5, 2)
    mods["head.fc1"] = L(2, 3)
    def f(t, x):
        x = x.mean((2, 3))
        for j in range(2):
            x = x + t[f"stages.0.{j}.fc2"](relu(t[f"stages.0.{j}.fc1"](x)))
        return t["head.fc1"](x)
    return Twin((2, 4, 4), mods, f)


@twin("conv_big_pad")   # conv padding beyond half the kernel
def _():
    mods = {"stem.conv1": C(2, 3, 1, padding=2), "stem.conv2": C(3, 4, 3, stride=2, padding=4), "stem.bn1": B(4),
            "stages.0.0.conv1": C(4, 4, 2, padding=3, stride=3), "head.fc1": L(4 * 3 * 3, 3)}
    def f(t, x):
        x = t["stem.bn1"](t["stem.conv2"](t["stem.conv1"](x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        x = t["stages.0.0.conv1"](x) + F.avg_pool2d(x, 2, stride=2, padding=1)
        return t["head.fc1"](x.flatten(1))
    return Twin((2, 3, 3), mods, f)


def randomise(net, shape):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)


def compare(name, a):
    torch.manual_seed(0)
    path = os.path.join(ODD, name + ".yaml")
    spec = open(path).read()
    net = TWINS[name]()
    randomise(net, net.shape)
    tmp = tempfile.mkdtemp(prefix="netc-odd-")
    weights = os.path.join(tmp, "w.safetensors")
    write_safetensors(weights, net.netc_state(), {"spec": spec})
    x = torch.randn(a.batch, *net.shape)
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x.numpy())
    net.eval()
    with torch.no_grad():
        ref = net(x).numpy()
    out = os.path.join(tmp, "logits.npy")
    r = subprocess.run([a.netc, "run", path, "--weights", weights, "--input", xp, "--output", out], capture_output=True, text=True)
    if r.returncode != 0:
        return {"spec": name, "error": "run: " + r.stderr.strip()}
    got = np.load(out)
    res = {"spec": name, "logits": relative(got, ref) if got.shape == ref.shape else f"shape {got.shape} vs {ref.shape}"}
    y = torch.randint(0, ref.shape[1], (a.batch,))
    yp = os.path.join(tmp, "y.npy")
    np.save(yp, y.numpy().astype(np.float32))
    tn = copy.deepcopy(net).train()
    opt = torch.optim.SGD(tn.parameters(), lr=0.1)
    loss = F.cross_entropy(tn(x), y)
    loss.backward()
    opt.step()
    expected = tn.netc_state()
    so = os.path.join(tmp, "s.safetensors")
    r = subprocess.run([a.netc, "step", path, "--weights", weights, "--input", xp, "--labels", yp, "--lr", "0.1",
                        "--output", so], capture_output=True, text=True)
    if r.returncode != 0:
        res["step"] = "error: " + r.stderr.strip()
        return res
    got = read_safetensors(so)
    errs = {k: relative(got[k].astype(np.float64), v.astype(np.float64)) for k, v in expected.items()
            if not k.endswith("num_batches_tracked")}
    worst = max(errs, key=errs.get)
    res["step"] = errs[worst]
    res["step_worst"] = worst
    res["loss"] = [float(loss.detach()), float(r.stdout.split()[-1])]
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="*", default=list(TWINS))
    p.add_argument("--netc", default=".build/release/netc")
    p.add_argument("--batch", type=int, default=4)
    a = p.parse_args()
    torch.set_num_threads(1)
    bad = 0
    for n in a.names:
        r = compare(n, a)
        ok = isinstance(r.get("logits"), float) and r["logits"] <= 1e-5 and isinstance(r.get("step"), float) and r["step"] <= 1e-4
        bad += not ok
        print(("ok   " if ok else "FAIL ") + json.dumps(r), flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
