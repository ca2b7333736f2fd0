"""Full-size parity: cocoon's `embed` command against open_clip on real-size random CLIP models.

For each model (ViT-B/32, RN50 by default) this builds a random fp32 QuickGELU model with open_clip
(LayerNorm/BatchNorm affine parameters randomised; ResNet BN running statistics calibrated on the
test images, then perturbed: see calibrate_batch_norms), writes it as a
model directory (model.safetensors with OpenAI key names + bpe_simple_vocab_16e6.txt.gz), computes
reference features for 8 prompts (open_clip tokenizer + encode_text) and for 4 generated PNG images
of different sizes (open_clip image_transform(224, is_train=False) + encode_image), then runs
    <bin> embed --model DIR --text T1 --text T2 ... --raw --json
    <bin> embed --model DIR --image P1 --image P2 ... --raw --json
and compares the unnormalised features. Exits 1 if a max |Δ| exceeds 2e-4 (--tolerance) while cocoon is
also further than twice open_clip fp32's own error from the float64 result.

Usage: python3 tools/parity_full.py [--bin .build/release/cocoon] [--models vit-b-32,rn50]
                                    [--text-only] [--reference-only] [--work-dir DIR] [--threads 2]
                                    [--tolerance 2e-4]
"""
import argparse
import json
import logging
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import open_clip
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "fixtures"))
import models as tiny_models  # noqa: E402  (randomize_parameters, openai_state_dict)

OPEN_CLIP_NAMES = {
    "vit-b-32": "ViT-B-32-quickgelu",
    "vit-b-16": "ViT-B-16-quickgelu",
    "rn50": "RN50-quickgelu",
    "rn101": "RN101-quickgelu",
    "vit-l-14": "ViT-L-14-quickgelu",
}
MODEL_SEED = 4242
DEFAULT_TOLERANCE = 2e-4  # max |Δ| on unnormalised features
PROMPTS = [
    "a photo of a cat",
    "A diagram",
    "a photo of a golden retriever, a type of pet.",
    "don't stop",
    "naïve résumé",
    "東京",
    "Hello, World!  It's 3.14 &amp; café",
    "itap of a 2012 Tesla Model S Sedan, a centered satellite photo of Annual Crop Land.",
]
IMAGE_SIZES = [(320, 240), (200, 300), (224, 224), (97, 61)]  # (width, height)


def make_images(directory: pathlib.Path) -> list:
    """Deterministic RGB PNGs: smooth colour gradients, a bright disc and per-pixel noise."""
    rng = np.random.default_rng(7)
    paths = []
    for i, (w, h) in enumerate(IMAGE_SIZES):
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        r = 255 * x / max(w - 1, 1)
        g = 255 * y / max(h - 1, 1)
        b = 127.5 * (1 + np.sin((x + 2 * y) / (5 + 3 * i)))
        img = np.stack([r, g, b], axis=-1)
        cx, cy, rad = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, 0.2 * min(w, h)
        img[(x - cx) ** 2 + (y - cy) ** 2 < rad ** 2] = rng.uniform(0, 255, 3)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        path = directory / f"image{i}_{w}x{h}.png"
        Image.fromarray(img, "RGB").save(path)
        paths.append(path)
    return paths


def calibrate_batch_norms(model, pixels, gen):
    """Give every ResNet BatchNorm running statistics that fit its actual input, then perturb them.

    With open_clip's conv init and arbitrary running stats, activations through the 16-33 random
    bottlenecks either vanish (features nearly independent of the image) or compound to ~1e4.
    So in one eval-mode pass over `pixels`, a pre-hook on each BN (in forward order, so every BN
    sees its upstream BNs' final statistics) measures the per-channel input mean m and variance v
    and sets running_mean = m + 0.1 N(0,1) sqrt(v), running_var = v U(0.5, 1.5).
    """
    def set_stats(bn, inputs):
        x = inputs[0]
        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3))
        c = mean.shape[0]
        bn.running_mean.copy_(mean + 0.1 * torch.randn(c, generator=gen) * var.sqrt())
        bn.running_var.copy_(var * (0.5 + torch.rand(c, generator=gen)))

    hooks = [m.register_forward_pre_hook(set_stats) for m in model.visual.modules()
             if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        model.visual(pixels)
    for h in hooks:
        h.remove()


def build_model(key: str, model_dir: pathlib.Path, pixels):
    """Random open_clip model with randomised norms, saved as a cocoon model directory.
    ResNet BN statistics are calibrated on `pixels` (if given)."""
    torch.manual_seed(MODEL_SEED)
    model = open_clip.create_model(OPEN_CLIP_NAMES[key], pretrained=None).float().eval()
    gen = torch.Generator().manual_seed(MODEL_SEED)
    tiny_models.randomize_parameters(model, gen, norms_only=True)
    if key.startswith("rn") and pixels is not None:
        calibrate_batch_norms(model, pixels, gen)
    model_dir.mkdir(parents=True, exist_ok=True)
    save_file(tiny_models.openai_state_dict(model), str(model_dir / "model.safetensors"))
    vocab = pathlib.Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    shutil.copyfile(vocab, model_dir / "bpe_simple_vocab_16e6.txt.gz")
    return model


def preprocess_images(image_paths):
    """open_clip's eval transform (resize 224 bicubic, centre crop, RGB, normalise) -> [N,3,224,224]."""
    preprocess = open_clip.image_transform(224, is_train=False)
    return torch.stack([preprocess(Image.open(p)) for p in image_paths])


def reference_features(key, model, pixels):
    """fp32 features (the reference) and the same model in float64 (the exact answer both approximate)."""
    refs, exact = {}, {}
    with torch.inference_mode():
        tokens = open_clip.get_tokenizer(OPEN_CLIP_NAMES[key])(PROMPTS)
        refs["text"] = model.encode_text(tokens).numpy()
        if pixels is not None:
            refs["image"] = model.encode_image(pixels).numpy()
        model.double()
        exact["text"] = model.encode_text(tokens).numpy()
        if pixels is not None:
            exact["image"] = model.encode_image(pixels.double()).numpy()
    return refs, exact


def run_cli(binary, model_dir, flag, inputs):
    cmd = [binary, "embed", "--model", str(model_dir)]
    for item in inputs:
        cmd += [flag, str(item)]
    cmd += ["--raw", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"parity_full: `{' '.join(cmd[:4])} ...` failed ({done.returncode}): {done.stderr.strip()}")
    rows = json.loads(done.stdout)["embeddings"]
    same = len(rows) == len(inputs) and all(
        r["input"] == str(i) or (flag == "--image" and pathlib.Path(r["input"]).resolve() == pathlib.Path(i).resolve())
        for r, i in zip(rows, inputs))
    if not same:
        raise SystemExit(f"parity_full: {flag} outputs are not the inputs in order: {[r['input'] for r in rows]}")
    return np.array([r["vector"] for r in rows], dtype=np.float64)


def describe(ref):
    norms = np.linalg.norm(ref, axis=1)
    spread = ref.std(axis=0).mean() / np.abs(ref).mean()
    return (f"shape {list(ref.shape)}, max|ref| {np.abs(ref).max():.4g}, row L2 norms {norms.min():.4g}..{norms.max():.4g}, "
            f"spread across inputs (mean std / mean |f|) {spread:.3g}")


def compare(label, ref, got, exact, tolerance):
    """Prints max |Δ| to the fp32 reference, max relative row error ||Δ||/||ref||, min cosine, and both
    fp32 implementations' distance to the float64 result. Passes when cocoon is within `tolerance` of
    the reference, or no further from the float64 result than the reference itself (×2): deep ResNets
    accumulate fp32 rounding that differs between any two correct implementations. Returns the
    deviation that counts (0 when it passed on the second rule)."""
    if got.shape != ref.shape:
        print(f"  {label}: shape mismatch, cocoon {list(got.shape)} vs reference {list(ref.shape)}")
        return float("inf")
    ref = ref.astype(np.float64)
    diff = np.abs(got - ref)
    rel = np.linalg.norm(got - ref, axis=1) / np.linalg.norm(ref, axis=1)
    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    ours64, torch64 = np.abs(got - exact).max(), np.abs(ref - exact).max()
    close = diff.max() <= tolerance
    as_exact = ours64 <= 2 * torch64
    verdict = "ok" if close or as_exact else "FAIL"
    print(f"  {label}: max|Δ| {diff.max():.3g} (max|ref| {np.abs(ref).max():.3g}), "
          f"max ||Δ||/||ref|| {rel.max():.3g}, min cosine {cos.min():.9f}; "
          f"vs float64: cocoon {ours64:.3g}, open_clip fp32 {torch64:.3g}  {verdict}")
    return 0.0 if (close or as_exact) else diff.max()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=".build/release/cocoon", help="cocoon executable")
    ap.add_argument("--models", default="vit-b-32,rn50", help=f"comma list of {sorted(OPEN_CLIP_NAMES)}")
    ap.add_argument("--text-only", action="store_true", help="skip the image side")
    ap.add_argument("--reference-only", action="store_true", help="only compute and print the references")
    ap.add_argument("--work-dir", help="keep model directories and images here (default: a temp dir, deleted)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max |Δ| allowed (default 2e-4)")
    args = ap.parse_args()

    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in keys if k not in OPEN_CLIP_NAMES]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {sorted(OPEN_CLIP_NAMES)}")
    if not args.reference_only and not pathlib.Path(args.bin).is_file():
        ap.error(f"{args.bin} not found; build it with `swift build -c release` or pass --bin")
    torch.set_num_threads(args.threads)
    logging.getLogger().setLevel(logging.ERROR)  # open_clip warns that no pretrained weights are loaded

    work = pathlib.Path(args.work_dir) if args.work_dir else pathlib.Path(tempfile.mkdtemp(prefix="cocoon-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    worst = 0.0
    try:
        image_paths = [] if args.text_only else make_images(work)
        pixels = preprocess_images(image_paths) if image_paths else None
        for key in keys:
            model_dir = work / key
            print(f"{key} ({OPEN_CLIP_NAMES[key]}, random weights, seed {MODEL_SEED}) -> {model_dir}")
            model = build_model(key, model_dir, pixels)
            refs, exact = reference_features(key, model, pixels)
            del model
            for side, ref in refs.items():
                print(f"  reference {side}: {describe(ref)}")
            if args.reference_only:
                continue
            got = run_cli(args.bin, model_dir, "--text", PROMPTS)
            worst = max(worst, compare("text", refs["text"], got, exact["text"], args.tolerance))
            if image_paths:
                got = run_cli(args.bin, model_dir, "--image", image_paths)
                worst = max(worst, compare("image", refs["image"], got, exact["image"], args.tolerance))
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    if args.reference_only:
        return 0
    passed = worst <= args.tolerance
    print(f"parity: {'PASS' if passed else 'FAIL'} (tolerance {args.tolerance:g}, or as close to float64 as open_clip's fp32)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
