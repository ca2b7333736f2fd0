#!/usr/bin/env python3
"""Wall time of the papers' full CoOp and CoCoOp grids from measured rates (README "Reproducing the papers").

    python3 tools/grid_estimate.py --images-per-second 4.3 \
        --coop 10:0.164,47:0.419,100:0.863,397:2.574,1000:5.613 \
        --cocoop 10:0.206,100:0.885,1000:6.069 --views 10 --tasks 1,32

Rates come from `cocoon bench encode` (the image tower, images/s) and `cocoon bench tune --cases
coop:K,…,cocoop:K,…` (s/step at K classes; linear between the measured K). The formula is the
one `cocoon reproduce --dry-run` prints:

    wall = images / (images/s · tasks) + Σ_cells epochs · steps_per_epoch · s/step(K) / tasks

with steps_per_epoch = floor(shots·K / batch) (CoOp batch 32, CoCoOp batch 1), and images =
test + val splits + every few-shot draw's images × (1 + views), as `reproduce` indexes them (only
the draws of the train split, view 0 plus the augmented views). `tasks` parallel workers (Slurm
array tasks of the same speed) divide both terms, but tuning can never take less than its
longest cell (one cell runs in one task): wall_tune = max(Σ cells / tasks, longest cell).
"""
import argparse

# name: (classes, val images, test images) from the CoOp paper's dataset table; variants test only.
DATASETS = {
    "ImageNet": (1000, 50000, 50000), "Caltech101": (100, 1649, 2465), "OxfordPets": (37, 736, 3669),
    "StanfordCars": (196, 1635, 8041), "OxfordFlowers": (102, 1633, 2463), "Food101": (101, 20200, 30300),
    "FGVCAircraft": (100, 3333, 3333), "SUN397": (397, 3970, 19850), "DescribableTextures": (47, 1128, 1692),
    "EuroSAT": (10, 5400, 8100), "UCF101": (101, 1898, 3783),
}
VARIANTS = {"ImageNetV2": 10000, "ImageNetSketch": 50889, "ImageNetA": 7500, "ImageNetR": 30000}
SHOTS, SEEDS = [1, 2, 4, 8, 16], 3


def rate(points, k):
    """s/step at K classes: linear between the measured points, extrapolated from the last two."""
    pts = sorted(points)
    for (k0, s0), (k1, s1) in zip(pts, pts[1:]):
        if k <= k1 or (k1, s1) == pts[-1]:
            return s0 + (s1 - s0) * (k - k0) / (k1 - k0)
    return pts[0][1]


def coop_epochs(name, shots):
    return 50 if name == "ImageNet" or shots == 1 else (100 if shots in (2, 4) else 200)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images-per-second", type=float, required=True)
    p.add_argument("--coop", required=True, help="K:s/step,… of CoOp (M = 16, batch 32)")
    p.add_argument("--cocoop", required=True, help="K:s/step,… of CoCoOp (M = 4, batch 1)")
    p.add_argument("--views", type=int, default=10)
    p.add_argument("--tasks", default="1,32")
    a = p.parse_args()
    parse = lambda s: [(int(k), float(v)) for k, v in (x.split(":") for x in s.split(","))]
    coop, cocoop = parse(a.coop), parse(a.cocoop)

    # CoOp grid: few-shot CoOp on 11 datasets × 5 shots × 3 seeds (DG reuses the ImageNet 16-shot cells).
    coop_cells = [coop_epochs(n, s) * max(1, s * k // 32) * rate(coop, k)
                  for n, (k, _, _) in DATASETS.items() for s in SHOTS for _ in range(SEEDS)]
    coop_images = sum(v + t + sum(SHOTS) * k * SEEDS * (1 + a.views) for k, v, t in DATASETS.values()) + sum(VARIANTS.values())
    # CoCoOp grid: base-to-new (CoCoOp and CoOp M = 4 on the base half, 16 shots) on 11 datasets × 3 seeds,
    # plus CoCoOp and CoOp M = 4 on all ImageNet classes for cross-dataset transfer and domain generalisation.
    cocoop_cells = []
    for n, (k, _, _) in DATASETS.items():
        base = (k + 1) // 2
        cocoop_cells += [10 * 16 * base * rate(cocoop, base), coop_epochs(n, 16) * max(1, 16 * base // 32) * rate(coop, base)] * SEEDS
    cocoop_cells += [10 * 16 * 1000 * rate(cocoop, 1000), 50 * (16 * 1000 // 32) * rate(coop, 1000)] * SEEDS
    cocoop_images = sum(v + t + 16 * k * SEEDS * (1 + a.views) for k, v, t in DATASETS.values()) + sum(VARIANTS.values())

    for tasks in (int(t) for t in a.tasks.split(",")):
        for name, images, cells in (("CoOp grid", coop_images, coop_cells), ("CoCoOp grid", cocoop_images, cocoop_cells)):
            index_h = images / a.images_per_second / tasks / 3600
            tune_h = max(sum(cells) / tasks, max(cells)) / 3600
            print(f"{name}, {tasks} task(s): index {images:,} images {index_h:.1f} h + tune {len(cells)} cells "
                  f"{tune_h:.1f} h (longest cell {max(cells) / 3600:.1f} h) = {index_h + tune_h:.1f} h")


if __name__ == "__main__":
    main()
