#!/usr/bin/python3
"""PyTorch reference for `npm run bench:tasks` (issue 14): trains the architecture trainformer's
examples/eng-fra.json and examples/squad.json train — same sizes, same token ids (bench/tasks.ts
exports them with the run's own tokenizer), AdamW with trainformer's parameter groups (decay on
ndim >= 2), the same cosine schedule with linear warmup, label smoothing, gradient clipping, batch
size and number of steps; for seq2seq the very batches trainformer read, in its order, when the
export lists them — and writes what trainformer then scores with its own metric code:
translations as token ids (greedy, batched) or QA start/end logits per window.

  /usr/bin/python3 bench/torch_tasks.py <export.json> <out.json>

Architecture (both): pre-LN Transformer blocks (LayerNorm eps 1e-5, exact GELU MLP of nInner,
multi-head attention with a fused qkv projection), learned positions, a final LayerNorm, GPT-2
initialisation (normal 0.02; output projections 0.02/sqrt(2·layers)). seq2seq: encoder and decoder
of nLayer blocks each, one token table shared by source, target and the (tied) LM head. QA: an
encoder with token-type embeddings and a 2-way span head.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, C, H, p, cross=False):
        super().__init__()
        self.H, self.cross, self.p = H, cross, p
        if cross:
            self.q_attn = nn.Linear(C, C)
            self.c_attn = nn.Linear(C, 2 * C)
        else:
            self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)

    def forward(self, x, memory=None, key_padding=None, causal=False):
        B, T, C = x.shape
        H, D = self.H, C // self.H
        if self.cross:
            q = self.q_attn(x)
            k, v = self.c_attn(memory).split(C, dim=2)
        else:
            q, k, v = self.c_attn(x).split(C, dim=2)
        S = k.shape[1]
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, S, H, D).transpose(1, 2)
        v = v.view(B, S, H, D).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        if causal:
            att = att.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(1), float('-inf'))
        if key_padding is not None:
            att = att.masked_fill(key_padding[:, None, None, :], float('-inf'))
        att = F.dropout(att.softmax(-1), self.p, self.training)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, C, H, inner, p, cross=False, causal=False):
        super().__init__()
        self.causal = causal
        self.ln_1, self.attn = nn.LayerNorm(C), Attention(C, H, p)
        self.ln_cross = nn.LayerNorm(C) if cross else None
        self.crossattn = Attention(C, H, p, cross=True) if cross else None
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, inner), nn.GELU(), nn.Linear(inner, C), nn.Dropout(p))
        self.drop = nn.Dropout(p)

    def forward(self, x, pad=None, memory=None, memory_pad=None):
        x = x + self.drop(self.attn(self.ln_1(x), key_padding=pad, causal=self.causal))
        if self.crossattn is not None:
            x = x + self.drop(self.crossattn(self.ln_cross(x), memory=memory, key_padding=memory_pad))
        return x + self.mlp(self.ln_2(x))


class Stack(nn.Module):
    def __init__(self, wte, C, H, inner, layers, block, p, decoder=False, types=0):
        super().__init__()
        self.wte = wte
        self.wpe = nn.Embedding(block, C)
        self.wtt = nn.Embedding(types, C) if types else None
        self.drop = nn.Dropout(p)
        self.h = nn.ModuleList(Block(C, H, inner, p, cross=decoder, causal=decoder) for _ in range(layers))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, ids, pad=None, memory=None, memory_pad=None, types=None):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        if self.wtt is not None:
            x = x + self.wtt(types)
        x = self.drop(x)
        for b in self.h:
            x = b(x, pad, memory, memory_pad)
        return self.ln_f(x)


def init_gpt2(model, n_layers):
    for name, p in model.named_parameters():
        if name.endswith('c_proj.weight') or name.endswith('mlp.2.weight'):
            nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layers))
        elif p.dim() >= 2:
            nn.init.normal_(p, 0.0, 0.02)
        elif name.endswith('bias'):
            nn.init.zeros_(p)


def optimizer_and_schedule(model, cfg):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg['weightDecay']}, {'params': other, 'weight_decay': 0.0}],
                            lr=cfg['learningRate'], betas=(0.9, 0.999), eps=1e-8)
    warm, total = cfg['warmupSteps'], cfg['maxSteps']

    def lr_lambda(k):
        if k < warm:
            return k / max(1, warm)
        prog = (k - warm) / max(1, total - warm)
        return max(0.0, 0.5 * (1 + math.cos(math.pi * prog)))
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)


def pad_rows(rows, value):
    L = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (L - len(r)) for r in rows], dtype=torch.long)


def train_steps(model, opt, sched, cfg, train, g, batch_loss, name, order=None):
    """cfg['maxSteps'] optimizer steps on batches of `train`: the exported `order` (lists of
    indices) when given, else cfg['perDeviceTrainBatchSize'] examples at a time from shuffled
    epochs drawn from `g` (a reshuffle when fewer are left). Each step: loss = batch_loss(batch),
    backward, gradients clipped to cfg['maxGradNorm'], the optimizer and schedule stepped; the loss
    goes to stderr every 100 steps. Returns (t0, training seconds)."""
    bs = cfg['perDeviceTrainBatchSize']
    t0 = time.time()
    perm, pos = torch.randperm(len(train), generator=g).tolist(), 0
    model.train()
    for step in range(cfg['maxSteps']):
        if order is not None:
            batch = [train[i] for i in order[step]]
        else:
            if pos + bs > len(perm):
                perm, pos = torch.randperm(len(train), generator=g).tolist(), 0
            batch = [train[i] for i in perm[pos:pos + bs]]
            pos += bs
        loss = batch_loss(batch)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg['maxGradNorm'])
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f'{name} step {step + 1} loss {loss.item():.4f} {time.time() - t0:.0f}s', file=sys.stderr, flush=True)
    return t0, time.time() - t0


def run_seq2seq(ex, g):
    cfg, m, ids = ex['config'], ex['config']['model'], ex['ids']
    C, H, inner, layers, p = m['nEmbd'], m['nHead'], m['nInner'], m['nLayer'], m['dropout']
    V, block = ex['vocabSize'], ex['blockSize']
    wte = nn.Embedding(V, C)
    enc, dec = Stack(wte, C, H, inner, layers, block, p), Stack(wte, C, H, inner, layers, block, p, decoder=True)
    model = nn.ModuleDict({'enc': enc, 'dec': dec})
    init_gpt2(model, 2 * layers)
    opt, sched = optimizer_and_schedule(model, cfg)
    pad, bos, eos = ids['pad'], ids['bos'], ids['eos']

    def batch_loss(batch):
        src = pad_rows([b[0] for b in batch], pad)
        dec_in = pad_rows([[bos] + b[1] for b in batch], pad)
        labels = pad_rows([b[1] + [eos] for b in batch], -100)
        memory = enc(src, src == pad)
        h = dec(dec_in, None, memory, src == pad)
        logits = h @ wte.weight.T
        return F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100, label_smoothing=cfg['labelSmoothingFactor'])
    # trainformer's batches (indices into train), when exported
    t0, train_s = train_steps(model, opt, sched, cfg, ex['train'], g, batch_loss, 'seq2seq', ex.get('batches'))
    model.eval()
    out, max_new = [], ex['maxNewTokens']
    with torch.no_grad():
        for i in range(0, len(ex['valid']), cfg['perDeviceEvalBatchSize']):
            srcs = ex['valid'][i:i + cfg['perDeviceEvalBatchSize']]
            src = pad_rows(srcs, pad)
            memory = enc(src, src == pad)
            rows = torch.full((len(srcs), 1), bos, dtype=torch.long)
            done = torch.zeros(len(srcs), dtype=torch.bool)
            for _ in range(max_new):
                nxt = (dec(rows, None, memory, src == pad)[:, -1] @ wte.weight.T).argmax(-1)
                nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
                rows = torch.cat([rows, nxt[:, None]], 1)
                done |= nxt == eos
                if done.all():
                    break
            out += rows[:, 1:].tolist()
    return {'trainSeconds': train_s, 'totalSeconds': time.time() - t0, 'predictions': out}


def run_qa(ex, g):
    cfg, m = ex['config'], ex['config']['model']
    C, H, inner, layers, p = m['nEmbd'], m['nHead'], m['nInner'], m['nLayer'], m['dropout']
    V, block, pad = ex['vocabSize'], ex['blockSize'], ex['ids']['pad']
    enc = Stack(nn.Embedding(V, C), C, H, inner, layers, block, p, types=2)
    head = nn.Linear(C, 2)
    model = nn.ModuleDict({'enc': enc, 'qa_outputs': head})
    init_gpt2(model, layers)
    opt, sched = optimizer_and_schedule(model, cfg)

    def batch_loss(batch):
        ids = pad_rows([b['inputIds'] for b in batch], pad)
        types = pad_rows([b['tokenTypeIds'] for b in batch], 0)
        # Padded positions are not masked (as trainformer's QA task and Hugging Face).
        logits = head(enc(ids, ids == pad, types=types))
        st = torch.tensor([b['startPosition'] for b in batch])
        en = torch.tensor([b['endPosition'] for b in batch])
        ls = cfg['labelSmoothingFactor']
        return (F.cross_entropy(logits[..., 0], st, label_smoothing=ls) + F.cross_entropy(logits[..., 1], en, label_smoothing=ls)) / 2
    t0, train_s = train_steps(model, opt, sched, cfg, ex['train'], g, batch_loss, 'qa')
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(ex['valid']), cfg['perDeviceEvalBatchSize']):
            feats = ex['valid'][i:i + cfg['perDeviceEvalBatchSize']]
            ids = pad_rows([f['inputIds'] for f in feats], pad)
            types = pad_rows([f['tokenTypeIds'] for f in feats], 0)
            logits = head(enc(ids, ids == pad, types=types))
            for r, f in enumerate(feats):
                L = len(f['inputIds'])
                out.append({'start': logits[r, :L, 0].tolist(), 'end': logits[r, :L, 1].tolist()})
    return {'trainSeconds': train_s, 'totalSeconds': time.time() - t0, 'logits': out}


def main():
    ex = json.load(open(sys.argv[1], encoding='utf-8'))
    torch.manual_seed(ex['config']['seed'])
    torch.set_num_threads(int(ex.get('threads', 2)))
    g = torch.Generator().manual_seed(ex['config']['seed'])
    res = run_seq2seq(ex, g) if ex['task'] == 'seq2seq' else run_qa(ex, g)
    res['torchVersion'] = torch.__version__
    json.dump(res, open(sys.argv[2], 'w'))


if __name__ == '__main__':
    main()
