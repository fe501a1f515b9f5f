"""Graph surgery: adds the entity head to the shipped int8 graph without touching any existing node.

New input  `token_case` int64 [batch, seq] (see common.case_of). It is also an initializer of shape [1, 1] holding
           0, i.e. an overridable default: a caller that does not feed it (today's server) still runs the graph,
           with every token treated as "no cased letter" (the head is then weaker; the other outputs are unchanged).
New output `entities` float32 [batch, seq, len(LABELS)] softmax probabilities in LABELS order.

Nodes (all fp32, names prefixed /entities/):
  h = hidden state(s) of the chosen encoder layer(s) (Concat on the last axis if several)
  x = (h - mean) * inv_std                                      standardisation of the training features
  c = Expand(Gather(eye(5), token_case), [batch, seq, 5])       one-hot token_case
  a = Concat(x, c)                                               [batch, seq, D]
  z = Conv1D(Transpose(a), W1 [H, D, 3], b1, pads 1)             context window t-1, t, t+1 (zero at the ends)
  p = Softmax(Relu(Transpose(z)) @ W2 + b2)                       [batch, seq, 9]
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import LABELS, MODEL_DIR, N_CASE, OUT
from features import LAYER_TENSOR


def add_head(model, head, cfg):
    g = model.graph
    layers, use_case, ctx = cfg["layers"], cfg["case"], cfg["ctx"]
    P = "/entities/"
    init = []
    nodes = []

    def const(name, arr):
        init.append(numpy_helper.from_array(np.asarray(arr), P + name))
        return P + name

    hs = [LAYER_TENSOR.format(k) for k in layers]
    if len(hs) > 1:
        nodes.append(helper.make_node("Concat", hs, [P + "hidden"], axis=2, name=P + "concat_layers"))
        h = P + "hidden"
    else:
        h = hs[0]
    nodes.append(helper.make_node("Sub", [h, const("mean", head["mean"].astype(np.float32))], [P + "centred"], name=P + "sub"))
    nodes.append(helper.make_node("Mul", [P + "centred", const("inv_std", (1.0 / head["std"]).astype(np.float32))],
                                  [P + "x"], name=P + "scale"))
    x = P + "x"
    if use_case:
        default = numpy_helper.from_array(np.zeros((1, 1), np.int64), "token_case")
        g.initializer.append(default)
        g.input.append(helper.make_tensor_value_info("token_case", TensorProto.INT64, ["batch", "seq"]))
        nodes.append(helper.make_node("Gather", [const("case_eye", np.eye(N_CASE, dtype=np.float32)), "token_case"],
                                      [P + "case_onehot"], axis=0, name=P + "case_gather"))
        nodes.append(helper.make_node("Shape", [h], [P + "h_shape"], name=P + "h_shape", end=2))
        nodes.append(helper.make_node("Concat", [P + "h_shape", const("n_case", np.array([N_CASE], np.int64))],
                                      [P + "case_shape"], axis=0, name=P + "case_shape"))
        nodes.append(helper.make_node("Expand", [P + "case_onehot", P + "case_shape"], [P + "case"], name=P + "case_expand"))
        nodes.append(helper.make_node("Concat", [x, P + "case"], [P + "a"], axis=2, name=P + "concat_case"))
        x = P + "a"
    d_in, hidden = cfg["d_in"], head["W1"].shape[1]
    W1 = head["W1"]
    if ctx:
        # training order [x_{t-1}, x_t, x_{t+1}] -> Conv weight [H, D, 3] (cross-correlation: tap 0 = t-1)
        Wc = np.stack([W1[k * d_in:(k + 1) * d_in].T for k in range(3)], axis=2).astype(np.float32)
        nodes.append(helper.make_node("Transpose", [x], [P + "a_t"], perm=[0, 2, 1], name=P + "to_channels"))
        nodes.append(helper.make_node("Conv", [P + "a_t", const("W1", Wc), const("b1", head["b1"].astype(np.float32))],
                                      [P + "z_t"], kernel_shape=[3], pads=[1, 1], name=P + "conv"))
        nodes.append(helper.make_node("Relu", [P + "z_t"], [P + "r_t"], name=P + "relu"))
        nodes.append(helper.make_node("Transpose", [P + "r_t"], [P + "r"], perm=[0, 2, 1], name=P + "to_tokens"))
    else:
        nodes.append(helper.make_node("MatMul", [x, const("W1", W1.astype(np.float32))], [P + "z0"], name=P + "fc1"))
        nodes.append(helper.make_node("Add", [P + "z0", const("b1", head["b1"].astype(np.float32))], [P + "z"], name=P + "fc1_bias"))
        nodes.append(helper.make_node("Relu", [P + "z"], [P + "r"], name=P + "relu"))
    nodes.append(helper.make_node("MatMul", [P + "r", const("W2", head["W2"].astype(np.float32))], [P + "l0"], name=P + "fc2"))
    nodes.append(helper.make_node("Add", [P + "l0", const("b2", head["b2"].astype(np.float32))], [P + "logits"], name=P + "fc2_bias"))
    nodes.append(helper.make_node("Softmax", [P + "logits"], ["entities"], axis=-1, name=P + "softmax"))
    g.node.extend(nodes)
    g.initializer.extend(init)
    g.output.append(helper.make_tensor_value_info("entities", TensorProto.FLOAT, ["batch", "seq", len(LABELS)]))
    return model


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


def build(head_path, out_path, base=None):
    head = dict(np.load(head_path))
    cfg = json.loads(str(head["config"]))
    model = strip_head(onnx.load(base or os.path.join(MODEL_DIR, "model.int8.onnx")))
    add_head(model, head, cfg)
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--head", required=True)
    ap.add_argument("--out", default=os.path.join(OUT, "model.entities.int8.onnx"))
    ap.add_argument("--base", default=None, help="graph to extend (default: the shipped model.int8.onnx)")
    args = ap.parse_args()
    cfg = build(args.head, args.out, args.base)
    print("wrote", args.out, cfg["tag"], os.path.getsize(args.out))


if __name__ == "__main__":
    main()
