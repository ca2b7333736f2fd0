#!/usr/bin/env python3
"""Convert a CLIP checkpoint into a cocoon model directory (offline, needs torch + open_clip).

Inputs:
  * OpenAI .pt (TorchScript archive: torch.jit.load(...).state_dict(); plain state dicts via torch.load)
  * open_clip .pt/.bin/.pth (state dict, or a training checkpoint {"state_dict": {"module.…": …}})
  * open_clip .safetensors (e.g. open_clip_model.safetensors from the hub)
Output directory:
  model.safetensors             OpenAI key names (open_clip CustomTextCLIP's "text." prefix and DDP's
                                "module." prefix stripped; TorchScript-only entries input_resolution,
                                context_length, vocab_size and attn_mask dropped)
  bpe_simple_vocab_16e6.txt.gz  copied from the installed open_clip package
  open_clip_config.json         if known: --model-name NAME (open_clip's model config), --config FILE,
                                or an open_clip_config.json next to the input file

Hugging Face CLIPModel directories need no conversion: cocoon reads them as they are.
The converted weights are loaded strictly into the reference model (open_clip) before anything is
written, so a directory that converts is one the reference accepts.

  python3 tools/convert_checkpoint.py ViT-B-32.pt models/vit-b-32 [--dtype f16]
  python3 tools/convert_checkpoint.py open_clip_pytorch_model.bin models/rn50 --model-name RN50
  python3 tools/convert_checkpoint.py --self-test
"""
import argparse
import dataclasses
import hashlib
import json
import pathlib
import shutil
import sys
import tempfile

import torch

JIT_SCALARS = ("input_resolution", "context_length", "vocab_size")
VOCAB_NAME = "bpe_simple_vocab_16e6.txt.gz"
VOCAB_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"


class ConversionError(Exception):
    pass


def load_state_dict(path: pathlib.Path, trust_pickle: bool) -> dict:
    """Tensors of a checkpoint file, as stored (names not yet normalised)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    try:  # OpenAI's archives are TorchScript, as clip.load tries first
        return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    except RuntimeError:
        pass
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - report any unpickling failure in one line
        hint = "" if trust_pickle else " (if you trust the file, retry with --trust-pickle)"
        raise ConversionError(f"{path}: cannot load as TorchScript or torch.load: {type(e).__name__}: {str(e).splitlines()[0]}{hint}")
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: not a state dict of tensors")
    return obj


def normalize(sd: dict, path: pathlib.Path) -> dict:
    """OpenAI key names: strip module./text. prefixes, drop TorchScript-only entries."""
    if any(k.startswith(("text_model.", "vision_model.")) for k in sd):
        raise ConversionError(f"{path}: a Hugging Face CLIPModel checkpoint; cocoon reads HF directories "
                              "(model.safetensors + config.json) directly, no conversion needed")
    out = {}
    for key, value in sd.items():
        name = key[len("module."):] if key.startswith("module.") else key
        name = name[len("text."):] if name.startswith("text.") else name
        if name in JIT_SCALARS or name == "attn_mask":
            continue
        if name in out:
            raise ConversionError(f"{path}: two keys map to '{name}'")
        out[name] = value
    for required in ("token_embedding.weight", "positional_embedding", "text_projection", "ln_final.weight"):
        if required not in out:
            raise ConversionError(f"{path}: missing '{required}'; not an OpenAI/open_clip CLIP checkpoint")
    if "visual.proj" not in out and "visual.attnpool.positional_embedding" not in out:
        raise ConversionError(f"{path}: no ViT ('visual.proj') or ModifiedResNet ('visual.attnpool.*') image tower")
    return out


def cast(sd: dict, dtype: str) -> dict:
    target = {"f32": torch.float32, "f16": torch.float16}.get(dtype)
    return {k: (v.to(target) if target is not None and v.is_floating_point() else v).contiguous().clone()
            for k, v in sd.items()}


def check_with_reference(sd: dict, model_cfg) -> None:
    """Strict load into open_clip: the config (or build_model's inference) must fit every tensor."""
    import open_clip
    from open_clip.model import CLIP
    weights = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    try:
        if model_cfg is None:
            open_clip.model.build_model_from_openai_state_dict(dict(weights), cast_dtype=torch.float32)
        else:
            CLIP(**model_cfg).load_state_dict(weights, strict=True)
    except (RuntimeError, KeyError, AssertionError, TypeError) as e:
        detail = " ".join(str(e).split())
        raise ConversionError(f"the reference model rejects the converted weights: {detail[:400]}")


def find_config(args, source: pathlib.Path):
    """open_clip_config.json contents from --config, --model-name or the input's directory, else None."""
    if args.config:
        return json.loads(pathlib.Path(args.config).read_text())
    if args.model_name:
        import open_clip
        model_cfg = open_clip.get_model_config(args.model_name)
        if model_cfg is None:
            raise ConversionError(f"--model-name {args.model_name}: open_clip has no such model config")
        return {"model_cfg": model_cfg,
                "preprocess_cfg": {"mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
                                   "interpolation": "bicubic", "resize_mode": "shortest"}}
    sibling = source.parent / "open_clip_config.json"
    return json.loads(sibling.read_text()) if sibling.exists() else None


def convert(source: pathlib.Path, out_dir: pathlib.Path, dtype: str, config, trust_pickle: bool = False) -> dict:
    from safetensors.torch import save_file
    import open_clip
    sd = cast(normalize(load_state_dict(source, trust_pickle), source), dtype)
    check_with_reference(sd, config["model_cfg"] if config else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    vocab = pathlib.Path(open_clip.__file__).parent / VOCAB_NAME
    if hashlib.sha256(vocab.read_bytes()).hexdigest() != VOCAB_SHA256:
        raise ConversionError(f"{vocab}: unexpected contents (sha256 differs from CLIP's vocabulary)")
    shutil.copyfile(vocab, out_dir / VOCAB_NAME)
    if config is not None:
        (out_dir / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return sd


def self_test() -> None:
    """Random tiny open_clip models saved the ways real checkpoints come, converted and compared."""
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    text = CLIPTextCfg(context_length=16, vocab_size=200, width=64, heads=1, layers=1)
    vit = CLIP(32, CLIPVisionCfg(layers=1, width=64, patch_size=8, image_size=16), text, quick_gelu=True).eval()
    rn_cfg = {"embed_dim": 32, "quick_gelu": False, "text_cfg": dataclasses.asdict(text),
              "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None}}
    rn = CLIP(**rn_cfg).eval()
    reference_vit = {k: v.clone() for k, v in vit.state_dict().items()}
    reference_rn = {k: v.clone() for k, v in rn.state_dict().items()}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        checks = []

        # 1. A TorchScript archive, as OpenAI ships (scripted here; its state dict carries attn_mask).
        torch.jit.save(torch.jit.script(vit), str(tmp / "vit.pt"))
        convert(tmp / "vit.pt", tmp / "vit_jit", "keep", None)
        checks.append(("torchscript .pt", "vit_jit", reference_vit, None))

        # 2. A training checkpoint: {"state_dict": {"module.…"}} plus OpenAI's JIT scalars, stored fp16.
        sd = {"module." + k: v.half() if v.is_floating_point() else v for k, v in reference_vit.items()}
        sd.update({"module.input_resolution": torch.tensor(16), "module.context_length": torch.tensor(16),
                   "module.vocab_size": torch.tensor(200)})
        torch.save({"epoch": 3, "state_dict": sd}, str(tmp / "epoch_3.pt"))
        convert(tmp / "epoch_3.pt", tmp / "vit_ckpt", "f32", None)
        checks.append(("training checkpoint, f16 -> f32", "vit_ckpt", {k: v.half().float() if v.is_floating_point() else v
                                                                for k, v in reference_vit.items()}, torch.float32))

        # 3. open_clip hub layout: CustomTextCLIP "text." keys in .safetensors + open_clip_config.json beside it.
        hub = tmp / "hub"
        hub.mkdir()
        save_file({("text." + k if not k.startswith("visual.") and k != "logit_scale" else k): v.contiguous()
                   for k, v in reference_rn.items()}, str(hub / "open_clip_model.safetensors"))
        (hub / "open_clip_config.json").write_text(json.dumps({"model_cfg": rn_cfg}))
        config = find_config(argparse.Namespace(config=None, model_name=None), hub / "open_clip_model.safetensors")
        convert(hub / "open_clip_model.safetensors", tmp / "rn_hub", "f16", config)
        checks.append(("open_clip safetensors -> f16", "rn_hub", {k: v.half() if v.is_floating_point() else v
                                                             for k, v in reference_rn.items()}, torch.float16))
        assert json.loads((tmp / "rn_hub" / "open_clip_config.json").read_text())["model_cfg"] == rn_cfg

        for label, directory, expected, dtype in checks:
            on_disk = load_file(str(tmp / directory / "model.safetensors"))
            assert set(on_disk) == set(expected), f"{label}: keys differ: {set(on_disk) ^ set(expected)}"
            for k, v in expected.items():
                assert on_disk[k].dtype == (dtype if dtype and v.is_floating_point() else v.dtype), f"{label}: {k} dtype"
                assert torch.equal(on_disk[k], v.to(on_disk[k].dtype)), f"{label}: {k} values differ"
            vocab = (tmp / directory / VOCAB_NAME).read_bytes()
            assert hashlib.sha256(vocab).hexdigest() == VOCAB_SHA256, f"{label}: vocabulary"
            print(f"ok  {label}: {len(on_disk)} tensors identical")

        # 4. Errors are one line.
        (tmp / "junk.pt").write_bytes(b"not a checkpoint")
        try:
            convert(tmp / "junk.pt", tmp / "junk", "keep", None)
            raise AssertionError("junk converted")
        except ConversionError as e:
            assert "\n" not in str(e) and "junk.pt" in str(e)
            print(f"ok  bad input: {e}")
    print("self-test passed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", help=".pt / .bin / .pth / .safetensors checkpoint")
    parser.add_argument("out_dir", nargs="?", help="model directory to write")
    parser.add_argument("--dtype", choices=["keep", "f32", "f16"], default="keep",
                        help="float dtype of the written tensors (default: as stored)")
    parser.add_argument("--model-name", help="open_clip model name whose config to write (e.g. RN50, ViT-B-32-quickgelu)")
    parser.add_argument("--config", help="an open_clip_config.json to copy into the model directory")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow torch.load to unpickle arbitrary objects (only for files you trust)")
    parser.add_argument("--self-test", action="store_true", help="round-trip random tiny models and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.checkpoint or not args.out_dir:
        parser.error("give CHECKPOINT and OUT_DIR (or --self-test)")
    source = pathlib.Path(args.checkpoint)
    try:
        sd = convert(source, pathlib.Path(args.out_dir), args.dtype, find_config(args, source), args.trust_pickle)
    except (ConversionError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in sd.values()})
    print(f"wrote {args.out_dir}: {len(sd)} tensors ({', '.join(dtypes)}), tokenizer vocabulary"
          + (", open_clip_config.json" if (pathlib.Path(args.out_dir) / "open_clip_config.json").exists() else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
