#!/usr/bin/env python3
"""Train the embedded demo CLIP (offline, run once by the maintainers; users never need this).

A tiny CLIP with CLIP's exact architecture (open_clip `CLIP`: ModifiedResNet image tower with
BatchNorm stem, Bottleneck layers, anti-aliased downsampling and AttentionPool2d; causal text
transformer, context 77, QuickGELU) trained contrastively on the synthetic shapes corpus that
`cocoon synth --corpus N` renders (the Swift renderer is the only renderer: this script reads its
`images.u8` / `captions.txt`). Its own byte-level BPE vocabulary is learned on the captions plus
the downstream prompt words and written in the standard `vocab.json` + `merges.txt` layout.
Recipe and measurements: demo/model/README.md; the sizing lessons: docs/DESIGN.md "Demo model".

    cocoon synth --out /tmp/synth --corpus 240000 --threads 2
    python3 tools/train_demo_clip.py train --corpus /tmp/synth/corpus --out demo/model --datasets /tmp/synth
    python3 tools/train_demo_clip.py eval --model demo/model --datasets /tmp/synth
    python3 tools/train_demo_clip.py tokenize --model demo/model "a photo of a red star."
    python3 tools/train_demo_clip.py features --model demo/model --image /tmp/synth/colored-shapes/test/00_000.png "a photo of a red circle."

Preprocessing equals cocoon's eval transform for 64 px inputs: the images are already 64×64
(resize and centre crop are the identity), scaled to [0, 1] and normalised with CLIP's mean/std.
"""
import argparse
import collections
import gzip
import json
import math
import pathlib
import sys
import tempfile
import time

import numpy as np
import regex as re
import torch
import torch.nn.functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
WORD_PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

# Words any prompt of the demo may use beyond the captions: CoOp's templates (zero-shot "a photo of
# a {}.", the ImageNet ensemble), hand-crafted alternatives, class names of every demo dataset.
EXTRA_TEXT = [
    "a photo of a {}.", "itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
    "a {} in a video game.", "art of the {}.", "a photo of the small {}.", "{} texture.", "an outlined {}.",
    "x x x x x x x x x x x x x x x x", "X", "a photo of an outlined {}.", "a centered photo of a {}.", "a filled {}.",
]
SHAPES = ["circle", "square", "triangle", "star", "cross", "ring", "heart", "arrow"]
COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
BACKGROUNDS = ["plain", "noisy", "striped", "checkered", "gradient"]

MODEL_CFG = dict(
    embed_dim=128,
    quick_gelu=True,
    vision_cfg=dict(layers=[2, 2, 2, 2], width=16, head_width=64, image_size=64),
    text_cfg=dict(context_length=77, width=128, heads=2, layers=3),   # vocab_size set from the tokenizer
)


# ------------------------------------------------------------------------------------------------
# Tokenizer: byte-level BPE exactly as CLIP's simple_tokenizer applies it.

def bytes_to_unicode() -> dict:
    from open_clip.tokenizer import bytes_to_unicode as b2u
    return b2u()


def clean(text: str) -> str:
    from open_clip.tokenizer import basic_clean, whitespace_clean
    return whitespace_clean(basic_clean(text)).lower()


def learn_bpe(texts) -> list:
    """Merges (in rank order) learned on the words of `texts` until every word is one symbol.
    Each step merges the most frequent adjacent pair (ties: the smallest pair)."""
    byte_encoder = bytes_to_unicode()
    counts = collections.Counter()
    for text in texts:
        for word in re.findall(WORD_PATTERN, clean(text)):
            counts[word] += 1
    words = []
    for word, n in sorted(counts.items()):
        chars = [byte_encoder[b] for b in word.encode("utf-8")]
        chars[-1] += "</w>"
        words.append((chars, n))
    merges, seen = [], set(byte_encoder.values()) | {c + "</w>" for c in byte_encoder.values()}
    while True:
        pairs = collections.Counter()
        for symbols, n in words:
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += n
        if not pairs:
            return merges
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merged = best[0] + best[1]
        assert merged not in seen, f"merge {best} repeats token {merged}"
        seen.add(merged)
        merges.append(best)
        for k, (symbols, n) in enumerate(words):
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[k] = (out, n)


def vocabulary(merges) -> list:
    """OpenAI's layout: bytes (mapping order), bytes + "</w>", one token per merge, SOT, EOT (largest id)."""
    base = list(bytes_to_unicode().values())
    return base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [SOT, EOT]


def write_tokenizer(merges, out: pathlib.Path) -> None:
    vocab = vocabulary(merges)
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")


def read_merges(model_dir: pathlib.Path) -> list:
    lines = (model_dir / "merges.txt").read_text(encoding="utf-8").split("\n")
    return [tuple(line.split(" ")) for line in lines[1:] if line]


class Tokenizer:
    """open_clip's SimpleTokenizer over our merges (same ids as vocab.json: specials are the last two)."""

    def __init__(self, merges):
        from open_clip.tokenizer import SimpleTokenizer
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "bpe.txt.gz"
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.write("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges))
            self.inner = SimpleTokenizer(bpe_path=str(path))
        vocab = vocabulary(merges)
        assert self.inner.vocab_size == len(vocab)
        for token, i in self.inner.encoder.items():
            assert token in ("<start_of_text>", "<end_of_text>") or vocab[i] == token, token
        self.sot, self.eot, self.size = len(vocab) - 2, len(vocab) - 1, len(vocab)

    def ids(self, text: str) -> list:
        """[SOT] + BPE ids + [EOT] (no padding)."""
        return [self.sot] + self.inner.encode(text) + [self.eot]

    def tokenize(self, texts, context: int = 77) -> np.ndarray:
        out = np.zeros((len(texts), context), dtype=np.int64)
        cache = {}
        for row, text in enumerate(texts):
            ids = cache.get(text)
            if ids is None:
                ids = self.ids(text)
                if len(ids) > context:
                    ids = ids[:context - 1] + [self.eot]
                cache[text] = ids
            out[row, :len(ids)] = ids
        return out


# ------------------------------------------------------------------------------------------------
# Model

def build_model(vocab_size: int):
    import open_clip
    text_cfg = dict(MODEL_CFG["text_cfg"], vocab_size=vocab_size)
    return open_clip.model.CLIP(MODEL_CFG["embed_dim"], MODEL_CFG["vision_cfg"], text_cfg, quick_gelu=True)


def encode_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's encode_text run only up to the batch's last EOT (exact: the mask is causal and
    features pool at EOT, the largest id)."""
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
    return x @ model.text_projection


def normalise(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [B, H, W, 3] → float [B, 3, H, W], CLIP mean/std."""
    x = images_u8.permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def save_model(model, tokenizer_size: int, out: pathlib.Path) -> None:
    from safetensors.torch import save_file
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k != "attn_mask"}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    cfg = json.loads(json.dumps(MODEL_CFG))
    cfg["text_cfg"]["vocab_size"] = tokenizer_size
    config = {"model_cfg": cfg, "preprocess_cfg": {"mean": list(CLIP_MEAN), "std": list(CLIP_STD)}}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")


def load_model(model_dir: pathlib.Path):
    from safetensors.torch import load_file
    tokenizer = Tokenizer(read_merges(model_dir))
    model = build_model(tokenizer.size)
    missing, unexpected = model.load_state_dict(load_file(str(model_dir / "model.safetensors")), strict=False)
    assert missing == ["attn_mask"] or not missing, missing
    assert not unexpected, unexpected
    return model.eval(), tokenizer


# ------------------------------------------------------------------------------------------------
# Evaluation on the downstream split-JSON datasets

def load_split(root: pathlib.Path, split: str):
    from PIL import Image
    items = json.loads((root / "split.json").read_text())[split]
    images = np.stack([np.asarray(Image.open(root / path).convert("RGB")) for path, _, _ in items])
    labels = np.array([label for _, label, _ in items])
    names = {label: name for _, label, name in items}
    return torch.from_numpy(images), torch.from_numpy(labels), [names[k] for k in range(len(names))]


@torch.no_grad()
def image_features(model, images_u8: torch.Tensor) -> torch.Tensor:
    feats = [model.encode_image(normalise(images_u8[i:i + 256])) for i in range(0, len(images_u8), 256)]
    return F.normalize(torch.cat(feats), dim=-1)


@torch.no_grad()
def text_features(model, tokenizer, prompts) -> torch.Tensor:
    return F.normalize(encode_text(model, torch.from_numpy(tokenizer.tokenize(prompts))), dim=-1)


def linear_probe(train_x, train_y, test_x, test_y, classes: int, seed: int) -> float:
    """Multinomial logistic regression on frozen L2-normalised features (L-BFGS, small L2 penalty
    chosen on a held-out quarter of the shots)."""
    def fit(x, y, penalty):
        torch.manual_seed(seed)
        w = torch.zeros(x.shape[1], classes, requires_grad=True)
        b = torch.zeros(classes, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1, max_iter=300, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(x @ w + b, y) + penalty * (w * w).sum()
            loss.backward()
            return loss
        opt.step(closure)
        return w.detach(), b.detach()

    def accuracy(w, b, x, y):
        return float(((x @ w + b).argmax(-1) == y).float().mean())

    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(train_y), generator=g)
    hold = perm[: len(perm) // 4]
    fit_idx = perm[len(perm) // 4:]
    best = max((accuracy(*fit(train_x[fit_idx], train_y[fit_idx], p), train_x[hold], train_y[hold]), -p)
               for p in (1e-4, 1e-3, 1e-2, 1e-1))
    w, b = fit(train_x, train_y, -best[1])
    return accuracy(w, b, test_x, test_y)


def few_shot(labels: torch.Tensor, shots: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        picks.append(idx[torch.randperm(len(idx), generator=g)[:shots]])
    return torch.cat(picks)


@torch.no_grad()
def evaluate(model, tokenizer, datasets: pathlib.Path, shots: int = 16, seed: int = 1) -> dict:
    """Zero-shot ("a photo of a {}.", "an outlined {}.", "a filled {}.") and a `shots`-shot linear probe per dataset."""
    results = {}
    for name in ("colored-shapes", "colored-shapes-grainy", "plain-shapes", "shapes"):
        root = datasets / name
        if not (root / "split.json").exists():
            continue
        train_u8, train_y, names = load_split(root, "train")
        test_u8, test_y, _ = load_split(root, "test")
        train_x, test_x = image_features(model, train_u8), image_features(model, test_u8)
        row = {"classes": len(names), "test_images": len(test_y)}
        for template in ("a photo of a {}.", "an outlined {}.", "a filled {}."):
            t = text_features(model, tokenizer, [template.format(n) for n in names])
            row[f"zero_shot[{template}]"] = round(100 * float(((test_x @ t.T).argmax(-1) == test_y).float().mean()), 1)
        pick = few_shot(train_y, shots, seed)
        with torch.enable_grad():
            row[f"linear_probe_{shots}shot"] = round(100 * linear_probe(train_x[pick], train_y[pick], test_x, test_y, len(names), seed), 1)
        results[name] = row
        print(f"  {name}: {row}", flush=True)
    return results


# ------------------------------------------------------------------------------------------------
# Training

def train(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    corpus = pathlib.Path(args.corpus)
    meta = json.loads((corpus / "corpus.json").read_text())
    n, side = meta["count"], meta["image_size"]
    images = np.memmap(corpus / "images.u8", dtype=np.uint8, mode="r", shape=(n, side, side, 3))
    captions = (corpus / "captions.txt").read_text(encoding="utf-8").split("\n")[:n]
    assert len(captions) == n, f"{corpus}/captions.txt has {len(captions)} lines, corpus.json says {n}"

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    class_words = [f"{c} {s}" for s in SHAPES for c in COLORS] + SHAPES + [f"{b} background" for b in BACKGROUNDS]
    extra = [t.format(w) for t in EXTRA_TEXT for w in class_words]
    merges = learn_bpe(captions + extra)
    write_tokenizer(merges, out)
    tokenizer = Tokenizer(merges)
    t0 = time.time()
    tokens = torch.from_numpy(tokenizer.tokenize(captions))
    print(f"tokenizer: {len(merges)} merges, vocabulary {tokenizer.size}; corpus {n} pairs tokenized in {time.time() - t0:.1f} s; "
          f"longest caption {int(tokens.argmax(-1).max()) + 1} tokens", flush=True)

    model = build_model(tokenizer.size)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params} parameters", flush=True)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in name and name != "logit_scale"]
    no_decay = [p for name, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in name and name != "logit_scale")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return 0.5 * args.lr * (1 + math.cos(math.pi * progress))

    g = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(n, generator=g)
    cursor = 0
    log = []
    start = time.time()
    model.train()
    for step in range(args.steps):
        if cursor + args.batch > n:
            order, cursor = torch.randperm(n, generator=g), 0
        idx = order[cursor:cursor + args.batch].sort().values
        cursor += args.batch
        x = normalise(torch.from_numpy(images[idx.numpy()]))
        t = tokens[idx]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        img = F.normalize(model.encode_image(x), dim=-1)
        txt = F.normalize(encode_text(model, t), dim=-1)
        scale = model.logit_scale.exp()
        logits = scale * img @ txt.T
        target = torch.arange(len(idx))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
            acc_i2t = float((logits.argmax(1) == target).float().mean())
            acc_t2i = float((logits.argmax(0) == target).float().mean())
        log.append((step, float(loss.detach()), acc_i2t, acc_t2i, float(scale.detach())))
        if step % 25 == 0 or step == args.steps - 1:
            window = log[-25:]
            print(f"step {step:4d}  loss {np.mean([r[1] for r in window]):.3f}  acc i→t {np.mean([r[2] for r in window]):.3f} "
                  f"t→i {np.mean([r[3] for r in window]):.3f}  scale {scale:.1f}  lr {lr_at(step):.2e}  {time.time() - start:.0f} s",
                  flush=True)
    elapsed = time.time() - start
    model.eval()
    save_model(model, tokenizer.size, out)
    last = log[-50:]
    summary = {
        "seed": args.seed, "steps": args.steps, "batch": args.batch, "lr": args.lr, "weight_decay": args.wd,
        "warmup": args.warmup, "corpus_pairs": n, "corpus_seed": meta["seed"], "threads": args.threads,
        "train_seconds": round(elapsed, 1), "parameters": params, "vocab_size": tokenizer.size, "merges": len(merges),
        "final_loss": round(float(np.mean([r[1] for r in last])), 3),
        "final_contrastive_accuracy_i2t": round(float(np.mean([r[2] for r in last])), 3),
        "final_contrastive_accuracy_t2i": round(float(np.mean([r[3] for r in last])), 3),
        "final_logit_scale": round(log[-1][4], 2),
    }
    print("summary:", json.dumps(summary), flush=True)
    if args.datasets:
        summary["evaluation"] = evaluate(model, tokenizer, pathlib.Path(args.datasets))
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="learn the tokenizer, train, write the model directory")
    p.add_argument("--corpus", required=True, help="corpus folder written by `cocoon synth --corpus N`")
    p.add_argument("--out", required=True, help="model directory to write (e.g. demo/model)")
    p.add_argument("--datasets", help="folder with the downstream datasets (evaluate after training)")
    p.add_argument("--steps", type=int, default=950)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p = sub.add_parser("eval", help="zero-shot and linear-probe accuracy of a model directory")
    p.add_argument("--model", required=True)
    p.add_argument("--datasets", required=True)
    p.add_argument("--threads", type=int, default=2)
    p = sub.add_parser("features", help="reference values for Swift tests: image features of a PNG, its cosines to texts")
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True, help="a 64×64 RGB PNG")
    p.add_argument("texts", nargs="+")
    p = sub.add_parser("tokenize", help="print [SOT] + ids + [EOT] of each text")
    p.add_argument("--model", required=True)
    p.add_argument("texts", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args)
    elif args.command == "eval":
        torch.set_num_threads(args.threads)
        model, tokenizer = load_model(pathlib.Path(args.model))
        print(json.dumps(evaluate(model, tokenizer, pathlib.Path(args.datasets)), indent=2))
    elif args.command == "features":
        from PIL import Image
        model, tokenizer = load_model(pathlib.Path(args.model))
        image = torch.from_numpy(np.asarray(Image.open(args.image).convert("RGB")).copy())[None]
        x = image_features(model, image)[0]
        t = text_features(model, tokenizer, args.texts)
        print("image features [:8]:", [round(float(v), 6) for v in x[:8]])
        for text, cosine in zip(args.texts, (t @ x).tolist()):
            print(f"  {cosine:.6f}  {text}")
    else:
        tokenizer = Tokenizer(read_merges(pathlib.Path(args.model)))
        for text in args.texts:
            print(json.dumps(text), tokenizer.ids(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
