#!/usr/bin/env python3
"""Golden data for OneStepGoldenTest: one whole optimizer step of a tiny model in PyTorch.

One step = two micro-batches (gradient accumulation) of three tulu-style conversations, loss
sum(c * nll) with SEQUENCE_MEAN coefficients over the whole step, then one AdamW update. Done for
IT (loss on assistant tokens and their </s>) and IM (also on system and user content; never on
BOS, role headers or separators), on two models: a LLaMA with GQA and an untied head, and a GPT-2
with a tied head. The forward passes are generate_golden.py's from-scratch references (imported,
not copied).

Everything the Java side rebuilds is derived here independently of im4j:
  * tokens: a hand-writable vocabulary (VOCAB), conversations rendered in the tulu format
    (the paper's Tulu format, docs/user-guide.md: "<|user|>\\n{content}\\n", "<|assistant|>\\n{content}</s>\\n", the whole string
    stripped, BOS added by the tokenizer), each token labelled template/system/user/assistant/
    terminator;
  * weights: IT = 1 on assistant + terminator, IM = 1 on system + user + assistant + terminator;
  * layout: the rows are stated (ROWS), one row per micro-batch, segments packed in a row, the label
    shift inside each segment, padding on the right to a multiple of 8;
  * coefficients (the paper's SEQUENCE_MEAN): c = w / (E * sum of w over the example's predicted
    positions), E = examples with positive predicted weight in the step, computed in double and
    rounded to float32 as StepCoefficients.of does.

AdamW: ONNX Runtime's AdamWOptimizer in mode 1 is not torch.optim.AdamW. ORT mode 1 (CPU kernel,
training_ops/cpu/optimizer/adamw/adamw.cc), at step t:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
    w = w - lr_t * m / (sqrt(v) + eps)          (eps added to the *uncorrected* sqrt(v))
    w = w - lr * wd * w                          (decay after the update, on the updated weight)
torch.optim.AdamW (1.13): w = w * (1 - lr * wd) first, then
    w = w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
ORT's mode 0 is torch.optim.AdamW's formula. Both are recorded: "adamw.<name>" is ORT's mode-1
formula written out below in torch float32, the same operation order as the kernel (the golden of
im4j's AdamWConfig.Variant.HUGGING_FACE_LEGACY); "torch_adamw.<name>" is torch.optim.AdamW's own
step (the golden of Variant.TORCH, ORT's mode 0).

Writes step.json (vocabulary, conversations, layout, coefficients per policy, hyper-parameters)
and, per model, <model>/config.json, <model>/model.safetensors (F32, the initial weights) and
<model>/expected_<policy>.safetensors: loss [1], micro_loss [2], grad.<name>, adamw.<name>,
torch_adamw.<name>.

LoRA: the same step with adapters on every attention and MLP projection (LORA below: rank,
alpha, rsLoRA per model; scaling alpha / r, or alpha / sqrt(r)), the base weights frozen. The
adapters are given, not PEFT-initialised: A and B drawn from N(0, 0.1^2), so that B is not zero and
A has a gradient. <model>/lora_adapters.safetensors holds them (<module>.lora_A.weight [r, in],
<module>.lora_B.weight [out, r], also for GPT-2's Conv1D projections) and
<model>/expected_lora_<policy>.safetensors the loss, micro_loss, and grad./adamw./torch_adamw. of
each adapter tensor; the forward passes add scaling * (x A^T) B^T to each projection
(generate_golden.py's adapter()).

Run: /usr/bin/python3 generate.py   (Debian python3-torch; CI does not need torch). Another machine
or BLAS build changes the float results in their last bits (about 1e-6 relative); the committed
non-LoRA expected files predate the LoRA part and were kept as they were.
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "graphs"))
import generate_golden as ref  # noqa: E402  (forward passes, init, safetensors writer)

IGNORE = -100
PAD_MULTIPLE = 8
MAX_LENGTH = 24

# Token strings; ids are list indices. <pad> and <s> have no characters (BOS is added by the
# tokenizer), </s> is the only special token that can close an assistant turn.
VOCAB = ["<pad>", "<s>", "</s>", "<|system|>\n", "<|user|>\n", "<|assistant|>\n", "\n"] + [
    chr(ord("a") + i) for i in range(17)]
PAD, BOS, EOS, SYSTEM_HEADER, USER_HEADER, ASSISTANT_HEADER, NEWLINE = range(7)
HEADERS = {"system": SYSTEM_HEADER, "user": USER_HEADER, "assistant": ASSISTANT_HEADER}
V = len(VOCAB)  # 24


def words(text):
    return [VOCAB.index(ch) for ch in text]


# Three conversations: system + user + assistant; two user/assistant turns; one short turn.
CONVERSATIONS = [
    [("system", "ab"), ("user", "cde"), ("assistant", "fgh")],
    [("user", "ijkl"), ("assistant", "mn"), ("user", "op"), ("assistant", "q")],
    [("user", "bd"), ("assistant", "e")],
]
# Rows (= micro-batches here) as lists of conversation indices, what the Collator's best-fit
# decreasing packing gives for lengths 15, 19, 8 into rows of 24: [19], then [15, 8].
ROWS = [[1], [0, 2]]

POLICIES = {
    "it": {"template": 0.0, "system": 0.0, "user": 0.0, "assistant": 1.0, "terminator": 1.0},
    "im": {"template": 0.0, "system": 1.0, "user": 1.0, "assistant": 1.0, "terminator": 1.0},
}

LR, BETA1, BETA2, EPS, WEIGHT_DECAY = 1e-2, 0.9, 0.999, 1e-8, 0.1

MODELS = {
    # GQA (4 query heads on 2 key/value heads, head 4), untied head
    "llama": dict(model_type="llama", vocab_size=V, hidden_size=16, intermediate_size=24,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                  tie_word_embeddings=False, torch_dtype="float32"),
    # tied head, learned positions
    "gpt2": dict(model_type="gpt2", vocab_size=V, n_positions=32, n_embd=16, n_layer=1, n_head=2,
                 n_inner=32, layer_norm_epsilon=1e-5, activation_function="gelu_new",
                 tie_word_embeddings=True),
}


def tokenize(conversation):
    """Renders tulu and tokenizes: (ids, kinds), kinds template/system/user/assistant/terminator."""
    ids, kinds = [BOS], ["template"]
    for role, content in conversation:
        ids.append(HEADERS[role])
        kinds.append("template")
        for t in words(content):
            ids.append(t)
            kinds.append(role)
        if role == "assistant":
            ids.append(EOS)
            kinds.append("terminator")
        ids.append(NEWLINE)
        kinds.append("template")
    assert ids[-1] == NEWLINE  # the whole string is stripped: the final "\n" goes
    return ids[:-1], kinds[:-1]


def layout(policy):
    """One micro-batch per row: ids, positions, segments, targets [1, T] and coefficients."""
    examples = [tokenize(c) for c in CONVERSATIONS]
    weights = [[POLICIES[policy][k] for k in kinds] for _, kinds in examples]
    # predicted weight per example: tokens 1..n-1 (token 0 is never a target)
    sums = [sum(w[1:]) for w in weights]
    counted = sum(1 for s in sums if s > 0)
    batches = []
    for row in ROWS:
        ids, pos, seg, tgt, coef = [], [], [], [], []
        for s, e in enumerate(row, start=1):
            x, w = examples[e][0], weights[e]
            ids += x
            pos += list(range(len(x)))
            seg += [s] * len(x)
            tgt += x[1:] + [IGNORE]
            scale = 1.0 / (counted * sums[e])
            # the coefficient of cell t weighs the prediction of token t + 1
            coef += [float(torch.tensor(wt * scale, dtype=torch.float32)) for wt in w[1:]] + [0.0]
        assert len(ids) <= MAX_LENGTH
        t = -(-len(ids) // PAD_MULTIPLE) * PAD_MULTIPLE
        pad = t - len(ids)
        batches.append(dict(input_ids=[ids + [PAD] * pad], position_ids=[pos + [0] * pad],
                            segment_ids=[seg + [0] * pad], targets=[tgt + [IGNORE] * pad],
                            coefficients=[coef + [0.0] * pad]))
    return batches


LORA = {"llama": dict(r=4, alpha=8.0, use_rslora=False), "gpt2": dict(r=4, alpha=8.0, use_rslora=True)}
LORA_TARGETS = {"llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                "gpt2": ["c_attn", "c_proj", "c_fc"]}


def lora_adapters(name, cfg, params, seed):
    """Given adapters for every targeted projection: {module: (A [r, in], B [out, r])}."""
    g = torch.Generator().manual_seed(seed)
    r = LORA[name]["r"]
    out = {}
    for n, p in params.items():
        module = n[: -len(".weight")]
        if p.dim() != 2 or not n.endswith(".weight") or module.split(".")[-1] not in LORA_TARGETS[name]:
            continue
        fan_in, fan_out = (p.shape[0], p.shape[1]) if cfg["model_type"] == "gpt2" else (p.shape[1], p.shape[0])
        a = (0.1 * torch.randn(r, fan_in, generator=g)).requires_grad_(True)
        b = (0.1 * torch.randn(fan_out, r, generator=g)).requires_grad_(True)
        out[module] = (a, b)
    return out


def lora_scaling(name):
    c = LORA[name]
    return c["alpha"] / (math.sqrt(c["r"]) if c["use_rslora"] else c["r"])


def step_loss(cfg, params, batches, lora=None):
    fwd = ref.gpt2_forward if cfg["model_type"] == "gpt2" else ref.llama_forward
    micro = []
    for b in batches:
        logits = fwd(cfg, params, torch.tensor(b["input_ids"]), torch.tensor(b["position_ids"]),
                     torch.tensor(b["segment_ids"]), lora)
        tgt = torch.tensor(b["targets"])
        logp = torch.log_softmax(logits, dim=-1)
        nll = -logp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
        micro.append((torch.tensor(b["coefficients"], dtype=torch.float32) * nll).sum())
    return micro


def ort_adamw(w, g, t=1):
    """ONNX Runtime's AdamWOptimizer, adam_mode 1, correct_bias 1, from zero moments, in float32."""
    f32 = torch.float32
    b1, b2 = torch.tensor(BETA1, dtype=f32), torch.tensor(BETA2, dtype=f32)
    lr, eps, wd = (torch.tensor(x, dtype=f32) for x in (LR, EPS, WEIGHT_DECAY))
    m = b1 * torch.zeros_like(g) + (1 - b1) * g
    v = b2 * torch.zeros_like(g) + (1 - b2) * g * g
    alpha_correction = 1 - torch.tensor(float(b1) ** t, dtype=f32)  # 1 - b1^t, rounded to float
    beta_correction = 1 - torch.tensor(float(b2) ** t, dtype=f32)
    lr_t = lr * (torch.sqrt(beta_correction) / alpha_correction)
    w = w - lr_t * m / (torch.sqrt(v) + eps)  # eps on the uncorrected sqrt(v)
    return w - lr * wd * w  # decoupled decay on the already updated weight


def torch_adamw(params, grads):
    copies = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    for n, p in copies.items():
        p.grad = grads[n].clone()
    opt = torch.optim.AdamW(list(copies.values()), lr=LR, betas=(BETA1, BETA2), eps=EPS,
                            weight_decay=WEIGHT_DECAY)
    opt.step()
    return {n: p.detach() for n, p in copies.items()}


def main():
    torch.manual_seed(0)
    step = dict(vocab=VOCAB, conversations=[[list(m) for m in c] for c in CONVERSATIONS],
                rows=ROWS, max_length=MAX_LENGTH, pad_multiple=PAD_MULTIPLE,
                adamw=dict(lr=LR, beta1=BETA1, beta2=BETA2, epsilon=EPS, weight_decay=WEIGHT_DECAY),
                lora={n: dict(c, target_modules=LORA_TARGETS[n]) for n, c in LORA.items()},
                tokens=[tokenize(c)[0] for c in CONVERSATIONS],
                kinds=[tokenize(c)[1] for c in CONVERSATIONS],
                policies={p: layout(p) for p in POLICIES})
    with open(os.path.join(HERE, "step.json"), "w") as f:
        json.dump(step, f, indent=1)
        f.write("\n")
    for seed, (name, cfg) in enumerate(MODELS.items(), start=300):
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1, sort_keys=True)
            f.write("\n")
        params = ref.init_params(cfg, seed)
        ref.write_safetensors(os.path.join(out, "model.safetensors"), params)
        for policy in POLICIES:
            for p in params.values():
                p.grad = None
            micro = step_loss(cfg, params, step["policies"][policy])
            loss = micro[0] + micro[1]
            loss.backward()
            grads = {n: p.grad.detach().clone() for n, p in params.items()}
            expected = {"loss": loss.detach().reshape(1),
                        "micro_loss": torch.stack([m.detach() for m in micro])}
            official = torch_adamw(params, grads)
            worst = 0.0
            for n, p in params.items():
                expected["grad." + n] = grads[n]
                expected["adamw." + n] = ort_adamw(p.detach(), grads[n])
                expected["torch_adamw." + n] = official[n]
                worst = max(worst, float((expected["adamw." + n] - official[n]).abs().max()))
            ref.write_safetensors(os.path.join(out, f"expected_{policy}.safetensors"), expected)
            print(f"{name} {policy}: loss {float(loss):.6f} micro {[round(float(m), 6) for m in micro]}"
                  f" max|ORT AdamW - torch.optim.AdamW| {worst:.3g}")
        lora_step(name, cfg, params, step, out, seed)


def lora_step(name, cfg, params, step, out, seed):
    """The LoRA fixtures of one model: given adapters, then one step per policy on them only."""
    frozen = {n: p.detach() for n, p in params.items()}  # no gradient for the base
    adapters = lora_adapters(name, cfg, frozen, seed + 1000)
    tensors = {}
    for module, (a, b) in adapters.items():
        tensors[module + ".lora_A.weight"] = a
        tensors[module + ".lora_B.weight"] = b
    ref.write_safetensors(os.path.join(out, "lora_adapters.safetensors"),
                          {n: t.detach() for n, t in tensors.items()})
    for policy in POLICIES:
        for t in tensors.values():
            t.grad = None
        micro = step_loss(cfg, frozen, step["policies"][policy], (lora_scaling(name), adapters))
        loss = micro[0] + micro[1]
        loss.backward()
        grads = {n: t.grad.detach().clone() for n, t in tensors.items()}
        expected = {"loss": loss.detach().reshape(1),
                    "micro_loss": torch.stack([m.detach() for m in micro])}
        official = torch_adamw(tensors, grads)
        for n, t in tensors.items():
            expected["grad." + n] = grads[n]
            expected["adamw." + n] = ort_adamw(t.detach(), grads[n])
            expected["torch_adamw." + n] = official[n]
        ref.write_safetensors(os.path.join(out, f"expected_lora_{policy}.safetensors"), expected)
        print(f"{name} LoRA {policy}: loss {float(loss):.6f}")


if __name__ == "__main__":
    main()
