#!/usr/bin/env bash
# `cocoon reproduce --slurm --submit` end to end on a real single-node Slurm: the plan runs as
# sbatch array jobs (index shards → merge → one task per cell → aggregation), and the merged store
# and the tables equal a local `reproduce` of the same plan. A resubmission runs no cell again.
# Usage: reproduce_test.sh COCOON_BINARY. Closes with `slurm-reproduce: N passed, M failed`.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cocoon=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
# shellcheck source=Tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
finish() {
	echo "slurm-reproduce: $passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
	exit
}

work=$(mktemp -d /tmp/slurm-repro.XXXXXX)
cleanup() { slurm_stop; rm -rf "$work"; }
trap cleanup EXIT

# One plan, run twice: locally (one thread, as each Slurm task has one CPU) and on Slurm (2 shards per dataset).
plan=(fewshot base-to-new domain-generalisation baselines --root "$work/data" --model "$repo/demo/model"
	--datasets ImageNet,EuroSAT,ImageNetSketch --shots 1,2 --seeds 1,2 --views 1 --max-epochs 2)
"$cocoon" synth --layout coop --out "$work/data" --classes 4 --per-class 4,2,3 --image-size 32 --threads 2 >/dev/null ||
	{ not_ok "synth"; finish; }
t0=$SECONDS
if "$cocoon" reproduce "${plan[@]}" --store "$work/local-store" --out "$work/local" --threads 1 >"$work/local.log" 2>&1; then
	ok "local reproduce ($((SECONDS - t0)) s)"
else
	not_ok "local reproduce"; tail -n 20 "$work/local.log"; finish
fi

t0=$SECONDS
slurm_start "$work/cluster" && ok "cluster up ($((SECONDS - t0)) s)" || { not_ok "cluster up"; finish; }
slurm_args=("${plan[@]}" --store "$work/slurm-store" --out "$work/slurm" --shards 2 --slurm --submit)
t0=$SECONDS
if "$cocoon" reproduce "${slurm_args[@]}" >"$work/submit.log" 2>&1; then
	ok "submitted: $(grep '^submitted' "$work/submit.log")"
else
	not_ok "submit"; cat "$work/submit.log"; finish
fi
check "queue drained" slurm_wait_idle 600
echo "  slurm run: $((SECONDS - t0)) s"
check "every job's log ends without an error" bash -c "! grep -l -i 'error' '$work'/slurm/slurm/logs/*.out"
check "tables equal the local run's" cmp "$work/local/tables.json" "$work/slurm/tables.json"
check "tables.md equal the local run's" cmp "$work/local/tables.md" "$work/slurm/tables.md"

# The merged store holds exactly the local store's records and features (job records are per shard).
check "merged store equals the local store" /usr/bin/python3 - "$work/local-store" "$work/slurm-store" <<'EOF'
import lmdb, sys
def entries(path):
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=16, subdir=True)
    out = {}
    with env.begin() as txn:
        for name, _ in txn.cursor():
            if name == b"jobs":
                continue
            db = env.open_db(name, txn=txn, create=False)
            out[name] = dict(txn.cursor(db=db))
    return out
a, b = entries(sys.argv[1]), entries(sys.argv[2])
feat = len(a.get(b"feat", {}))
print(f"  sub-databases {sorted(k.decode() for k in a)}; {feat} features")
sys.exit(0 if a == b and feat > 0 else 1)
EOF

# A resubmission finds every cell done: no tune job, the same tables.
t0=$SECONDS
"$cocoon" reproduce "${slurm_args[@]}" >"$work/resubmit.log" 2>&1
check "resubmission plans 0 cells to run" grep -q " 0 to run" "$work/resubmit.log"
check "resubmission submits no tune job" bash -c "grep '^submitted' '$work/resubmit.log' | grep -vq tune"
check "queue drained again" slurm_wait_idle 300
echo "  resubmission: $((SECONDS - t0)) s"
check "tables unchanged" cmp "$work/local/tables.json" "$work/slurm/tables.json"
finish
