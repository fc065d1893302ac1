"""Prints torch.optim's weights after three steps on one tensor, for Tests/NetcTrainTests/OptimizerTests.swift.

The same start, gradients and per-step learning rates as the test; float32, as netc computes.
Usage: /path/to/venv/python scripts/optimizer_reference.py
"""
import torch

START = [0.5, -1.25, 2.0, 0.0, -0.75, 3.5e-3]
GRADIENTS = [[0.1, -0.2, 0.3, -0.4, 0.05, 1e-4], [0.2, 0.1, -0.3, 0.4, -0.05, -2e-4], [-0.05, 0.3, 0.01, -0.2, 0.5, 3e-4]]
RATES = [0.01, 0.02, 0.005]


def run(make):
    p = torch.nn.Parameter(torch.tensor(START, dtype=torch.float32))
    opt = make([p])
    for g, lr in zip(GRADIENTS, RATES):
        for group in opt.param_groups:
            group["lr"] = lr
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        print("  [" + ", ".join(repr(float(x)) for x in p.detach()) + "],")


print("AdamW")
run(lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01))
print("SGD, Nesterov")
run(lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4))
