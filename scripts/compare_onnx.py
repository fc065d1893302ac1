#!/usr/bin/env python3
"""netc's ONNX export against ONNX Runtime, for every architecture in architectures/ and Examples/.

For each spec: the weights of an independent PyTorch model (scripts/compare_pytorch.py's, batch
norms randomised so that folding them matters) are saved for netc; `netc export` writes the model
with batch norms folded and again with --keep-bn; each passes onnx.checker (full check) and strict
shape inference, and ONNX Runtime's outputs on a batch of 3 equal `netc run`'s within 1e-5
relative. Needs the PyTorch/ONNX virtualenv; not part of `make test`.

Usage: python scripts/compare_onnx.py [SPEC...] [--netc .build/release/netc] [--markdown]
"""
import os, subprocess, sys
import numpy as np
import onnx, onnxruntime as ort, torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_pytorch as cp

TOLERANCE = 1e-5


def compare(path, a, tmp):
    make, naming = cp.MODELS[path]
    torch.manual_seed(0)
    spec = open(path).read()
    channels, size = cp.input_shape(spec)
    net = make()
    cp.randomise_batch_norms(net, channels, size)
    weights = os.path.join(tmp, "weights.safetensors")
    cp.write_safetensors(weights, cp.state(net, naming(net)), {"spec": spec})
    x = np.random.default_rng(0).standard_normal((3, channels, size, size)).astype(np.float32)
    x_path, netc_out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "netc.npy")
    np.save(x_path, x)
    subprocess.run([a.netc, "run", path, "--weights", weights, "--input", x_path, "--output", netc_out],
                   check=True, stdout=subprocess.DEVNULL)
    expected = np.load(netc_out)
    result = {"spec": path}
    for variant, flags in (("folded", []), ("keep_bn", ["--keep-bn"])):
        model_path = os.path.join(tmp, f"{variant}.onnx")
        subprocess.run([a.netc, "export", path, "--weights", weights, "-o", model_path] + flags,
                       check=True, stdout=subprocess.DEVNULL)
        model = onnx.load(model_path)
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, strict_mode=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        result[f"{variant}_relative_error"] = cp.relative(got.reshape(expected.shape), expected)
        result[f"{variant}_nodes"] = len(model.graph.node)
    result["verdict"] = "pass" if max(result["folded_relative_error"], result["keep_bn_relative_error"]) <= TOLERANCE else "FAIL"
    return result


def main():
    cp.run_over_specs(compare, list(cp.MODELS),
                      "| spec | ONNX nodes (folded / kept BN) | ORT vs netc run, folded | with BatchNormalization | verdict |",
                      lambda r: f"| `{r['spec']}` | {r['folded_nodes']} / {r['keep_bn_nodes']} | {r['folded_relative_error']:.1e} | "
                                f"{r['keep_bn_relative_error']:.1e} | {r['verdict']} |",
                      f"onnx.checker full check, strict shape inference, ONNX Runtime within {TOLERANCE:g} relative of netc run")


if __name__ == "__main__":
    main()
