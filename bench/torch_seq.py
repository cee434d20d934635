#!/usr/bin/env python3
"""PyTorch side of the long-context benchmark (bench/seq.ts).

    /usr/bin/python3 bench/torch_seq.py --seq 4096 [--threads 2] [--steps 3] [--warmup 1]

The same work as bench/seq-step.ts: a GPT-2 style decoder of 4 layers x 256 (4 heads, vocabulary 65,
learned positions, pre-LayerNorm, exact GELU, tied head, dropout 0) trained on random batches of
1 x T tokens: forward, cross-entropy, backward, clip_grad_norm_(1.0), AdamW (decay on >= 2-D
weights). Attention is computed as PyTorch 1.13 computes it: 1.13 has no
scaled_dot_product_attention, so q @ k^T, masked_fill, softmax and @ v with the [B, H, T, T]
scores kept for backward. Prints one JSON line.
"""
import argparse
import json
import math
import os
import resource
import time

p = argparse.ArgumentParser()
p.add_argument("--seq", type=int, default=1024)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--max-seconds", type=float, default=60.0)
args = p.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

V, L, H, C = 65, 4, 4, 256


class Attention(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.register_buffer("mask", torch.tril(torch.ones(t, t, dtype=torch.bool)).view(1, 1, t, t), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        d = c // H
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, H, d).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        att = att.masked_fill(~self.mask[:, :, :t, :t], float("-inf"))
        att = F.softmax(att, dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))


class Block(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(C), Attention(t), nn.LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(t, C)
        self.blocks = nn.ModuleList([Block(t) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    t = args.seq
    model = GPT(t)
    for n, w in model.named_parameters():
        if w.dim() >= 2:
            nn.init.normal_(w, 0.0, 0.02)
    decay = [w for w in model.parameters() if w.dim() >= 2]
    rest = [w for w in model.parameters() if w.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    batches = [torch.randint(0, V, (1, t + 1)) for _ in range(2)]

    def step(i):
        b = batches[i % 2]
        x, y = b[:, :-1], b[:, 1:]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    losses = [step(i) for i in range(args.warmup)]
    times = []
    t0 = time.perf_counter()
    i = args.warmup
    while len(times) < args.steps:
        s = time.perf_counter()
        losses.append(step(i))
        i += 1
        times.append(time.perf_counter() - s)
        if time.perf_counter() - t0 > args.max_seconds:
            break
    times.sort()
    n = len(times)
    med = times[(n - 1) // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "seq": t,
        "tokens_per_s": round(t / med, 1), "ms_per_step": round(med * 1e3, 1), "timed_steps": n,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
    }))


main()
