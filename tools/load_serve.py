#!/usr/bin/env python3
"""Bounded loopback load test of cocoon-serve (`make bench-serve`): two identical rounds of 2,000
text searches and 200 image uploads from 16 concurrent clients against a server on 127.0.0.1.
Reports p50/p99 latency per endpoint and the server's resident memory (VmRSS after each round,
VmHWM peak); fails when a round has errors or the second round's RSS exceeds the first's by more
than 10% (memory must stay flat). Standard library only.

Usage: python3 tools/load_serve.py --port P --pid PID --dataset D --image FILE [--searches 2000]
       [--uploads 200] [--clients 16]
"""
import argparse, concurrent.futures, json, random, statistics, time, urllib.parse, urllib.request

WORDS = ["red", "blue", "green", "orange", "purple", "black", "white", "yellow",
         "circle", "square", "triangle", "star", "ring", "cross", "heart", "diamond"]


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def timed(request):
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        status = response.status
    return time.perf_counter() - start, status


def round_(args, image, rng):
    base = f"http://127.0.0.1:{args.port}"
    jobs = []
    for i in range(args.searches):
        q = f"a photo of a {rng.choice(WORDS)} {rng.choice(WORDS[8:])}."
        jobs.append(("search", base + "/api/search?" + urllib.parse.urlencode({"dataset": args.dataset, "q": q, "top": 24})))
    for i in range(args.uploads):
        jobs.append(("classify", urllib.request.Request(base + "/api/classify?" + urllib.parse.urlencode({"dataset": args.dataset}),
                                                      data=image, method="POST", headers={"Content-Type": "image/png"})))
    rng.shuffle(jobs)
    latencies = {"search": [], "classify": []}
    errors = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.clients) as pool:
        futures = {pool.submit(timed, request): kind for kind, request in jobs}
        for future in concurrent.futures.as_completed(futures):
            try:
                seconds, status = future.result()
                latencies[futures[future]].append(seconds)
                errors += status != 200
            except Exception:
                errors += 1
    return latencies, errors


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    image = open(args.image, "rb").read()
    deadline = time.time() + 120
    while True:   # the server loads the model first
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/api/stats", timeout=5).read()
            break
        except Exception:
            if time.time() > deadline:
                print("cocoon-serve did not answer within 120 s")
                return 1
            time.sleep(0.5)
    rss = []
    ok = True
    for r in (1, 2):
        start = time.perf_counter()
        latencies, errors = round_(args, image, random.Random(1))   # identical rounds
        wall = time.perf_counter() - start
        rss.append(rss_kib(args.pid, "VmRSS"))
        for kind, values in latencies.items():
            print(f"round {r} {kind}: {len(values)} requests, p50 {1000 * percentile(values, 50):.1f} ms, "
                  f"p99 {1000 * percentile(values, 99):.1f} ms")
        print(f"round {r}: {wall:.1f} s wall, {errors} errors, server RSS {rss[-1] / 1024:.1f} MiB, "
              f"peak {rss_kib(args.pid, 'VmHWM') / 1024:.1f} MiB", flush=True)
        ok &= errors == 0
    flat = rss[1] <= rss[0] * 1.10
    print(f"memory across rounds: {rss[0] / 1024:.1f} → {rss[1] / 1024:.1f} MiB ({'flat' if flat else 'GREW'})")
    return 0 if ok and flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
