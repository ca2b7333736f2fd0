"""PyTorch reference figures (fp32, 2 threads, random weights) that README's performance table
compares cocoon against, measured side by side on the same machine.

Cases (comma list for --cases; each runs in its own subprocess so its peak RSS is its own):
  sgemm            torch.mm fp32 2048x2048x2048, GFLOPS
  encode:vit-b-32  image encoder, batch 32, 224 px, inference mode, images/s   (also encode:rn50)
  encode-bf16:vit-b-32  the same under torch.autocast("cpu", dtype=torch.bfloat16) (oneDNN bf16;
                   also encode-bf16:rn50): what `cocoon bench encode --precision bf16` is set against
  coop:K           official-shape CoOp step: ViT-B/32 text tower, 77 tokens, M=16 unified context,
                   class token at the end, batch 32 cached image features, K classes, CE, backward,
                   SGD(lr 0.002, momentum 0.9, wd 5e-4); seconds/step
  coop-img:K       the same, with the ViT-B/32 image encoder run on the 32 images every step
  coop-ckpt:K      coop:K with activation checkpointing per text resblock (torch.utils.checkpoint)
  coop-bf16:K      coop:K with the forward under torch.autocast("cpu", dtype=torch.bfloat16) (the
                   backward follows autocast's dtypes): what `cocoon bench tune --precision bf16` is set against
  coop-ckpt-bf16:K both (K = 1000 without checkpointing needs more memory than 24 GiB)
  cocoop:K         CoCoOp step: batch 1, M=4, Meta-Net 512->32->512, K text passes; seconds/step
  kgcoop:K         official KgCoOp step (htyao89/KgCoOp trainers/kgcoop.py): the CoOp learner with M=4
                   (init "a photo of a"), batch 128 cached features, loss CE + W*(1 - mean_k cos(w_k, w_k^clip)),
                   W = 8, w^clip = "a photo of a {name}." text features computed once before timing; seconds/step
  prograd:K        official ProGrad step (BeierZhu/Prompt-align trainers/prograd.py + Dassl trainer.py
                   prograd_backward_and_update): the CoOp learner with M=16 (last 4 init "a photo of a"), batch 32,
                   zero-shot teacher logits from fixed "a photo of a {name}." features, L_kl soft-target CE (T=1),
                   loss_kl.backward(retain_graph=True), copy grad, zero, loss_ce.backward(), project g_ce off
                   g_kl when they conflict (lambda 1), SGD: two backward passes through the text tower; seconds/step
Models: open_clip ViT-B-32-quickgelu / RN50-quickgelu, random weights, fp32. Reported: median over
--repeats timed runs after one warm-up, and the case's peak RSS (getrusage).

Usage: python3 tools/bench_reference.py [--threads 2] [--cases coop:10,coop:100,cocoop:37]
                                        [--repeats 3] [--json out.json]
"""
import argparse
import json
import logging
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

DEFAULT_CASES = ("sgemm,encode:vit-b-32,encode:rn50,coop:10,coop:37,coop:100,coop-img:100,"
                 "coop-ckpt:1000,cocoop:37,cocoop:100,kgcoop:100,prograd:100")
ENCODERS = {"vit-b-32": "ViT-B-32-quickgelu", "rn50": "RN50-quickgelu"}
TEXT_MODEL = "ViT-B-32-quickgelu"
BATCH = 32
SEED = 5150
KGCOOP_BATCH, KGCOOP_W = 128, 8.0  # vit_b16_ep100_ctxv1 batch; W of every KgCoOp script
PROGRAD_LAMBDA, PROGRAD_T = 1.0, 1.0
HAND_CRAFTED_PHRASE = ("a", "photo", "of", "a")  # "a photo of a {name}." (ImageNet template of both repos)


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # Linux: KiB


def timed(step, repeats):
    """One warm-up call, then `repeats` timed calls; returns the list of seconds."""
    step()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return seconds


# ----------------------------------------------------------------------------------------------
# Cases (run inside the child process).

def case_sgemm(torch, repeats, _arg):
    n = 2048
    gen = torch.Generator().manual_seed(SEED)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    seconds = timed(lambda: torch.mm(a, b), max(repeats, 3))
    return {"metric": "GFLOPS", "value": 2 * n ** 3 / statistics.median(seconds) / 1e9, "seconds": seconds}


def case_encode(torch, repeats, arg, bf16=False):
    import contextlib
    import open_clip
    model = open_clip.create_model(ENCODERS[arg], pretrained=None).float().eval()
    images = torch.randn(BATCH, 3, 224, 224, generator=torch.Generator().manual_seed(SEED))
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step():
        with torch.inference_mode(), precision:
            model.encode_image(images)

    seconds = timed(step, repeats)
    return {"metric": "images/s", "value": BATCH / statistics.median(seconds), "seconds": seconds}


def class_prompts(torch, n_cls, n_ctx):
    """Official CoOp token layout [SOT, X*n_ctx, name (1-4 random BPE ids), '.', EOT, 0...] -> [K,77]."""
    import open_clip
    tokenizer = open_clip.get_tokenizer(TEXT_MODEL)
    sot, eot = tokenizer.sot_token_id, tokenizer.eot_token_id
    x_id = tokenizer.encoder["x</w>"]
    dot_id = tokenizer.encoder[".</w>"]
    gen = torch.Generator().manual_seed(SEED)
    prompts = torch.zeros(n_cls, 77, dtype=torch.int64)
    name_lens = []
    for i in range(n_cls):
        n = int(torch.randint(1, 5, (), generator=gen))
        name = torch.randint(1000, 49000, (n,), generator=gen).tolist()
        row = [sot] + [x_id] * n_ctx + name + [dot_id, eot]
        prompts[i, :len(row)] = torch.tensor(row)
        name_lens.append(n)
    return prompts, name_lens


def frozen_clip(torch):
    import open_clip
    torch.manual_seed(SEED)
    clip = open_clip.create_model(TEXT_MODEL, pretrained=None).float().eval()
    for p in clip.parameters():
        p.requires_grad_(False)
    return clip


def phrase_ids(torch):
    import open_clip
    encoder = open_clip.get_tokenizer(TEXT_MODEL).encoder
    return [encoder[w + "</w>"] for w in HAND_CRAFTED_PHRASE]


def hand_crafted_features(torch, clip, prompts, n_ctx):
    """Fixed, normalised text features of "a photo of a {name}." (the CoOp rows with the M context
    placeholders replaced by the phrase), computed once outside the timed step."""
    phrase = phrase_ids(torch)
    rows = torch.zeros_like(prompts)
    for i, row in enumerate(prompts.tolist()):
        new = (row[:1] + phrase + row[1 + n_ctx:])[:77]
        rows[i, :len(new)] = torch.tensor(new)
    with torch.no_grad():
        features = clip.encode_text(rows)
    return features / features.norm(dim=-1, keepdim=True)


def coop_setup(torch, n_cls, n_ctx, batch, init=None, checkpointing=False, images=False):
    """Official CoOp learner (tools/fixtures/coop.py) on the frozen ViT-B/32 text tower, its SGD, and a
    batch of labels plus cached image features (or images). init: None (N(0, 0.02)) or a phrase
    right-aligned in the context (ProGrad's layout; KgCoOp's when it fills all M slots), the rest 0."""
    import coop as coop_ref  # tools/fixtures/coop.py: official CoOp modules
    clip = frozen_clip(torch)
    clip.transformer.grad_checkpointing = checkpointing  # open_clip: checkpoint() around each resblock
    prompts, name_lens = class_prompts(torch, n_cls, n_ctx)
    gen = torch.Generator().manual_seed(SEED)
    width = clip.ln_final.weight.shape[0]
    if init is None:
        ctx = torch.randn(n_ctx, width, generator=gen) * 0.02
    else:
        ctx = torch.zeros(n_ctx, width)
        with torch.no_grad():
            ctx[n_ctx - len(init):] = clip.token_embedding(torch.tensor(init))
    model = coop_ref.CustomCLIP(clip, prompts, name_lens, ctx, "end")
    optimizer = torch.optim.SGD([model.prompt_learner.ctx], **coop_ref.SGD_ARGS)
    labels = torch.randint(0, n_cls, (batch,), generator=gen)
    if images:
        inputs = torch.randn(batch, 3, 224, 224, generator=gen)
    else:
        inputs = torch.randn(batch, clip.text_projection.shape[1], generator=gen)
    return clip, prompts, model, optimizer, labels, inputs


def s_per_step(step, repeats):
    seconds = timed(step, repeats)
    return {"metric": "s/step", "value": statistics.median(seconds), "seconds": seconds}


def case_coop(torch, repeats, arg, run_image_encoder=False, checkpointing=False, bf16=False):
    import torch.nn.functional as F
    clip, _, model, optimizer, labels, inputs = coop_setup(torch, int(arg), 16, BATCH, checkpointing=checkpointing,
                                                           images=run_image_encoder)

    def step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            image_features = clip.encode_image(inputs) if run_image_encoder else inputs
            loss = F.cross_entropy(model(image_features), labels)
        loss.backward()
        optimizer.step()

    return s_per_step(step, repeats)


def case_kgcoop(torch, repeats, arg):
    import torch.nn.functional as F
    n_ctx = 4
    clip, prompts, model, optimizer, labels, features = coop_setup(torch, int(arg), n_ctx, KGCOOP_BATCH,
                                                                   init=phrase_ids(torch))
    clip_text = hand_crafted_features(torch, clip, prompts, n_ctx)  # KgCoOp's ori_embedding, fixed

    def step():
        optimizer.zero_grad()
        # KgCoOp CustomCLIP.forward: CoOp logits plus the text features they come from
        text = model.text_encoder(model.prompt_learner(), model.tokenized_prompts)
        text = text / text.norm(dim=-1, keepdim=True)
        image = features / features.norm(dim=-1, keepdim=True)
        logits = model.logit_scale.exp() * image @ text.t()
        score = 1.0 - F.cosine_similarity(text, clip_text, dim=1, eps=1e-7).mean()
        loss = F.cross_entropy(logits, labels) + KGCOOP_W * score
        loss.backward()
        optimizer.step()

    return s_per_step(step, repeats)


def case_prograd(torch, repeats, arg):
    import torch.nn.functional as F
    n_ctx = 16
    clip, prompts, model, optimizer, labels, features = coop_setup(torch, int(arg), n_ctx, BATCH,
                                                                   init=phrase_ids(torch))
    teacher_text = hand_crafted_features(torch, clip, prompts, n_ctx)  # zero-shot CLIP's text features, fixed
    ctx = model.prompt_learner.ctx

    def step():
        optimizer.zero_grad()
        logits = model(features)
        with torch.no_grad():  # zero-shot CLIP on the same (cached) image features
            teacher = clip.logit_scale.exp() * (features / features.norm(dim=-1, keepdim=True)) @ teacher_text.t()
        loss_ce = F.cross_entropy(logits, labels)
        loss_kl = -(F.softmax(teacher / PROGRAD_T, dim=-1) * F.log_softmax(logits / PROGRAD_T, dim=-1)).sum(1).mean() \
            * PROGRAD_T * PROGRAD_T
        loss_kl.backward(retain_graph=True)
        g_kl = ctx.grad.clone()
        optimizer.zero_grad()
        loss_ce.backward()
        g_kl_unit = g_kl / torch.linalg.norm(g_kl)
        g_ce = ctx.grad.clone()
        if torch.dot((g_ce / torch.linalg.norm(g_ce)).flatten(), g_kl_unit.flatten()) < 0:
            ctx.grad = g_ce - PROGRAD_LAMBDA * torch.dot(g_ce.flatten(), g_kl_unit.flatten()) * g_kl_unit
        optimizer.step()

    return s_per_step(step, repeats)


def case_cocoop(torch, repeats, arg):
    import torch.nn.functional as F
    import coop as coop_ref
    n_cls, n_ctx = int(arg), 4
    clip = frozen_clip(torch)
    prompts, name_lens = class_prompts(torch, n_cls, n_ctx)
    width, vis_dim = clip.ln_final.weight.shape[0], clip.text_projection.shape[1]
    gen = torch.Generator().manual_seed(SEED)
    meta_net = coop_ref.make_meta_net(vis_dim, width)  # 512 -> 32 -> 512 for ViT-B/32
    model = coop_ref.CoCoOp(clip, prompts, name_lens, torch.randn(n_ctx, width, generator=gen) * 0.02, meta_net)
    optimizer = torch.optim.SGD([model.prompt_learner.ctx] + list(meta_net.parameters()), **coop_ref.SGD_ARGS)
    features = torch.randn(1, vis_dim, generator=gen)
    labels = torch.randint(0, n_cls, (1,), generator=gen)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(features), labels)
        loss.backward()
        optimizer.step()

    return s_per_step(step, repeats)


CASES = {
    "sgemm": case_sgemm,
    "encode": case_encode,
    "encode-bf16": lambda torch, r, a: case_encode(torch, r, a, bf16=True),
    "coop": case_coop,
    "coop-img": lambda torch, r, a: case_coop(torch, r, a, run_image_encoder=True),
    "coop-ckpt": lambda torch, r, a: case_coop(torch, r, a, checkpointing=True),
    "coop-bf16": lambda torch, r, a: case_coop(torch, r, a, bf16=True),
    "coop-ckpt-bf16": lambda torch, r, a: case_coop(torch, r, a, checkpointing=True, bf16=True),
    "cocoop": case_cocoop,
    "kgcoop": case_kgcoop,
    "prograd": case_prograd,
}


def parse_case(text):
    kind, _, arg = text.partition(":")
    if kind not in CASES:
        raise ValueError(f"unknown case '{text}'; kinds: {sorted(CASES)}")
    if kind in ("encode", "encode-bf16") and arg not in ENCODERS:
        raise ValueError(f"case '{text}': encoder must be one of {sorted(ENCODERS)}")
    if kind not in ("sgemm", "encode", "encode-bf16") and not arg.isdigit():
        raise ValueError(f"case '{text}': expected {kind}:K with K a class count")
    return kind, arg


def run_child(case, threads, repeats):
    import torch
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "fixtures"))
    logging.getLogger().setLevel(logging.ERROR)  # open_clip warns that no pretrained weights are loaded
    torch.set_num_threads(threads)
    kind, arg = parse_case(case)
    result = CASES[kind](torch, repeats, arg)
    result.update(case=case, threads=threads, peak_rss_gib=peak_rss_gib())
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------

def machine_info():
    import torch
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return {"cpu": cpu, "python": platform.python_version(), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=DEFAULT_CASES, help=f"comma list (default {DEFAULT_CASES})")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per case after one warm-up")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = ap.parse_args()
    if args.child:
        run_child(args.child, args.threads, args.repeats)
        return 0

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        try:
            parse_case(c)
        except ValueError as e:
            ap.error(str(e))
    results = []
    print(f"{'case':<18} {'value':>10} {'metric':<9} {'peak RSS':>9}  runs (s)")
    for case in cases:
        cmd = [sys.executable, __file__, "--child", case, "--threads", str(args.threads),
               "--repeats", str(args.repeats)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{case:<18} FAILED: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
            results.append({"case": case, "error": done.stderr.strip()[-2000:]})
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        runs = " ".join(f"{s:.3f}" for s in r["seconds"])
        print(f"{case:<18} {r['value']:>10.3f} {r['metric']:<9} {r['peak_rss_gib']:>7.2f} GiB  {runs}", flush=True)
    if args.json:
        report = {"machine": machine_info(), "threads": args.threads, "repeats": args.repeats, "results": results}
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
