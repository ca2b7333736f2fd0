#!/usr/bin/env python3
"""Read a cocoon feature store (schema version 2) from Python with only `lmdb` and `numpy`.

A cocoon store is one LMDB directory (data.mdb, lock.mdb) that `cocoon index` fills with CLIP image
features; cache-schema/SCHEMA.md is the layout this module follows. It opens the store read-only
(safe while an indexer writes), never writes to it, and returns the same values as
`cocoon query export`: raw stored features decoded to float32 (f16 values convert exactly).

Install the two modules with `apt-get install python3-lmdb python3-numpy` (Debian) or
`pip install lmdb numpy`.

Usage::

    import sys; sys.path.insert(0, "tools")       # or importlib, see below
    from cocoon_store import Store

    with Store("cache/store") as store:
        print(store.extractors())                 # [{'id': '9edaea7fae63c9fd', 'model_name': 'ViT-B-16', ...}]
        print(store.datasets())                   # [{'id': ..., 'name': 'OxfordPets', 'splits': {...}, ...}]
        print(store.recipes())                    # [{'id': 'f6b13897', 'policy': 'rrc(0.08-1,3/4-4/3)+hflip', 'seed': 1}]
        test = store.features("ViT-B-16", "OxfordPets", "test")
        test["features"].shape                    # (N, D) float32, view 0 (the eval transform)
        test["labels"], test["items"], test["paths"]
        train = store.features("ViT-B-16", "OxfordPets", "train", recipe="f6b13897", subset="16shot-s1")
        train["features"].shape                   # (N, 1 + K, D): view 0, then the recipe's K views

    # As a script: the files `cocoon query export` writes (features.npy float32, labels.npy int64, items.csv)
    #   /usr/bin/python3 tools/cocoon_store.py STORE --model M --dataset D --split train \\
    #       --recipe f6b13897 --subset 16shot-s1 --out DIR

API: `Store(path)` with `.extractors()`, `.recipes()`, `.datasets()`, `.numerics()`,
`.classnames(dataset)`, `.items(dataset, split)` → [(relative path, label)], `.subsets(dataset, split)`,
`.subset(dataset, split, name)` → item ids, `.features(model, dataset, split, recipe=None, subset=None,
dtype="float32", normalized=False, verify=False)` → dict. `model` is the model name the store
records (`cocoon index --name`, default the model directory's name) or the model fingerprint (64 hex);
`dataset` the stored dataset name (any spelling cocoon accepts, e.g. "pets" for OxfordPets). When
the store holds several extractors of a model or versions of a dataset, pass `extractor=` /
`dataset_id=` (16 hex digits, shown by `cocoon query stats`). Every error is a `StoreError` whose
message is one line naming the store.
"""
import argparse
import json
import os
import struct
import sys
import warnings

import lmdb
import numpy as np

SCHEMA_VERSION = 2
KEY_VERSION = 2  # byte 0 of every `feat`, `failures` and `jobs` key
VALUE_VERSION = 1  # byte 2 of every `feat` value
SPLITS = {"train": 0, "val": 1, "test": 2}
SPLIT_NAMES = {v: k for k, v in SPLITS.items()}
SUB_DATABASES = ("meta", "models", "extractors", "datasets", "items", "subsets", "feat", "failures", "jobs", "recipes")

FEATURE_KEY_LENGTH = 28  # ver u8 | ext u64 | ds u64 | split u8 | item u32 | recipe u32 | view u16
GROUP_LENGTH = 18  # ver | ext | ds | split
HEADER_SIZE = 16  # "CF" | value version u8 | dtype u8 | dim u16 | flags u16 | norm f32 | crc32c u32
DTYPES = {1: ("f16", np.dtype("<f2"), 2), 2: ("f32", np.dtype("<f4"), 4)}
FLAG_NORMALIZED = 1
ITEM_FIXED_BYTES = 45  # label i32 | file size u64 | has_sha u8 | sha256 [32] | path UTF-8


class StoreError(Exception):
    """A store that cannot be read, or a request it cannot answer (one line, naming the store)."""


# --- CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and xorout 0xFFFFFFFF -------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()
_CRC32C_NP = np.array(CRC32C_TABLE, dtype=np.uint32)


def crc32c(data, crc=0):
    """CRC-32C of `data` (bytes-like), continuing from a previous result `crc` (0 to start).
    crc32c(b"123456789") == 0xE3069283."""
    table = CRC32C_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _crc32c_rows(rows):
    """CRC-32C of each row of `rows` (uint8 [N, L]) at once: the same table-driven recurrence,
    one byte column at a time over all rows (fast for many rows)."""
    c = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    for j in range(rows.shape[1]):
        c = _CRC32C_NP[(c ^ rows[:, j]) & 0xFF] ^ (c >> 8)
    return c ^ np.uint32(0xFFFFFFFF)


def feature_value_crc(value):
    """The CRC a `feat` value must carry: over header bytes 0..<12, then the payload (bytes 16…)."""
    return crc32c(bytes(value[HEADER_SIZE:]), crc32c(bytes(value[:12])))


# --- dataset names, as cocoon matches them (Sources/Datasets/DatasetCatalog.swift) ---------------

_CATALOG_NAMES = [
    "ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101", "FGVCAircraft",
    "SUN397", "DescribableTextures", "EuroSAT", "UCF101", "ImageNetV2", "ImageNetSketch", "ImageNetA",
    "ImageNetR", "split-json", "image-folder", "csv",
]
_CATALOG_ALIASES = {
    "pets": "OxfordPets", "cars": "StanfordCars", "flowers": "OxfordFlowers", "aircraft": "FGVCAircraft",
    "fgvc": "FGVCAircraft", "sun": "SUN397", "dtd": "DescribableTextures", "textures": "DescribableTextures",
    "ucf": "UCF101", "imagenetadversarial": "ImageNetA", "imagenetrendition": "ImageNetR", "sketch": "ImageNetSketch",
    "caltech": "Caltech101", "food": "Food101", "splitjson": "split-json", "imagefolder": "image-folder",
}


def _catalog_key(name):
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def _canonical_dataset_name(name):
    k = _catalog_key(name)
    for canonical in _CATALOG_NAMES:
        if _catalog_key(canonical) == k:
            return canonical
    return _CATALOG_ALIASES.get(k)


def _stored_name_matches(stored, requested):
    return stored.lower() == requested.lower() or stored == _canonical_dataset_name(requested)


def _split_byte(split):
    if isinstance(split, int) and split in SPLIT_NAMES:
        return split
    if split not in SPLITS:
        raise StoreError("split '%s': expected train, val or test" % (split,))
    return SPLITS[split]


def _recipe_id(recipe):
    if isinstance(recipe, int) and not isinstance(recipe, bool) and 0 < recipe < 1 << 32:
        return recipe
    if isinstance(recipe, str) and len(recipe) == 8:
        try:
            value = int(recipe, 16)
        except ValueError:
            value = 0
        if value > 0:
            return value
    raise StoreError("recipe %r: expected 8 hex digits (see `cocoon query stats` or Store.recipes())" % (recipe,))


class Store:
    """A cocoon feature store opened read-only. Use as a context manager or call `close()`."""

    def __init__(self, path, lock=True):
        """Opens the store directory `path`. `lock=True` registers this reader in lock.mdb, so a
        concurrent `cocoon index` cannot reuse pages under it; when lock.mdb cannot be written
        (read-only filesystem or permissions) the store is opened without the lock and a warning
        says that a concurrent writer must not run."""
        self.path = os.path.realpath(path) if os.path.exists(path) else path
        if not os.path.isdir(path):
            raise StoreError("%s: no such store directory; check the path or run `cocoon index`" % path)
        if not os.path.exists(os.path.join(path, "data.mdb")):
            raise StoreError("%s: not a cocoon store (no data.mdb); point it at a cocoon store directory" % self.path)
        self._env = None
        try:
            self._env = self._open(lock)
        except lmdb.Error as first:
            if not lock:
                raise StoreError("%s: cannot open the LMDB environment (%s)" % (self.path, first)) from None
            try:
                self._env = self._open(False)
            except lmdb.Error as second:
                raise StoreError("%s: cannot open the LMDB environment (%s)" % (self.path, second)) from None
            warnings.warn("%s: opened without the LMDB lock (%s); do not index into this store while reading it"
                          % (self.path, first), stacklevel=2)
        self._dbs = {}
        try:
            meta = self._db("meta")
        except KeyError:
            self.close()
            raise StoreError("%s: not a cocoon store (no meta record); point it at a cocoon store directory" % self.path) from None
        with self._env.begin(db=meta) as txn:
            raw = txn.get(b"schema")
        try:
            self.meta = json.loads(bytes(raw).decode("utf-8"))
            schema = self.meta["schema"]
            if not isinstance(schema, int):
                raise ValueError
        except (TypeError, ValueError, KeyError, UnicodeDecodeError):
            self.close()
            raise StoreError("%s: not a cocoon store (meta record unreadable); point it at a cocoon store directory" % self.path) from None
        if schema != SCHEMA_VERSION:
            self.close()
            fix = ("use a cocoon_store.py that reads version %d" % schema if schema > SCHEMA_VERSION
                   else "upgrade it in place with `cocoon store upgrade %s`" % self.path)
            raise StoreError("%s: schema version %d, this reader reads version %d; %s" % (self.path, schema, SCHEMA_VERSION, fix))

    def _open(self, lock):
        return lmdb.open(self.path, readonly=True, lock=lock, max_dbs=16, subdir=True, create=False)

    def close(self):
        if self._env is not None:
            self._env.close()
            self._env = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "Store(%r)" % self.path

    # --- raw access -------------------------------------------------------------------------------

    def _db(self, name):
        """The handle of sub-database `name`; KeyError when the store has none."""
        if name not in self._dbs:
            if self._env is None:
                raise StoreError("%s: the store is closed" % self.path)
            try:
                self._dbs[name] = self._env.open_db(name.encode(), create=False)
            except lmdb.NotFoundError:
                raise KeyError(name) from None
        return self._dbs[name]

    def _entries(self, name, prefix=b""):
        """(key, value) pairs of sub-database `name` whose key starts with `prefix`, in key order."""
        try:
            db = self._db(name)
        except KeyError:
            return []
        out = []
        with self._env.begin(db=db, buffers=False) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return out
            for k, v in cursor:
                if not k.startswith(prefix):
                    break
                out.append((k, v))
        return out

    def _json(self, raw, what):
        try:
            return json.loads(bytes(raw).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise StoreError("%s: record %s is not valid JSON; the store is damaged, run `cocoon store verify`"
                             % (self.path, what)) from None

    # --- records ----------------------------------------------------------------------------------

    def extractors(self):
        """Every extractor (model + eval preprocessing) in id order: its record plus "id" (16 hex)."""
        out = []
        for k, v in self._entries("extractors"):
            ext = k.hex()
            out.append(dict(self._json(v, "extractors/" + ext), id=ext))
        return out

    def recipes(self):
        """Every augmentation recipe in id order: {"id": 8 hex, "policy", "seed"}. Recipe 0 (view 0,
        the eval transform) has no record."""
        out = []
        for k, v in self._entries("recipes"):
            rid = k.hex()
            out.append(dict(self._json(v, "recipes/" + rid), id=rid))
        return out

    def datasets(self):
        """Every dataset in id order: {"id", "name", "classnames", "splits", "manifest_sha256"}."""
        out = []
        for k, v in self._entries("datasets"):
            ds = k.hex()
            out.append(dict(self._json(v, "datasets/" + ds), id=ds))
        return out

    def numerics(self):
        """{ext id: {"library", "kernels"}}: the BLAS that computed each extractor's features."""
        prefix = b"numerics/"
        return {k[len(prefix):].decode(): self._json(v, k.decode()) for k, v in self._entries("meta", prefix)}

    def extractor(self, model, extractor=None):
        """The one extractor of `model` (stored model name or fingerprint), narrowed by `extractor`
        (16 hex digits) when the store holds several; absence and ambiguity are one-line errors."""
        everything = self.extractors()
        model = str(model)
        if len(model) == 64 and all(c in "0123456789abcdefABCDEF" for c in model):
            candidates = [e for e in everything if e.get("model_fingerprint", "").lower() == model.lower()]
            what = "this model (fingerprint %s…)" % model[:16].lower()
        else:
            candidates = [e for e in everything if e.get("model_name") == model]
            what = "model '%s'" % model
        if extractor is not None:
            if len(extractor) != 16 or not all(c in "0123456789abcdef" for c in extractor.lower()):
                raise StoreError("extractor '%s': expected 16 hex digits (see `cocoon query stats`)" % extractor)
            candidates = [e for e in candidates if e["id"] == extractor.lower()]
        if not candidates:
            known = sorted({e.get("model_name", "?") for e in everything})
            raise StoreError("%s: no features of %s%s; stored models: %s (index it with `cocoon index --store %s`)"
                             % (self.path, what, " with extractor %s" % extractor if extractor else "",
                                ", ".join(known) if known else "none", self.path))
        if len(candidates) > 1:
            listed = "; ".join("%s (%s, %s, %s, %s…)" % (e["id"], e.get("model_name"), e.get("precision", "fp32"),
                                                       e.get("code_version"), str(e.get("preprocessing", ""))[:40])
                               for e in candidates)
            raise StoreError("%s: %d extractors of %s: %s; choose one with extractor=ID (--extractor ID)"
                             % (self.path, len(candidates), what, listed))
        return candidates[0]

    def dataset(self, name, dataset_id=None):
        """The one dataset stored as `name` (exact name up to case, or cocoon's canonical name for
        it), narrowed by `dataset_id` (16 hex digits) when several versions are stored."""
        everything = self.datasets()
        candidates = [d for d in everything if _stored_name_matches(d.get("name", ""), str(name))]
        if dataset_id is not None:
            if len(dataset_id) != 16 or not all(c in "0123456789abcdef" for c in dataset_id.lower()):
                raise StoreError("dataset_id '%s': expected 16 hex digits (see `cocoon query stats`)" % dataset_id)
            candidates = [d for d in candidates if d["id"] == dataset_id.lower()]
        if not candidates:
            known = sorted(d.get("name", "?") for d in everything)
            raise StoreError("%s: no dataset '%s'; stored datasets: %s (index it with `cocoon index --dataset %s --store %s`)"
                             % (self.path, name, ", ".join(known) if known else "none", name, self.path))
        if len(candidates) > 1:
            raise StoreError("%s: %d versions of dataset '%s' are stored (%s); choose one with dataset_id=ID (--dataset-id ID)"
                             % (self.path, len(candidates), name, ", ".join(d["id"] for d in candidates)))
        return candidates[0]

    def classnames(self, dataset, dataset_id=None):
        """Class names of `dataset`; label i names classnames[i]."""
        return list(self.dataset(dataset, dataset_id)["classnames"])

    def _item_records(self, ds_hex, split_byte):
        """{item id: (relative path, label, file size, sha256 hex or None)} of one split."""
        out = {}
        for k, v in self._entries("items", bytes.fromhex(ds_hex) + bytes([split_byte])):
            if len(k) != 13 or len(v) < ITEM_FIXED_BYTES:
                raise StoreError("%s: damaged item record %s; re-register the dataset" % (self.path, k.hex()))
            label, size, has_sha = struct.unpack_from("<iQB", v, 0)
            sha = v[13:45].hex() if has_sha else None
            try:
                path = v[ITEM_FIXED_BYTES:].decode("utf-8")
            except UnicodeDecodeError:
                raise StoreError("%s: damaged item record %s (path is not UTF-8)" % (self.path, k.hex())) from None
            out[struct.unpack(">I", k[9:13])[0]] = (path, label, size, sha)
        return out

    def items(self, dataset, split, dataset_id=None):
        """The items of a split in item-id order: [(relative path, label)] (item id = list index)."""
        ds = self.dataset(dataset, dataset_id)
        records = self._item_records(ds["id"], _split_byte(split))
        return [(records[i][0], records[i][1]) for i in sorted(records)]

    def subsets(self, dataset, split, dataset_id=None):
        """Names of the stored subsets of a split (e.g. "16shot-s1")."""
        ds = self.dataset(dataset, dataset_id)
        prefix = bytes.fromhex(ds["id"]) + bytes([_split_byte(split)])
        return [k[len(prefix):].decode("utf-8") for k, _ in self._entries("subsets", prefix)]

    def _subset(self, ds, split_byte, name):
        key = bytes.fromhex(ds["id"]) + bytes([split_byte]) + name.encode("utf-8")
        try:
            db = self._db("subsets")
        except KeyError:
            db = None
        raw = None
        if db is not None:
            with self._env.begin(db=db) as txn:
                raw = txn.get(key)
        if raw is None:
            prefix = key[:9]
            known = [k[9:].decode("utf-8", "replace") for k, _ in self._entries("subsets", prefix)]
            raise StoreError("%s: no subset '%s' of %s %s; stored: %s" % (self.path, name, ds.get("name"),
                                                                         SPLIT_NAMES[split_byte], ", ".join(known) if known else "none"))
        # count u32 LE, then count item ids u32 LE, strictly ascending (FeatureStore.putSubset).
        if len(raw) < 4 or len(raw) != 4 + 4 * struct.unpack_from("<I", raw, 0)[0]:
            raise StoreError("%s: damaged subset record '%s'; run `cocoon store verify`" % (self.path, name))
        return [int(x) for x in np.frombuffer(raw, dtype="<u4", offset=4)]

    def subset(self, dataset, split, name, dataset_id=None):
        """The item ids (ascending) of a named subset of a split, e.g. "16shot-s1"."""
        return self._subset(self.dataset(dataset, dataset_id), _split_byte(split), name)

    # --- features ---------------------------------------------------------------------------------

    def features(self, model, dataset, split, recipe=None, subset=None, dtype="float32", normalized=False,
                 verify=False, extractor=None, dataset_id=None):
        """The features of one model × dataset × split, all items or those of `subset` (a stored
        subset name or a list of item ids), in item order. Items without features are left out.

        Without `recipe`: view 0 (eval transform) only, `features` [N, D]. With `recipe` (8 hex
        digits): view 0 then views 1…K of that recipe, `features` [N, 1 + K, D]; every item must
        have the same views (pass a subset, e.g. the few-shot subset the views were made for).
        `dtype`: "float32" (f16 values convert exactly) or "float16" (f16 values as stored; f32
        values round to nearest). `normalized`: L2-normalise each vector (in float32, summing in
        dimension order as cocoon does). `verify`: check every value's CRC-32C.

        Returns {"features", "items" (int64 [N]), "labels" (int64 [N], -1 without an item
        record), "paths" ([N] relative paths), "norms" (float32, the stored L2 norm of each
        vector before f16 rounding, [N] or [N, 1 + K]), "extractor", "dataset" (ids), "recipe"}.
        """
        if dtype not in ("float32", "float16"):
            raise StoreError("dtype '%s': expected float32 or float16" % (dtype,))
        ext = self.extractor(model, extractor)
        ds = self.dataset(dataset, dataset_id)
        split_byte = _split_byte(split)
        split_name = SPLIT_NAMES[split_byte]
        wanted = _recipe_id(recipe) if recipe is not None else 0
        group = bytes([KEY_VERSION]) + bytes.fromhex(ext["id"]) + bytes.fromhex(ds["id"]) + bytes([split_byte])
        if subset is None:
            ids = None
        elif isinstance(subset, str):
            ids = self._subset(ds, split_byte, subset)
        else:
            ids = sorted({int(i) for i in subset})

        # Walk the keys: (item, view) of view 0 and of the wanted recipe, in key order.
        rows = []  # (item, view, value)
        others = {}  # recipe id → items with views of it (for the error naming stored recipes)
        try:
            db = self._db("feat")
        except KeyError:
            db = None
        if db is not None:
            with self._env.begin(db=db, buffers=False) as txn:
                cursor = txn.cursor()
                prefixes = [group] if ids is None else [group + struct.pack(">I", i) for i in ids]
                for prefix in prefixes:
                    if not cursor.set_range(prefix):
                        continue
                    for k, v in cursor:
                        if not k.startswith(prefix):
                            break
                        if len(k) != FEATURE_KEY_LENGTH:
                            continue
                        item, r, view = struct.unpack(">IIH", k[18:28])
                        if r == 0 or r == wanted:
                            rows.append((item, view, r, k, v))
                        else:
                            others.setdefault(r, set()).add(item)
        if not rows:
            raise StoreError("%s: no features of %s %s for %s (extractor %s); index the split first"
                             % (self.path, ds.get("name"), split_name, ext.get("model_name"), ext["id"]))
        if wanted and not any(r == wanted for _, _, r, _, _ in rows):
            stored = {r: len(items) for r, items in others.items()}
            names = {int(x["id"], 16): x for x in self.recipes()}
            listed = "; ".join("%08x (%s, seed %s, %d items)" % (r, names.get(r, {}).get("policy", "?"),
                                                                   names.get(r, {}).get("seed", "?"), stored[r])
                               for r in sorted(stored)) or "none"
            raise StoreError("%s: no %s views of recipe %08x for %s (%s); stored recipes: %s"
                             % (self.path, split_name, wanted, ds.get("name"), ext.get("model_name"), listed))

        # Items and their view counts (rows come item by item).
        items, counts = [], []
        for item, _, _, _, _ in rows:
            if not items or items[-1] != item:
                items.append(item)
                counts.append(0)
            counts[-1] += 1
        views = counts[0]
        if any(c != views for c in counts):
            raise StoreError("%s: items of %s %s have between %d and %d views (augmented views only on few-shot items); "
                             "read recipe=None or pass subset=NAME" % (self.path, ds.get("name"), split_name, min(counts), max(counts)))

        values, norms, stored_f16 = self._decode(rows, verify)
        N, D = len(items), values.shape[1]
        if normalized:
            values = _l2_normalize(values.astype(np.float32, copy=False))
        if dtype == "float32":
            values = values.astype(np.float32, copy=False)
        elif not (stored_f16 and not normalized):
            values = values.astype(np.float16)
        if wanted:
            values = values.reshape(N, views, D)
            norms = norms.reshape(N, views)
        records = self._item_records(ds["id"], split_byte)
        return {
            "features": values,
            "items": np.array(items, dtype=np.int64),
            "labels": np.array([records[i][1] if i in records else -1 for i in items], dtype=np.int64),
            "paths": [records[i][0] if i in records else "" for i in items],
            "norms": norms,
            "extractor": ext["id"],
            "dataset": ds["id"],
            "recipe": "%08x" % wanted if wanted else None,
        }

    def _decode(self, rows, verify):
        """Checks each value's header (and CRC when `verify`) and decodes all payloads: [rows, D]
        float16 when every value is f16, else float32; the stored norms; whether all were f16."""
        dim = None
        codes = set()
        for _, _, _, k, v in rows:
            problem = self._problem(v)
            if problem is None:
                d = struct.unpack_from("<H", v, 4)[0]
                if dim is None:
                    dim = d
                elif d != dim:
                    problem = "dim %d, others %d (the store mixes extractors under one id, re-index)" % (d, dim)
            if problem is not None:
                raise StoreError("%s: %s in feat key %s; run `cocoon store verify` and re-index the item"
                                 % (self.path, problem, k.hex()))
            codes.add(v[3])
        if verify:
            for code in codes:
                selected = [(k, v) for _, _, _, k, v in rows if v[3] == code]
                raw = np.frombuffer(b"".join(v for _, v in selected), dtype=np.uint8).reshape(len(selected), -1)
                expected = raw[:, 12:16].copy().view("<u4").reshape(-1)
                got = _crc32c_rows(np.concatenate([raw[:, :12], raw[:, HEADER_SIZE:]], axis=1))
                bad = np.nonzero(got != expected)[0]
                if bad.size:
                    raise StoreError("%s: checksum mismatch in feat key %s; run `cocoon store verify` and re-index the item"
                                     % (self.path, selected[int(bad[0])][0].hex()))
        norms = np.array([struct.unpack_from("<f", v, 8)[0] for _, _, _, _, v in rows], dtype=np.float32)
        if codes == {1}:
            payload = b"".join(v[HEADER_SIZE:] for _, _, _, _, v in rows)
            return np.frombuffer(payload, dtype="<f2").reshape(len(rows), dim).astype(np.float16), norms, True
        out = np.empty((len(rows), dim), dtype=np.float32)
        for i, (_, _, _, _, v) in enumerate(rows):
            out[i] = np.frombuffer(v, dtype=DTYPES[v[3]][1], offset=HEADER_SIZE).astype(np.float32)
        return out, norms, False

    @staticmethod
    def _problem(v):
        """Why a stored value is unusable (without the CRC), or None."""
        if len(v) < HEADER_SIZE:
            return "value of %d bytes is shorter than the 16-byte header" % len(v)
        if v[0:2] != b"CF":
            return "bad magic"
        if v[2] != VALUE_VERSION:
            return "value version %d, expected %d" % (v[2], VALUE_VERSION)
        if v[3] not in DTYPES:
            return "unknown dtype %d" % v[3]
        name, _, size = DTYPES[v[3]]
        dim = struct.unpack_from("<H", v, 4)[0]
        if len(v) != HEADER_SIZE + dim * size:
            return "value of %d bytes does not match dim %d %s" % (len(v), dim, name)
        return None


def _l2_normalize(x):
    """Rows of float32 `x` divided by their L2 norm as cocoon computes it (float32 sum of squares in
    dimension order, 1/sqrt, multiply); all-zero rows stay zero."""
    s = np.zeros(x.shape[0], dtype=np.float32)
    for j in range(x.shape[1]):
        s += x[:, j] * x[:, j]
    with np.errstate(divide="ignore"):
        inv = np.where(s > 0, np.float32(1) / np.sqrt(s), np.float32(1)).astype(np.float32)
    return x * inv[:, None]


def _csv_field(s):
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def main(argv=None):
    parser = argparse.ArgumentParser(description="Export features of a cocoon store (schema 2) like `cocoon query export`: "
                                                 "features.npy (float32), labels.npy (int64) and items.csv.")
    parser.add_argument("store", help="store directory")
    parser.add_argument("--model", required=True, help="model name as indexed, or its fingerprint (64 hex)")
    parser.add_argument("--dataset", required=True, help="dataset name")
    parser.add_argument("--split", default="test", help="train, val or test (default: test)")
    parser.add_argument("--recipe", help="also the augmented views of this recipe (8 hex digits)")
    parser.add_argument("--subset", help="only the items of this subset (e.g. 16shot-s1)")
    parser.add_argument("--extractor", help="extractor id (16 hex) when the store holds several for the model")
    parser.add_argument("--dataset-id", help="dataset id (16 hex) when several versions are stored")
    parser.add_argument("--normalized", action="store_true", help="L2-normalise each vector")
    parser.add_argument("--verify", action="store_true", help="check every value's CRC-32C")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        with Store(args.store) as store:
            result = store.features(args.model, args.dataset, args.split, recipe=args.recipe, subset=args.subset,
                                    normalized=args.normalized, verify=args.verify, extractor=args.extractor,
                                    dataset_id=args.dataset_id)
            classnames = store.dataset(args.dataset, args.dataset_id)["classnames"]
    except StoreError as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "features.npy"), result["features"])
    np.save(os.path.join(args.out, "labels.npy"), result["labels"])
    lines = ["path,label,classname\n"]
    for path, label in zip(result["paths"], result["labels"].tolist()):
        name = classnames[label] if 0 <= label < len(classnames) else ""
        lines.append("%s,%d,%s\n" % (_csv_field(path), label, _csv_field(name)))
    with open(os.path.join(args.out, "items.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("".join(lines))
    shape = "[" + ", ".join(str(n) for n in result["features"].shape) + "]"
    print("%s: features.npy %s float32, labels.npy [%d] int64, items.csv %d rows"
          % (args.out, shape, len(result["items"]), len(result["items"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
