#!/usr/bin/env python3
"""Export CoOp's few-shot pickles to JSON that cocoon's `Datasets` module reads.

CoOp caches each few-shot draw as `<dataset_dir>/split_fewshot/shot_{N}-seed_{S}.pkl`: a pickled dict
{"train": [Datum], "val": [Datum]} (ImageNet: train only) of dassl `Datum` objects with attributes
`_impath` (absolute path on the machine that made it), `_label` (before class subsampling) and
`_classname`. This is the exact route to CoOp's draws (ImageNet's draws depend on `os.listdir` order,
which cocoon cannot reproduce). dassl need not be installed: the unpickler maps its Datum class to a
plain stand-in.

Output: {"source": "<pkl name>", "train": [[relpath, label, classname], ...], "val": [...]} with
paths relative to the dataset's image dir (the split-JSON prefix: e.g. oxford_pets/images,
imagenet/images, stanford_cars). A path from another machine is cut after the longest tail of
--image-dir that it contains (e.g. "/oxford_pets/images/").

Usage: python3 tools/export_fewshot.py PKL --image-dir DATA/oxford_pets/images [--out OUT.json]
       (default OUT: PKL with the suffix .json). Read it in Swift with `Dataset.subset(from:)`.
"""
import argparse
import json
import os
import pathlib
import pickle
import sys


class Datum:
    """Stand-in for dassl.data.datasets.base_dataset.Datum (only its attributes are used)."""


class FewShotUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name == "Datum" and module.startswith("dassl"):
            return Datum
        return super().find_class(module, name)


def relative_path(impath, image_dir):
    image_dir = os.path.normpath(str(image_dir))
    impath = os.path.normpath(str(impath))
    if impath.startswith(image_dir + os.sep):
        return impath[len(image_dir) + 1:]
    parts = [p for p in image_dir.split(os.sep) if p]
    for count in range(len(parts), 0, -1):
        marker = os.sep + os.sep.join(parts[-count:]) + os.sep
        cut = impath.rfind(marker)
        if cut >= 0:
            return impath[cut + len(marker):]
    raise ValueError(f"{impath} is not under {image_dir} nor contains its folder name; pass the right --image-dir")


def entries(items, image_dir, key):
    out = []
    for i, d in enumerate(items):
        try:
            out.append([relative_path(d._impath, image_dir), int(d._label), str(d._classname)])
        except AttributeError as e:
            raise ValueError(f"{key}[{i}] is not a dassl Datum ({e})") from None
    return out


def export(pkl_path, image_dir):
    """Returns the JSON-ready dict for one few-shot pickle."""
    with open(pkl_path, "rb") as f:
        data = FewShotUnpickler(f).load()
    if not isinstance(data, dict) or "train" not in data:
        raise ValueError(f"{pkl_path}: expected a dict with 'train' (and 'val'), got {type(data).__name__}")
    result = {"source": pathlib.Path(pkl_path).name, "train": entries(data["train"], image_dir, "train")}
    if data.get("val") is not None:
        result["val"] = entries(data["val"], image_dir, "val")
    return result


def to_json(result):
    """JSON text with one [relpath, label, classname] entry per line."""
    parts = [f' "source": {json.dumps(result["source"])}']
    for key in ("train", "val"):
        if key in result:
            rows = ",\n".join("  " + json.dumps(entry) for entry in result[key])
            parts.append(f' "{key}": [\n{rows}\n ]' if rows else f' "{key}": []')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pkl", type=pathlib.Path)
    parser.add_argument("--image-dir", required=True, type=pathlib.Path,
                        help="the dataset's image dir (split-JSON prefix), e.g. DATA/oxford_pets/images")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    try:
        result = export(args.pkl, args.image_dir)
    except (OSError, ValueError, pickle.UnpicklingError) as e:
        sys.exit(f"export_fewshot: {e}")
    out = args.out or args.pkl.with_suffix(".json")
    out.write_text(to_json(result))
    print(f"{out}: {len(result['train'])} train, {len(result.get('val', []))} val")


if __name__ == "__main__":
    main()
