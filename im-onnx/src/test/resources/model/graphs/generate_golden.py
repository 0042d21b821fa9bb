#!/usr/bin/env python3
"""Golden data for CausalLmGraphs: tiny seeded models run by from-scratch PyTorch references.

The references follow transformers' semantics (LlamaForCausalLM, Qwen2ForCausalLM,
MistralForCausalLM, GPT2LMHeadModel; read for facts, not copied): RMSNorm in fp32, rotate_half
RoPE with llama3 frequency scaling, repeat_kv, GPT-2's Conv1D (x @ W, W [in, out]) and gelu_new.
Attention is allowed from i to j only if seg[i] == seg[j] != 0 and j <= i (and i - j < window for
Mistral); disallowed scores are replaced by -1e9 (as CausalLmGraphs.MASK_VALUE).

Writes, per variant, <variant>/config.json, <variant>/model.safetensors (F32) and
<variant>/expected.safetensors (logits [B, T, V]; for variants with gradients also loss [1] and
"grad.<name>" per parameter, from autograd of loss = sum(c * nll)); and inputs.json shared by all.

Run: /usr/bin/python3 generate_golden.py   (Debian python3-torch; CI does not need torch)
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MASK_VALUE = -1e9
IGNORE = -100

VOCAB, HIDDEN, LAYERS, HEADS, KV, INTER = 61, 32, 2, 4, 2, 48

VARIANTS = {
    "llama": dict(model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
                  intermediate_size=INTER, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                  num_key_value_heads=KV, max_position_embeddings=128, rms_norm_eps=1e-5,
                  rope_theta=10000.0, tie_word_embeddings=False, torch_dtype="float32"),
    "llama3_tied": dict(model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
                        intermediate_size=INTER, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, num_key_value_heads=KV,
                        max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0,
                        tie_word_embeddings=True, torch_dtype="float32",
                        # head 8: wavelengths 6.3, 63, 628, 6283 against high 64/4 = 16 and
                        # low 64/1 = 64: one kept, one smoothed, two divided by the factor
                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0,
                                          original_max_position_embeddings=64)),
    "qwen2": dict(model_type="qwen2", vocab_size=VOCAB, hidden_size=HIDDEN,
                  intermediate_size=INTER, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                  num_key_value_heads=KV, max_position_embeddings=128, rms_norm_eps=1e-6,
                  rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                  sliding_window=128, torch_dtype="float32"),
    "mistral": dict(model_type="mistral", vocab_size=VOCAB, hidden_size=HIDDEN,
                    intermediate_size=INTER, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                    num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5,
                    rope_theta=10000.0, tie_word_embeddings=False, sliding_window=3,
                    torch_dtype="float32"),
    # attention_bias (q, k, v and o biases) and head_dim 12 != hidden / heads
    "llama_bias_headdim": dict(model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
                               intermediate_size=INTER, num_hidden_layers=LAYERS,
                               num_attention_heads=HEADS, num_key_value_heads=KV, head_dim=12,
                               attention_bias=True, max_position_embeddings=128,
                               rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                               torch_dtype="float32"),
    "gpt2": dict(model_type="gpt2", vocab_size=VOCAB, n_positions=16, n_embd=HIDDEN,
                 n_layer=LAYERS, n_head=HEADS, n_inner=INTER, layer_norm_epsilon=1e-5,
                 activation_function="gelu_new", tie_word_embeddings=True),
}
WITH_GRADS = {"llama3_tied", "qwen2", "gpt2", "mistral"}

# Inputs: row 0 one full example, row 1 an example with a padding tail, row 2 three packed
# examples and one padding position.
EXAMPLES = [
    [5, 17, 42, 8, 60, 33, 1, 29],
    [7, 7, 50, 13, 2, 38],
    [11, 59, 3],
    [44, 20],
    [9, 31],
]
ROWS = [[0], [1], [2, 3, 4]]
T = 8


def build_inputs():
    ids, pos, seg, tgt = [], [], [], []
    for row in ROWS:
        r_ids, r_pos, r_seg, r_tgt = [], [], [], []
        for s, e in enumerate(row, start=1):
            ex = EXAMPLES[e]
            r_ids += ex
            r_pos += list(range(len(ex)))
            r_seg += [s] * len(ex)
            r_tgt += ex[1:] + [IGNORE]
        pad = T - len(r_ids)
        ids.append(r_ids + [0] * pad)
        pos.append(r_pos + [0] * pad)
        seg.append(r_seg + [0] * pad)
        tgt.append(r_tgt + [IGNORE] * pad)
    g = torch.Generator().manual_seed(7)
    coef = (torch.rand(len(ROWS), T, generator=g) + 0.25)
    coef = torch.where(torch.tensor(tgt) == IGNORE, torch.zeros(()), coef)
    return dict(input_ids=ids, position_ids=pos, segment_ids=seg, targets=tgt,
                coefficients=[[float(x) for x in r] for r in coef.tolist()],
                examples=EXAMPLES, rows=ROWS)


def param_specs(cfg):
    """(name, shape, kind) in transformers' module order; kind: matrix, norm or bias."""
    out = []
    if cfg["model_type"] == "gpt2":
        v, h, inner = cfg["vocab_size"], cfg["n_embd"], cfg["n_inner"]
        p = "transformer."
        out += [(p + "wte.weight", [v, h], "matrix"), (p + "wpe.weight", [cfg["n_positions"], h], "matrix")]
        for i in range(cfg["n_layer"]):
            l = f"{p}h.{i}."
            out += [(l + "ln_1.weight", [h], "norm"), (l + "ln_1.bias", [h], "bias"),
                    (l + "attn.c_attn.weight", [h, 3 * h], "matrix"), (l + "attn.c_attn.bias", [3 * h], "bias"),
                    (l + "attn.c_proj.weight", [h, h], "matrix"), (l + "attn.c_proj.bias", [h], "bias"),
                    (l + "ln_2.weight", [h], "norm"), (l + "ln_2.bias", [h], "bias"),
                    (l + "mlp.c_fc.weight", [h, inner], "matrix"), (l + "mlp.c_fc.bias", [inner], "bias"),
                    (l + "mlp.c_proj.weight", [inner, h], "matrix"), (l + "mlp.c_proj.bias", [h], "bias")]
        out += [(p + "ln_f.weight", [h], "norm"), (p + "ln_f.bias", [h], "bias")]
        return out
    v, h, inter = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"]
    d = cfg.get("head_dim", h // cfg["num_attention_heads"])
    q, kv = cfg["num_attention_heads"] * d, cfg["num_key_value_heads"] * d
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    out.append(("model.embed_tokens.weight", [v, h], "matrix"))
    for i in range(cfg["num_hidden_layers"]):
        l = f"model.layers.{i}."
        out.append((l + "input_layernorm.weight", [h], "norm"))
        for name, rows in (("q_proj", q), ("k_proj", kv), ("v_proj", kv)):
            out.append((l + f"self_attn.{name}.weight", [rows, h], "matrix"))
            if bias:
                out.append((l + f"self_attn.{name}.bias", [rows], "bias"))
        out.append((l + "self_attn.o_proj.weight", [h, q], "matrix"))
        if cfg.get("attention_bias", False):
            out.append((l + "self_attn.o_proj.bias", [h], "bias"))
        out += [
                (l + "post_attention_layernorm.weight", [h], "norm"),
                (l + "mlp.gate_proj.weight", [inter, h], "matrix"),
                (l + "mlp.up_proj.weight", [inter, h], "matrix"),
                (l + "mlp.down_proj.weight", [h, inter], "matrix")]
    out.append(("model.norm.weight", [h], "norm"))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", [v, h], "matrix"))
    return out


def init_params(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape, kind in param_specs(cfg):
        r = torch.randn(*shape, generator=g, dtype=torch.float32)
        if kind == "matrix":
            t = r * 0.15
        elif kind == "norm":
            t = 1.0 + 0.1 * r
        else:
            t = 0.1 * r
        params[name] = t.requires_grad_(True)
    return params


def allowed_mask(seg, window):
    """[B, 1, T, T] bool."""
    t = seg.shape[1]
    i = torch.arange(t).view(t, 1)
    j = torch.arange(t).view(1, t)
    ok = (seg[:, :, None] == seg[:, None, :]) & (seg[:, None, :] != 0) & (j <= i)
    if window is not None:
        ok = ok & (j > i - window)
    return ok[:, None]


def attend(q, k, v, ok):
    """q, k, v [B, N, T, D] -> [B, T, N * D]."""
    d = q.shape[-1]
    s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    s = s.masked_fill(~ok, MASK_VALUE)
    p = torch.softmax(s.float(), dim=-1)
    o = p @ v
    b, n, t, _ = o.shape
    return o.transpose(1, 2).reshape(b, t, n * d)


def rms_norm(x, w, eps):
    var = x.float().pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def inv_freq(cfg):
    d = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    base = cfg["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    assert rs["rope_type"] == "llama3"
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    lo_wl, hi_wl = old / lo, old / hi
    wl = 2 * math.pi / inv
    scaled = torch.where(wl > lo_wl, inv / factor, inv)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wl < hi_wl) & ~(wl > lo_wl)
    return torch.where(medium, smoothed, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_forward(cfg, P, ids, pos, seg, lora=None):
    """Logits [B, T, V]. lora: optional (scaling, {module: (A [r, in], B [out, r])}): each listed
    projection adds scaling * (x A^T) B^T, LoRA as PEFT computes it (no dropout)."""
    b, t = ids.shape
    n, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim", cfg["hidden_size"] // n)
    eps = cfg["rms_norm_eps"]
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    ok = allowed_mask(seg, cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None)
    freqs = pos.float()[:, :, None] * inv_freq(cfg)[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]

    def lin(x, name, with_bias):
        y = x @ P[name + ".weight"].t()
        y = y + P[name + ".bias"] if with_bias else y
        return y + adapter(lora, name, x)

    x = P["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        l = f"model.layers.{i}."
        h = rms_norm(x, P[l + "input_layernorm.weight"], eps)
        q = lin(h, l + "self_attn.q_proj", bias).view(b, t, n, d).transpose(1, 2)
        k = lin(h, l + "self_attn.k_proj", bias).view(b, t, kvh, d).transpose(1, 2)
        v = lin(h, l + "self_attn.v_proj", bias).view(b, t, kvh, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = n // kvh  # repeat_kv: head h uses kv head h // rep
        k = k[:, :, None].expand(b, kvh, rep, t, d).reshape(b, n, t, d)
        v = v[:, :, None].expand(b, kvh, rep, t, d).reshape(b, n, t, d)
        x = x + lin(attend(q, k, v, ok), l + "self_attn.o_proj", cfg.get("attention_bias", False))
        m = rms_norm(x, P[l + "post_attention_layernorm.weight"], eps)
        gate = lin(m, l + "mlp.gate_proj", False)
        x = x + lin(torch.nn.functional.silu(gate) * lin(m, l + "mlp.up_proj", False), l + "mlp.down_proj", False)
    x = rms_norm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    return x @ head.t()


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def adapter(lora, name, x):
    """LoRA's added output for module `name`, or 0 if it has no adapter."""
    if lora is None or name not in lora[1]:
        return 0
    a, b = lora[1][name]
    return lora[0] * ((x @ a.t()) @ b.t())


def gpt2_forward(cfg, P, ids, pos, seg, lora=None):
    """Logits [B, T, V]; lora as for llama_forward (A [r, in], B [out, r] for Conv1D too)."""
    b, t = ids.shape
    n, h = cfg["n_head"], cfg["n_embd"]
    d = h // n
    eps = cfg["layer_norm_epsilon"]
    ok = allowed_mask(seg, None)
    p = "transformer."

    def conv1d(x, name):
        return x @ P[name + ".weight"] + P[name + ".bias"] + adapter(lora, name, x)

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (h,), P[name + ".weight"], P[name + ".bias"], eps)

    x = P[p + "wte.weight"][ids] + P[p + "wpe.weight"][pos]
    for i in range(cfg["n_layer"]):
        l = f"{p}h.{i}."
        q, k, v = conv1d(ln(x, l + "ln_1"), l + "attn.c_attn").split(h, dim=-1)
        q, k, v = (z.view(b, t, n, d).transpose(1, 2) for z in (q, k, v))
        x = x + conv1d(attend(q, k, v, ok), l + "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, l + "ln_2"), l + "mlp.c_fc")), l + "mlp.c_proj")
    x = ln(x, p + "ln_f")
    return x @ P[p + "wte.weight"].t()


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


def main():
    torch.manual_seed(0)
    inputs = build_inputs()
    with open(os.path.join(HERE, "inputs.json"), "w") as f:
        json.dump(inputs, f, indent=1)
        f.write("\n")
    ids = torch.tensor(inputs["input_ids"])
    pos = torch.tensor(inputs["position_ids"])
    seg = torch.tensor(inputs["segment_ids"])
    tgt = torch.tensor(inputs["targets"])
    coef = torch.tensor(inputs["coefficients"], dtype=torch.float32)
    for seed, (name, cfg) in enumerate(VARIANTS.items(), start=100):
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1, sort_keys=True)
            f.write("\n")
        P = init_params(cfg, seed)
        fwd = gpt2_forward if cfg["model_type"] == "gpt2" else llama_forward
        logits = fwd(cfg, P, ids, pos, seg)
        expected = {"logits": logits}
        if name in WITH_GRADS:
            logp = torch.log_softmax(logits, dim=-1)
            nll = -logp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
            loss = (coef * nll).sum()
            loss.backward()
            expected["loss"] = loss.reshape(1)
            for pn, pt in P.items():
                expected["grad." + pn] = pt.grad
        write_safetensors(os.path.join(out, "model.safetensors"), P)
        write_safetensors(os.path.join(out, "expected.safetensors"), expected)
        print(name, "logits", tuple(logits.shape), "max|logit|", float(logits.abs().max()))


if __name__ == "__main__":
    main()
