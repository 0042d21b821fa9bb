#!/usr/bin/env python3
"""Fixtures for importing graphs exported by PyTorch's ONNX exporter (TorchExportImportTest).

Two tiny decoders written from scratch in torch (not transformers):

* gpt2: token + learned position embeddings, pre-LayerNorm blocks, one fused qkv Linear split
  three ways, a causal mask built in the graph (tril of ones + masked_fill), GELU (tanh
  approximation in layer 0 as GPT-2 uses, exact erf form in layer 1), MLP, residuals, a final
  LayerNorm and an LM head tied to the token embedding.
* llama: RMSNorm written as x * rsqrt(mean(x^2) + eps) * w, rotate_half RoPE with cos/sin
  computed from the positions in the graph, grouped-query attention (4 query heads over 2 key /
  value heads, repeated with expand + reshape), an additive causal mask (triu of a filled
  tensor), SwiGLU MLP and an untied head.

Each model is exported twice with torch.onnx.export (export_params=True,
keep_initializers_as_inputs=False, do_constant_folding=False so every parameter stays an
initializer under its PyTorch name and the exporter's legacy forms reach the importer):
at opset 14 (the exporter's default in torch 1.13; static shapes) and at opset 17 (dynamic batch
and sequence axes). Files: <model>_opset<N>.onnx.

<model>.json holds, for the float32 weights exported, the inputs (input_ids, targets,
coefficients), the logits and, for L = sum_i c_i * (-log softmax(logits_i)[target_i]) (targets
< 0 only with c_i = 0, clamped to 0 as WeightedCrossEntropy does), L and dL/dp for every
parameter keyed by its ONNX initializer name. The references run in float64 on the same weights
(the exported float32 values, widened), so the golden values carry no float32 rounding; tensors
are {"shape": [...], "values": [row-major]}.

Run: /usr/bin/python3 generate.py   (Debian python3-torch 1.13 and python3-onnx; CI needs neither)
"""
import json
import math
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
IGNORE = -100
B = 2


class GptBlock(nn.Module):
    def __init__(self, d, heads, exact_gelu):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.exact_gelu = exact_gelu
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)  # weight (3d, d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):  # x (b, t, d)
        b, t, d = x.shape
        hd = self.hd
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q = q.view(b, t, self.heads, hd).transpose(1, 2)  # (b, h, t, hd)
        k = k.view(b, t, self.heads, hd).transpose(1, 2)
        v = v.view(b, t, self.heads, hd).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(hd)  # (b, h, t, t)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=x.device))  # (t, t)
        scores = scores.masked_fill(~causal, torch.finfo(torch.float32).min)
        ctx = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(ctx)
        h = self.c_fc(self.ln_2(x))
        h = F.gelu(h) if self.exact_gelu else F.gelu(h, approximate="tanh")
        return x + self.mlp_proj(h)


class Gpt2(nn.Module):
    def __init__(self, vocab=23, positions=8, d=16, heads=2, layers=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.h = nn.ModuleList(GptBlock(d, heads, exact_gelu=i % 2 == 1) for i in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):  # (b, t) -> (b, t, vocab)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied head


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, kv_heads, inter, theta):
        super().__init__()
        self.heads, self.kv_heads, self.hd, self.theta = heads, kv_heads, d // heads, theta
        self.input_layernorm = RmsNorm(d)
        self.q_proj = nn.Linear(d, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, d, bias=False)
        self.post_attention_layernorm = RmsNorm(d)
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):  # x (b, t, d)
        b, t, _ = x.shape
        hd, rep = self.hd, self.heads // self.kv_heads
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, hd).transpose(1, 2)  # (b, h, t, hd)
        k = self.k_proj(h).view(b, t, self.kv_heads, hd).transpose(1, 2)  # (b, kv, t, hd)
        v = self.v_proj(h).view(b, t, self.kv_heads, hd).transpose(1, 2)
        # RoPE: cos and sin from the positions, in the graph
        pos = torch.arange(t, device=x.device).to(x.dtype)  # (t)
        inv_freq = 1.0 / self.theta ** (
            torch.arange(0, hd, 2, device=x.device).to(x.dtype) / hd)  # (hd/2)
        freqs = pos[:, None] * inv_freq[None, :]  # (t, hd/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (t, hd)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # grouped-query attention: repeat each key / value head
        k = k[:, :, None, :, :].expand(b, self.kv_heads, rep, t, hd).reshape(b, self.heads, t, hd)
        v = v[:, :, None, :, :].expand(b, self.kv_heads, rep, t, hd).reshape(b, self.heads, t, hd)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd)  # (b, h, t, t)
        mask = torch.full((t, t), torch.finfo(torch.float32).min, device=x.device).triu(1)
        probs = (scores + mask.to(x.dtype)).softmax(dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(b, t, self.heads * hd)
        x = x + self.o_proj(ctx)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, vocab=29, d=16, heads=4, kv_heads=2, inter=24, layers=2, theta=10000.0):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(
            LlamaBlock(d, heads, kv_heads, inter, theta) for _ in range(layers))
        self.norm = RmsNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


def randomise(model, gen):
    """Seeded weights: norm scales near 1, non-zero biases, matrices of std 1/sqrt(fan_in) and
    embeddings of std 0.5, so activations stay near unit scale and no gradient is degenerate."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:  # norm scales
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif "wte" in name or "wpe" in name or "embed" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:  # Linear weight (out, in)
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))


def flat(t):
    return {"shape": list(t.shape), "values": [float("%.9g" % x) for x in t.reshape(-1).tolist()]}


def golden(model, ids, targets, coefficients):
    """Logits, loss and parameter gradients in float64 from the float32 weights."""
    ref = build(NAMES[type(model)])
    ref.load_state_dict(model.state_dict())
    ref = ref.double()
    logits = ref(ids)  # (b, t, v)
    logp = logits.log_softmax(-1)
    nll = -logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0]  # (b, t)
    loss = (coefficients.double() * nll).sum()
    loss.backward()
    grads = {name: p.grad for name, p in ref.named_parameters()}
    return logits.detach(), loss.detach(), grads


NAMES = {Gpt2: "gpt2", Llama: "llama"}


def build(name):
    return Gpt2() if name == "gpt2" else Llama()


def export(model, ids, path, opset, dynamic):
    torch.onnx.export(
        model, (ids,), path,
        input_names=["input_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                      "logits": {0: "batch", 1: "seq"}} if dynamic else None,
        opset_version=opset, export_params=True, keep_initializers_as_inputs=False,
        do_constant_folding=False)


def check_initializers(path, params):
    """Every parameter is an initializer under its name, and every float initializer a parameter."""
    m = onnx.load(path)
    onnx.checker.check_model(m)
    inits = {t.name: t for t in m.graph.initializer}
    missing = [n for n in params if n not in inits]
    if missing:
        raise SystemExit(f"{path}: parameters without an initializer: {missing}")
    extra = [n for n, t in inits.items()
             if t.data_type == onnx.TensorProto.FLOAT and n not in params]
    if extra:
        raise SystemExit(f"{path}: float initializers that are no parameter: {extra}")
    for n, t in inits.items():
        if n in params and list(t.dims) != list(params[n].shape):
            raise SystemExit(f"{path}: initializer {n} has dims {list(t.dims)}")


def main():
    torch.manual_seed(0)
    for name, vocab, seq in (("gpt2", 23, 6), ("llama", 29, 7)):
        gen = torch.Generator().manual_seed(1234 if name == "gpt2" else 4321)
        model = build(name)
        randomise(model, gen)
        model.eval()
        ids = torch.randint(0, vocab, (B, seq), generator=gen)  # (b, t)
        targets = torch.randint(0, vocab, (B, seq), generator=gen)
        coefficients = torch.rand((B, seq), generator=gen, dtype=torch.float32) + 0.25
        coefficients[0, 1] = 0.0
        coefficients[1, 0] = 0.0
        targets[1, 0] = IGNORE  # ignored positions come with a zero coefficient
        coefficients[1, seq - 1] = 0.0

        # the parameters under their export names: a tied weight appears once
        params = dict(model.named_parameters())
        for opset, dynamic in ((14, False), (17, True)):
            path = os.path.join(HERE, f"{name}_opset{opset}.onnx")
            export(model, ids, path, opset, dynamic)
            check_initializers(path, params)

        logits, loss, grads = golden(model, ids, targets, coefficients)
        with torch.no_grad():
            fp32 = model(ids)
        drift = (fp32.double() - logits).abs().max().item()
        if drift > 1e-4:
            raise SystemExit(f"{name}: float32 logits differ from float64 by {drift}")
        out = {
            "model": name,
            "input_ids": ids.tolist(),
            "targets": targets.tolist(),
            "coefficients": [[float("%.9g" % c) for c in row] for row in coefficients.tolist()],
            "logits": flat(logits),
            "loss": float("%.12g" % loss.item()),
            "gradients": {n: flat(grads[n]) for n in params},
        }
        with open(os.path.join(HERE, f"{name}.json"), "w") as f:
            json.dump(out, f, indent=None, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
