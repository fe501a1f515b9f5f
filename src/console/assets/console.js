// Warden console: live approval queue (server-sent events) and in-page
// checks of each record's inclusion proof (RFC 9162) and checkpoint
// signature (Ed25519), with the browser's own WebCrypto.
"use strict";

function b64(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }
function hex(s) { return Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16)); }
function same(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
const leafHash = (entry) => sha256(cat(Uint8Array.of(0), entry));
const nodeHash = (l, r) => sha256(cat(Uint8Array.of(1), l, r));

// RFC 9162 section 2.1.3.2, with arithmetic that stays exact past 2^32.
async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) throw new Error("index beyond the tree");
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error("proof too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("proof too short");
  return r;
}

async function checkProof(cell) {
  const seq = cell.dataset.proof;
  try {
    const instance = cell.dataset.instance ? `?instance=${encodeURIComponent(cell.dataset.instance)}` : "";
    const res = await fetch(`/records/${seq}/proof${instance}`, { credentials: "same-origin" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const p = await res.json();
    const entry = b64(p.entry_b64);
    const root = await rootFromInclusion(p.leaf_index, p.tree_size, await leafHash(entry), p.hashes.map(hex));
    if (!same(root, hex(p.root))) throw new Error("root mismatch");
    const lines = p.note.split("\n");
    if (Number(lines[1]) !== p.tree_size || !same(b64(lines[2]), root)) throw new Error("checkpoint does not match");
    let signed = "signature not checked";
    try {
      const key = await crypto.subtle.importKey("raw", b64(p.public_key), { name: "Ed25519" }, false, ["verify"]);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64(p.signature), new TextEncoder().encode(p.note));
      if (!ok) throw new Error("bad checkpoint signature");
      signed = "signed";
    } catch (e) {
      if (String(e.message).includes("bad checkpoint signature")) throw e;
    }
    cell.dataset.status = "verified";
    cell.textContent = `\u2713 verified (tree ${p.tree_size}, ${signed})`;
  } catch (e) {
    cell.dataset.status = "failed";
    cell.textContent = `\u2717 not verified: ${e.message}`;
  }
}

async function checkAll() {
  const cells = [...document.querySelectorAll("[data-proof]")];
  for (const c of cells) await checkProof(c);
  const summary = document.querySelector(".proof-summary");
  if (summary && cells.length) {
    const ok = cells.filter((c) => c.dataset.status === "verified").length;
    summary.textContent = `${ok} of ${cells.length} records verified.`;
    summary.dataset.verified = String(ok);
    summary.dataset.total = String(cells.length);
  }
}

function liveQueue() {
  const box = document.querySelector("[data-live]");
  if (!box) return;
  const refresh = async () => {
    const res = await fetch(box.dataset.live, { credentials: "same-origin" });
    if (res.ok) box.innerHTML = await res.text();
  };
  const events = new EventSource("/events");
  events.addEventListener("approvals", refresh);
  // Expiry countdowns move even when nothing else happens.
  setInterval(refresh, 15000);
}

document.addEventListener("DOMContentLoaded", () => { liveQueue(); checkAll(); });
