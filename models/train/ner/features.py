"""Frozen features: the shipped int8 graph, copied with the encoder's hidden states exposed as outputs, run by
onnxruntime (2 threads) over a data file. Writes out/feat/{name}.npz: per set, concatenated content-token features
of the chosen layers (float16), token_case, labels, and row boundaries. [CLS]/[SEP] rows are included so the
context window sees what it will see in the served graph."""
import argparse
import os
import time

import numpy as np
import onnx
import onnxruntime as ort

from common import MODEL_DIR, OUT, CONTENT, CLS, SEP, encode, labels_for, load_jsonl, tokenizer

LAYER_TENSOR = "/encoder/layer.{}/output/LayerNorm/LayerNormalization_output_0"


def exposed_model(layers, path):
    m = onnx.load(os.path.join(MODEL_DIR, "model.int8.onnx"))
    for k in layers:
        vi = onnx.helper.make_tensor_value_info(LAYER_TENSOR.format(k), onnx.TensorProto.FLOAT, ["batch", "seq", 384])
        m.graph.output.append(vi)
    onnx.save(m, path)
    return path


def session(path, threads=2):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["train", "dev", "wnut_test", "uner_test"])
    ap.add_argument("--layers", nargs="+", type=int, default=[3, 4, 5])
    ap.add_argument("--max-tokens", type=int, default=CONTENT, help="content tokens kept per row (first window)")
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--suffix", default="", help="out/feat/{set}{suffix}.npz (several layer groups side by side)")
    args = ap.parse_args()
    os.makedirs(os.path.join(OUT, "feat"), exist_ok=True)
    sess = session(exposed_model(args.layers, os.path.join(OUT, "feat", f"exposed{args.suffix}.onnx")))
    names = [LAYER_TENSOR.format(k) for k in args.layers]
    tok = tokenizer()
    for name in args.sets:
        rows = load_jsonl(os.path.join(OUT, "data", f"{name}.jsonl"))
        enc = []
        for r in rows:
            ids, offs, toks, case = encode(tok, r["text"])
            y = labels_for(offs, toks, [(s, e, c) for s, e, c in r["spans"]])
            n = min(len(ids), args.max_tokens)
            enc.append((ids[:n], case[:n], y[:n]))
        order = sorted(range(len(enc)), key=lambda i: len(enc[i][0]))
        feats = [None] * len(enc)
        t0 = time.time()
        i = 0
        while i < len(order):
            L = len(enc[order[i]][0]) + 2
            bs = max(1, args.batch_tokens // max(L, 1))
            idx = order[i:i + bs]
            L = max(len(enc[j][0]) for j in idx) + 2
            ids = np.zeros((len(idx), L), dtype=np.int64)
            mask = np.zeros((len(idx), L), dtype=np.int64)
            for b, j in enumerate(idx):
                s = [CLS] + list(enc[j][0]) + [SEP]
                ids[b, :len(s)] = s
                mask[b, :len(s)] = 1
            outs = sess.run(names, {"input_ids": ids, "attention_mask": mask})
            for b, j in enumerate(idx):
                n = len(enc[j][0]) + 2
                feats[j] = np.concatenate([o[b, :n] for o in outs], axis=1).astype(np.float16)
            i += len(idx)
        X = np.concatenate(feats)
        case = np.concatenate([np.array([0] + list(e[1]) + [0], dtype=np.int8) for e in enc])
        y = np.concatenate([np.concatenate([[-1], e[2], [-1]]).astype(np.int8) for e in enc])
        bounds = np.cumsum([0] + [len(e[0]) + 2 for e in enc])
        np.savez(os.path.join(OUT, "feat", f"{name}{args.suffix}.npz"), X=X, case=case, y=y, bounds=bounds,
                 layers=np.array(args.layers))
        print(name, len(rows), X.shape, f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
