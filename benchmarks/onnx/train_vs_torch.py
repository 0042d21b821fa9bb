#!/usr/bin/env python3
"""PyTorch peer of TrainStepBench: the same LLaMA / Qwen2 shape, built from its Hugging Face
config.json in plain torch (embedding, RMSNorm, RoPE, grouped-query attention with a causal mask,
SwiGLU MLP, tied or untied LM head as the config says, Qwen2's q/k/v bias, LLaMA's
attention_bias), seeded random init (normal(0, initializer_range), norms 1, biases 0), fp32,
torch.optim.AdamW(lr=2e-5) with torch's defaults otherwise (betas (0.9, 0.999), eps 1e-8,
weight_decay 0.01: the decay costs the same either way), torch.set_num_threads(threads).
Each step trains rows x seqLen seeded random ids; loss = mean cross-entropy over every
next-token target (rows x (seqLen - 1)). Debian's torch 1.13 has no
scaled_dot_product_attention, so attention is matmul + masked softmax. Debian's torch multiplies
through OpenBLAS: run it with OPENBLAS_NUM_THREADS=threads and OMP_WAIT_POLICY=PASSIVE (as
train_vs_torch.sh does), or OpenMP's spinning workers starve OpenBLAS's and a step takes ~2x.

LoRA (--lora-r=N): every attention and MLP projection becomes base(x) + s * (x A^T) B^T with A
[N, in] Kaiming-uniform (PEFT's kaiming_uniform_(a=sqrt(5))), B [out, N] zero, s = alpha / N
(--lora-alpha=X, default 8 as PEFT's); every base parameter is frozen (requires_grad False) and
AdamW holds the adapters only, as PEFT sets it up.

Usage:
  train_vs_torch.py <config.json> <steps> <rows> <seqLen> <threads> [--gradient-checkpointing]
                    [--lora-r=N [--lora-alpha=X]]
    prints: RESULT torch config= params= steps= rows= seq= threads= init_s= first_step_s=
            first_step_run_s= median_step_s= tokens_per_s= hwm_mib= last_loss= recompute=
            trainable= lora_r=
    (--gradient-checkpointing: each block through torch.utils.checkpoint, keeping its input only)
    (init_s: from the script's first line, torch import included, to the start of step 1;
     first_step_s: to the end of step 1; median_step_s: median of steps 2..N)
  train_vs_torch.py peak <threads>
    prints: PEAK torch threads= n=2048 gflops=   (median of 10 timed 2048x2048 fp32 matmuls)
"""
import time

START = time.perf_counter()

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.utils.checkpoint  # noqa: E402
from torch import nn  # noqa: E402

SEED = 1234
LEARNING_RATE = 2e-5


class Shape:
    """The fields of a LLaMA / Qwen2 config.json this model reads, with HF's defaults."""

    def __init__(self, cfg):
        model_type = cfg["model_type"]
        if model_type not in ("llama", "qwen2"):
            raise ValueError(f"model_type must be llama or qwen2 but was {model_type}")
        self.vocab = cfg["vocab_size"]
        self.hidden = cfg["hidden_size"]
        self.intermediate = cfg["intermediate_size"]
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads") or self.heads
        self.head_dim = cfg.get("head_dim") or self.hidden // self.heads
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.theta = cfg.get("rope_theta", 10000.0)
        self.tied = cfg.get("tie_word_embeddings", model_type == "qwen2")
        attention_bias = cfg.get("attention_bias", False)
        self.qkv_bias = model_type == "qwen2" or attention_bias
        self.o_bias = model_type != "qwen2" and attention_bias
        self.init_std = cfg.get("initializer_range", 0.02)
        if cfg.get("rope_scaling"):
            raise ValueError("rope_scaling is not supported by this peer")
        if cfg.get("hidden_act", "silu") != "silu":
            raise ValueError(f"hidden_act must be silu but was {cfg['hidden_act']}")


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))  # [dim]
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.q = nn.Linear(s.hidden, s.heads * s.head_dim, bias=s.qkv_bias)
        self.k = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=s.qkv_bias)
        self.v = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=s.qkv_bias)
        self.o = nn.Linear(s.heads * s.head_dim, s.hidden, bias=s.o_bias)

    def forward(self, x, cos, sin, mask):
        s = self.s
        b, t, _ = x.shape
        q = self.q(x).view(b, t, s.heads, s.head_dim).transpose(1, 2)  # [b, heads, t, head_dim]
        k = self.k(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)  # [b, kv, t, head_dim]
        v = self.v(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)  # [b, kv, t, head_dim]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = s.heads // s.kv_heads
        k = k.repeat_interleave(group, dim=1)  # [b, heads, t, head_dim]
        v = v.repeat_interleave(group, dim=1)  # [b, heads, t, head_dim]
        scores = q @ k.transpose(-1, -2) / math.sqrt(s.head_dim) + mask  # [b, heads, t, t]
        out = torch.softmax(scores, dim=-1) @ v  # [b, heads, t, head_dim]
        return self.o(out.transpose(1, 2).reshape(b, t, s.heads * s.head_dim))


class Mlp(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.gate = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down = nn.Linear(s.intermediate, s.hidden, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.attn_norm = RmsNorm(s.hidden, s.eps)
        self.attn = Attention(s)
        self.mlp_norm = RmsNorm(s.hidden, s.eps)
        self.mlp = Mlp(s)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.mlp(self.mlp_norm(x))


class CausalLm(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.recompute = False
        self.embed = nn.Embedding(s.vocab, s.hidden)  # [vocab, hidden]
        self.blocks = nn.ModuleList(Block(s) for _ in range(s.layers))
        self.norm = RmsNorm(s.hidden, s.eps)
        self.head = None if s.tied else nn.Linear(s.hidden, s.vocab, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, s.init_std)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, ids):
        """Logits of the next token at positions 0..t-2 (the last position has no target)."""
        s = self.s
        t = ids.shape[1]
        inv_freq = 1.0 / (s.theta ** (torch.arange(0, s.head_dim, 2).float() / s.head_dim))
        freqs = torch.outer(torch.arange(t).float(), inv_freq)  # [t, head_dim / 2]
        angles = torch.cat((freqs, freqs), dim=-1)  # [t, head_dim]
        cos, sin = angles.cos(), angles.sin()
        mask = torch.full((t, t), float("-inf")).triu(1)  # [t, t]
        x = self.embed(ids)  # [b, t, hidden]
        for block in self.blocks:
            if self.recompute:  # torch.utils.checkpoint: keep only the block's input
                x = torch.utils.checkpoint.checkpoint(block, x, cos, sin, mask)
            else:
                x = block(x, cos, sin, mask)
        x = self.norm(x[:, :-1])  # [b, t - 1, hidden]: slicing here, not the logits, saves a copy
        weight = self.embed.weight if self.head is None else self.head.weight  # [vocab, hidden]
        return x @ weight.t()  # [b, t - 1, vocab]


class LoraLinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank update, as PEFT's LoRA Linear computes it."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.empty(r, base.in_features))  # [r, in]
        self.b = nn.Parameter(torch.zeros(base.out_features, r))  # [out, r]
        nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + ((x @ self.a.t()) * self.scaling) @ self.b.t()


def add_lora(model, r, alpha):
    for p in model.parameters():
        p.requires_grad_(False)
    for block in model.blocks:
        for owner, names in ((block.attn, ("q", "k", "v", "o")), (block.mlp, ("gate", "up", "down"))):
            for n in names:
                setattr(owner, n, LoraLinear(getattr(owner, n), r, alpha))


def hwm_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def train(config_path, steps, rows, seq_len, threads, recompute=False, lora_r=0, lora_alpha=8.0):
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (step 1 is timed apart) but was {steps}")
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    with open(config_path) as f:
        s = Shape(json.load(f))
    model = CausalLm(s)
    model.recompute = recompute
    if lora_r:
        add_lora(model, lora_r, lora_alpha)
    params = sum(p.numel() for p in model.parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=LEARNING_RATE)
    data = torch.Generator().manual_seed(SEED)
    ends = []
    loss = None
    step_start = time.perf_counter()
    init_s = step_start - START
    for _ in range(steps):
        ids = torch.randint(0, s.vocab, (rows, seq_len), generator=data)  # [rows, seqLen]
        logits = model(ids)  # [rows, seqLen - 1, vocab]
        loss = F.cross_entropy(logits.reshape(-1, s.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ends.append(time.perf_counter())
    median = statistics.median(b - a for a, b in zip(ends, ends[1:]))
    print(
        f"RESULT torch config={os.path.basename(config_path)} params={params} steps={steps}"
        f" rows={rows} seq={seq_len} threads={threads} init_s={init_s:.3f}"
        f" first_step_s={ends[0] - START:.3f} first_step_run_s={ends[0] - step_start:.3f}"
        f" median_step_s={median:.4f} tokens_per_s={rows * seq_len / median:.1f}"
        f" hwm_mib={hwm_mib()} last_loss={loss.item():.4f} recompute={int(recompute)}"
        f" trainable={sum(p.numel() for p in trainable)} lora_r={lora_r}",
        flush=True)


def peak(threads, n=2048, runs=10):
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    a = torch.randn(n, n)  # [n, n]
    b = torch.randn(n, n)  # [n, n]
    for _ in range(2):
        a @ b
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    gflops = 2 * n ** 3 / statistics.median(times) / 1e9
    print(f"PEAK torch threads={threads} n={n} gflops={gflops:.1f}", flush=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "peak":
        peak(int(argv[2]))
    elif len(argv) >= 6:
        flags = dict(a.split("=", 1) if "=" in a else (a, "1") for a in argv[6:])
        unknown = set(flags) - {"--gradient-checkpointing", "--lora-r", "--lora-alpha"}
        if unknown:
            sys.exit(f"unknown flags {sorted(unknown)}\n{__doc__}")
        train(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]),
              "--gradient-checkpointing" in flags, int(flags.get("--lora-r", 0)),
              float(flags.get("--lora-alpha", 8.0)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
