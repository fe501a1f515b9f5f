"""Reference inference: text -> entity spans through the served graph (windows, token_case, stitching, decoding).
This is what the Rust side must reproduce (tests/fixtures/models/entities_reference.jsonl)."""
import json
import os

import numpy as np
import onnxruntime as ort

from common import CLS, SEP, MODEL_DIR, decode, encode, owner_window, tokenizer, windows, char_to_byte


def session(path, threads=2):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def manifest_thresholds(path=os.path.join(MODEL_DIR, "manifest.json")):
    m = json.load(open(path))
    return {k: v for k, v in m["thresholds"]["entities"].items() if k in ("PER", "LOC", "ADDR", "ORG")}


class Entities:
    def __init__(self, model_path, thresholds, feed_case=True, threads=2, rules="org"):
        self.rules = rules
        self.sess = session(model_path, threads)
        self.tok = tokenizer()
        self.th = thresholds
        self.feed_case = feed_case

    def token_probs(self, text, batch=1):
        """Per content token probabilities [n, 9] (stitched over windows), plus the encoding."""
        ids, offs, toks, case = encode(self.tok, text)
        wins = windows(len(ids))
        outs = []
        for s, e in wins:
            wid = np.array([[CLS] + ids[s:e] + [SEP]], dtype=np.int64)
            feed = {"input_ids": wid, "attention_mask": np.ones_like(wid)}
            if self.feed_case:
                feed["token_case"] = np.array([[0] + case[s:e] + [0]], dtype=np.int64)
            outs.append(self.sess.run(["entities"], feed)[0][0])
        P = np.zeros((len(ids), outs[0].shape[1]), np.float32)
        for i in range(len(ids)):
            w = owner_window(i, wins)
            P[i] = outs[w][1 + i - wins[w][0]]
        return P, ids, offs, toks, case

    def spans(self, text):
        P, ids, offs, toks, case = self.token_probs(text)
        return decode(P, offs, toks, self.th, text=text, rules=self.rules)

    def spans_bytes(self, text):
        c2b = char_to_byte(text)
        return [(cat, c2b[a], c2b[b], s) for cat, a, b, s in self.spans(text)]
