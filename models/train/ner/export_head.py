"""Graph surgery: adds the entity head to the shipped int8 graph without touching any existing node.

New input  `token_case` int64 [batch, seq] (see common.case_of). It is also an initializer of shape [1, 1] holding
           0, i.e. an overridable default: a caller that does not feed it still runs the graph, with every token
           treated as "no cased letter" (the head is then weaker; the other outputs are unchanged).
New output `entities` float32 [batch, seq, len(LABELS)] softmax probabilities in LABELS order.

The trained head is a Conv1D of width 3 over [standardised hidden states, one-hot token_case] (tokens t-1, t, t+1),
ReLU, a linear layer and a softmax. It is written into the graph in an equivalent form that costs less
(issue #22's latency budget): one int8 matrix product per token for all three taps, then a shift-and-add.

Nodes (names prefixed /entities/):
  h  = hidden state(s) of the chosen encoder layer(s) (Concat on the last axis if several)
  x  = (h - mean) * inv_std                                         standardisation of the training features
  m  = x @ Wx  [batch, seq, taps x H]                               int8: DynamicQuantizeLinear (uint8, per
                                                                   tensor) x MatMulInteger with 7-bit per-column
                                                                   weights, as the encoder's own quantisation
                                                                   (reduce_range: AVX2 and VNNI kernels agree)
  m += Gather(Wcase [5, taps x H], token_case)                      the one-hot token_case part, as a lookup
  z  = m_tap0[t-1] + m_tap1[t] + m_tap2[t+1] + b1                  Slice, Pad (zeros at the window's ends), Add
  p  = Softmax(Relu(z) @ W2 + b2)                                   fp32, [batch, seq, 9]
Padding the taps' products with zeros equals the Conv's zero padding of its input: every per-position term
(standardised features and the token_case lookup) is inside the products.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import CATEGORIES, LABELS, MODEL_DIR, N_CASE, OUT
from features import LAYER_TENSOR

P = "/entities/"
# 7-bit weights, as the encoder's quantize_dynamic(reduce_range=True): uint8 activations x [-64, 64] weights can
# not saturate the int16 pair sums of the AVX2 kernel (255 x 64 x 2 < 32767), so every CPU computes the same.
W_LEVELS = 64


def quantise_columns(w):
    """Symmetric per-column int8 quantisation of w [K, N] with W_LEVELS levels each side: (int8 [K, N], scale [N])."""
    scale = np.abs(w).max(axis=0) / W_LEVELS
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale), -W_LEVELS, W_LEVELS).astype(np.int8)
    return q, scale


def add_head(model, head, cfg):
    g = model.graph
    layers, use_case, ctx = cfg["layers"], cfg["case"], cfg["ctx"]
    init, nodes = [], []

    def const(name, arr):
        init.append(numpy_helper.from_array(np.asarray(arr), P + name))
        return P + name

    def node(op, inputs, name, outputs=None, **attrs):
        outs = outputs or [P + name]
        nodes.append(helper.make_node(op, inputs, outs, name=P + name, **attrs))
        return outs[0]

    hs = [LAYER_TENSOR.format(k) for k in layers]
    h = node("Concat", hs, "hidden", axis=2) if len(hs) > 1 else hs[0]
    c = node("Sub", [h, const("mean", head["mean"].astype(np.float32))], "centred")
    x = node("Mul", [c, const("inv_std", (1.0 / head["std"]).astype(np.float32))], "x")

    d_in, W1 = cfg["d_in"], head["W1"]
    hidden = W1.shape[1]
    d_x = d_in - (N_CASE if use_case else 0)
    taps = 3 if ctx else 1
    # training order of W1's rows: [a_{t-1}, a_t, a_{t+1}] with a = [x, one-hot case]; tap k's columns side by side
    blocks = [W1[k * d_in:(k + 1) * d_in] for k in range(taps)]
    Wx = np.concatenate([b[:d_x] for b in blocks], axis=1).astype(np.float32)
    Wq, w_scale = quantise_columns(Wx)
    xq, xs, xzp = P + "xq", P + "x_scale", P + "x_zero_point"
    node("DynamicQuantizeLinear", [x], "quantise_x", outputs=[xq, xs, xzp])
    mi = node("MatMulInteger", [xq, const("Wq", Wq), xzp, const("Wq_zero_point", np.zeros(Wq.shape[1], np.int8))],
              "taps_int")
    mf = node("Cast", [mi], "taps_int_float", to=TensorProto.FLOAT)
    scale = node("Mul", [xs, const("Wq_scale", w_scale)], "taps_scale")
    m = node("Mul", [mf, scale], "taps_x")
    if use_case:
        default = numpy_helper.from_array(np.zeros((1, 1), np.int64), "token_case")
        g.initializer.append(default)
        g.input.append(helper.make_tensor_value_info("token_case", TensorProto.INT64, ["batch", "seq"]))
        Wcase = np.concatenate([b[d_x:] for b in blocks], axis=1).astype(np.float32)
        case = node("Gather", [const("Wcase", Wcase), "token_case"], "taps_case", axis=0)
        m = node("Add", [m, case], "taps")

    def part(inp, name, start, end, axis):
        return node("Slice", [inp, const(name + "_start", np.array([start], np.int64)),
                              const(name + "_end", np.array([end], np.int64)),
                              const(name + "_axis", np.array([axis], np.int64))], name)

    if ctx:
        prev = node("Pad", [part(m, "tap_prev", 0, hidden, 2), const("pad_front", np.array([0, 1, 0, 0, 0, 0], np.int64))],
                    "tap_prev_padded")
        nxt = node("Pad", [part(m, "tap_next", 2 * hidden, 3 * hidden, 2),
                           const("pad_back", np.array([0, 0, 0, 0, 1, 0], np.int64))], "tap_next_padded")
        z = node("Add", [part(prev, "from_prev", 0, -1, 1), part(m, "tap_here", hidden, 2 * hidden, 2)], "z_prev_here")
        z = node("Add", [z, part(nxt, "from_next", 1, np.iinfo(np.int64).max, 1)], "z_taps")
    else:
        z = m
    z = node("Add", [z, const("b1", head["b1"].astype(np.float32))], "z")
    r = node("Relu", [z], "relu")
    l0 = node("MatMul", [r, const("W2", head["W2"].astype(np.float32))], "fc2")
    logits = node("Add", [l0, const("b2", head["b2"].astype(np.float32))], "logits")
    node("Softmax", [logits], "softmax", outputs=["entities"], axis=-1)
    g.node.extend(nodes)
    g.initializer.extend(init)
    g.output.append(helper.make_tensor_value_info("entities", TensorProto.FLOAT, ["batch", "seq", len(LABELS)]))
    return model


def head_from_conv_graph(model, manifest):
    """The fp32 head of a graph exported in the Conv form of warden-minilm-2026.12.2 (/entities/W1 [H, D, 3],
    mean, inv_std, b1, W2, b2), as the .npz train_head.py writes, with its config from that release's manifest.
    Lets a release re-export its trained head in another form without retraining."""
    w = {i.name[len(P):]: numpy_helper.to_array(i) for i in model.graph.initializer if i.name.startswith(P)}
    if "W1" not in w or w["W1"].ndim != 3:
        raise SystemExit("export_head: the graph has no Conv-form entity head (/entities/W1 [H, D, 3])")
    Wc = w["W1"]
    d_in = Wc.shape[1]
    W1 = np.concatenate([Wc[:, :, k].T for k in range(Wc.shape[2])], axis=0)  # [3 D, H], rows [t-1, t, t+1]
    spec = manifest["entities"]["head"]
    cfg = {"layers": spec["encoder_layers"], "case": int(spec["token_case"]), "ctx": 1, "hidden": spec["hidden"],
           "seed": spec["seed"], "tag": spec["tag"], "d_in": d_in,
           "thresholds": {c: manifest["thresholds"]["entities"][c] for c in CATEGORIES}}
    return {"W1": W1, "b1": w["b1"], "W2": w["W2"], "b2": w["b2"], "mean": w["mean"], "std": 1.0 / w["inv_std"],
            "config": json.dumps(cfg)}


def strip_head(model):
    """Removes an entity head added by add_head (so the shipped file can be re-extended): its nodes and
    initializers (prefix /entities/), the entities output, the token_case input and its default."""
    g = model.graph
    keep = [n for n in g.node if not n.name.startswith("/entities/")]
    del g.node[:]
    g.node.extend(keep)
    for coll, drop in ((g.initializer, lambda x: x.name.startswith("/entities/") or x.name == "token_case"),
                       (g.output, lambda x: x.name == "entities"), (g.input, lambda x: x.name == "token_case")):
        keep = [x for x in coll if not drop(x)]
        del coll[:]
        coll.extend(keep)
    return model


def build(head, out_path, base=None):
    cfg = json.loads(str(head["config"]))
    model = strip_head(onnx.load(base or os.path.join(MODEL_DIR, "model.int8.onnx")))
    add_head(model, head, cfg)
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return cfg


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--head", help="a head .npz written by train_head.py")
    src.add_argument("--head-from-graph", help="a graph with a Conv-form head (warden-minilm-2026.12.2) and its "
                                               "manifest.json beside it: re-export that trained head")
    ap.add_argument("--out", default=os.path.join(OUT, "model.entities.int8.onnx"))
    ap.add_argument("--base", default=None, help="graph to extend (default: the shipped model.int8.onnx)")
    ap.add_argument("--save-head", default=None, help="also write the head read from the graph as an .npz")
    args = ap.parse_args()
    if args.head:
        head = dict(np.load(args.head))
    else:
        manifest = json.load(open(os.path.join(os.path.dirname(os.path.abspath(args.head_from_graph)), "manifest.json")))
        head = head_from_conv_graph(onnx.load(args.head_from_graph), manifest)
        if args.save_head:
            np.savez(args.save_head, **head)
    cfg = build(head, args.out, args.base)
    print("wrote", args.out, cfg["tag"], os.path.getsize(args.out))


if __name__ == "__main__":
    main()
