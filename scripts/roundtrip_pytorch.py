#!/usr/bin/env python3
"""PyTorch weights into netc and back, for every spec that declares its PyTorch names (`pytorch_names`).

For each: the independent PyTorch model of scripts/compare_pytorch.py (torchvision's for imagenet/,
the d2l model for the chapter's), batch norms randomised, saves its plain state_dict with
safetensors (PyTorch's names, no netc metadata); `netc run` reads it by those names and its logits
must equal PyTorch's within 1e-5 relative; `netc step` fine-tunes one SGD step; `netc export
--format pytorch` writes the result back, which the PyTorch model loads with
`load_state_dict(strict=True)`, and its logits must equal `netc run`'s on the stepped weights within
1e-5. Needs the PyTorch virtualenv; not part of `make test`.

Usage: python scripts/roundtrip_pytorch.py [SPEC...] [--netc .build/release/netc] [--markdown]
"""
import os, subprocess, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_pytorch as cp

TOLERANCE = 1e-5


def roundtrip(path, a, tmp):
    make, _ = cp.MODELS[path]
    torch.manual_seed(0)
    channels, size = cp.input_shape(open(path).read())
    net = make()
    cp.randomise_batch_norms(net, channels, size)
    net.eval()
    plain = os.path.join(tmp, "pytorch.safetensors")
    cp.write_safetensors(plain, {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}, {})
    x = torch.randn(2, channels, size, size)
    x_path, y_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(x_path, x.numpy())
    np.save(y_path, np.array([1, 0], dtype=np.float32))

    def netc_logits(weights):
        out = os.path.join(tmp, "logits.npy")
        subprocess.run([a.netc, "run", path, "--weights", weights, "--input", x_path, "--output", out],
                       check=True, stdout=subprocess.DEVNULL)
        return np.load(out)

    with torch.no_grad():
        reference = net(x).numpy()
    into = cp.relative(netc_logits(plain), reference)
    stepped, back = os.path.join(tmp, "stepped.safetensors"), os.path.join(tmp, "back.safetensors")
    subprocess.run([a.netc, "step", path, "--weights", plain, "--input", x_path, "--labels", y_path,
                    "--lr", "0.01", "--no-dropout", "--output", stepped], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([a.netc, "export", path, "--weights", stepped, "--format", "pytorch", "-o", back],
                   check=True, stdout=subprocess.DEVNULL)
    returned = make()
    returned.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in cp.read_safetensors(back).items()}, strict=True)
    returned.eval()
    with torch.no_grad():
        after = returned(x).numpy()
    back_error = cp.relative(after, netc_logits(stepped))
    moved = cp.relative(after, reference)
    ok = into <= TOLERANCE and back_error <= TOLERANCE and moved > 0
    return {"spec": path, "into_netc": into, "back_to_pytorch": back_error, "step_moved_logits": moved,
            "verdict": "pass" if ok else "FAIL"}


def main():
    cp.run_over_specs(roundtrip, sorted(p for p in cp.MODELS if "pytorch_names:" in open(p).read()),
                      "| spec | PyTorch model | PyTorch weights in netc (logits) | stepped, back in PyTorch (strict load, logits) | verdict |",
                      lambda r: f"| `{r['spec']}` | {'torchvision' if 'imagenet/' in r['spec'] else 'd2l'} | {r['into_netc']:.1e} | "
                                f"{r['back_to_pytorch']:.1e} | {r['verdict']} |",
                      f"logits within {TOLERANCE:g} relative both ways")


if __name__ == "__main__":
    main()
