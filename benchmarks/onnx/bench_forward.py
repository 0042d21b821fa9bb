#!/usr/bin/env python3
"""PyTorch twin of ForwardBenchmark: the same LLaMA configs and shapes, run by the from-scratch
reference forward of im-onnx/src/test/resources/model/graphs/generate_golden.py (causal +
segment mask, RoPE, GQA, SwiGLU), fp32, torch.set_num_threads(threads), under
torch.inference_mode().

Usage: bench_forward.py small|base [threads]
Prints: RESULT torch <size> <B>x<T> <tokens/s> <peak RSS MiB>
"""
import os
import resource
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(
    0, os.path.join(HERE, "..", "..", "im-onnx", "src", "test", "resources", "model", "graphs"))
import generate_golden as ref  # noqa: E402

CONFIGS = {
    "small": dict(model_type="llama", vocab_size=8192, hidden_size=384, intermediate_size=1024,
                  num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=2,
                  max_position_embeddings=1024, rms_norm_eps=1e-6, rope_theta=10000.0,
                  tie_word_embeddings=True),
    "base": dict(model_type="llama", vocab_size=32000, hidden_size=768, intermediate_size=2048,
                 num_hidden_layers=8, num_attention_heads=12, num_key_value_heads=4,
                 max_position_embeddings=1024, rms_norm_eps=1e-6, rope_theta=10000.0,
                 tie_word_embeddings=False),
}


def main():
    size = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    cfg = CONFIGS[size]
    params = {k: v.detach() for k, v in ref.init_params(cfg, 1).items()}
    n = sum(p.numel() for p in params.values())
    print(f"torch {size}: {n:,} parameters, {threads} threads, torch {torch.__version__}")
    g = torch.Generator().manual_seed(42)
    for b, t in ((1, 512), (8, 256)):
        ids = torch.randint(0, cfg["vocab_size"], (b, t), generator=g)
        pos = torch.arange(t).repeat(b, 1)
        seg = torch.ones(b, t, dtype=torch.int64)
        times = []
        with torch.inference_mode():
            for i in range(4):
                t0 = time.perf_counter()
                logits = ref.llama_forward(cfg, params, ids, pos, seg)
                if i > 0:
                    times.append(time.perf_counter() - t0)
        assert torch.isfinite(logits[0, 0, 0])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"RESULT torch {size} {b}x{t} {b * t / statistics.median(times):.1f} {rss:.0f}")


if __name__ == "__main__":
    main()
