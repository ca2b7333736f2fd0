#!/usr/bin/env bash
# A real single-node Slurm runs an sbatch array job, a job depending on it (afterok), and a job
# depending on a failing job (which must be cancelled, never run). Closes with `slurm: N passed, M failed`.
# Needs root and the Debian packages slurm-wlm and munge (`make test-slurm` installs them).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=Tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
finish() {
	echo "slurm: $passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
	exit
}
# The field FIELD=value of `scontrol show job ID` (finished jobs stay there for MinJobAge).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# Every record of job ID (one per array task) has JobState STATE.
all_states() {
	local states
	states=$(scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p' | sort -u)
	[ "$states" = "$2" ] || { echo "  job $1 states: $(echo $states)" >&2; return 1; }
}

work=$(mktemp -d /tmp/slurm-smoke.XXXXXX)
cleanup() { slurm_stop; rm -rf "$work"; }
trap cleanup EXIT

t0=$SECONDS
if slurm_start "$work/cluster"; then
	ok "cluster up: node $TEST_SLURM_NODE idle ($((SECONDS - t0)) s)"
else
	not_ok "cluster up"
	finish
fi

jobs_dir="$work/jobs"
mkdir -p "$jobs_dir"
cd "$jobs_dir" || exit 1

# 1. A 4-task array; each task writes its index to its own file, then a job concatenates them.
cat >array.sh <<'EOF'
#!/bin/bash
date +%s.%N >"start-$SLURM_ARRAY_TASK_ID"
sleep 2
echo "$SLURM_ARRAY_TASK_ID" >"task-$SLURM_ARRAY_TASK_ID.txt"
date +%s.%N >"end-$SLURM_ARRAY_TASK_ID"
EOF
cat >gather.sh <<'EOF'
#!/bin/bash
cat task-0.txt task-1.txt task-2.txt task-3.txt >all.txt
EOF
t1=$SECONDS
array_id=$(sbatch --parsable --array=0-3 --chdir="$jobs_dir" --output=array-%a.log array.sh)
array_id=${array_id%%;*}
gather_id=$(sbatch --parsable --dependency=afterok:"$array_id" --chdir="$jobs_dir" --output=gather.log gather.sh)
gather_id=${gather_id%%;*}

# 2. A job that fails, and one depending on it (afterok) that must never run.
cat >fail.sh <<'EOF'
#!/bin/bash
exit 1
EOF
cat >never.sh <<'EOF'
#!/bin/bash
touch never-ran-but-did
EOF
fail_id=$(sbatch --parsable --chdir="$jobs_dir" --output=fail.log fail.sh)
fail_id=${fail_id%%;*}
never_id=$(sbatch --parsable --dependency=afterok:"$fail_id" --chdir="$jobs_dir" --output=never.log never.sh)
never_id=${never_id%%;*}

check "submitted: array $array_id, gather $gather_id, fail $fail_id, never $never_id" \
	test -n "$array_id" -a -n "$gather_id" -a -n "$fail_id" -a -n "$never_id"

if slurm_wait_idle 120; then
	ok "queue drained ($((SECONDS - t1)) s)"
else
	not_ok "queue drained"
fi

check "gather concatenated the 4 tasks' files: exactly 0..3" \
	test "$(od -An -c all.txt 2>/dev/null | tr -s ' \n' ' ')" = "$(printf '0\n1\n2\n3\n' | od -An -c | tr -s ' \n' ' ')"
check "array tasks all COMPLETED" all_states "$array_id" COMPLETED
check "gather COMPLETED" all_states "$gather_id" COMPLETED
check "failing job FAILED with exit 1:0" test "$(job_field "$fail_id" JobState) $(job_field "$fail_id" ExitCode)" = "FAILED 1:0"
check "job depending on the failed one CANCELLED (DependencyNeverSatisfied)" \
	test "$(job_field "$never_id" JobState) $(job_field "$never_id" Reason)" = "CANCELLED DependencyNeverSatisfied"
check "job depending on the failed one never ran" test ! -e never-ran-but-did -a ! -e never.log

# Two 1-CPU tasks ran at once: some task started before another had ended.
overlap() {
	local i j
	for i in 0 1 2 3; do
		for j in 0 1 2 3; do
			[ "$i" = "$j" ] && continue
			[ -s "start-$i" ] && [ -s "start-$j" ] && [ -s "end-$j" ] || continue
			awk -v si="$(cat "start-$i")" -v sj="$(cat "start-$j")" -v ej="$(cat "end-$j")" \
				'BEGIN { exit !(si >= sj && si < ej) }' && return 0
		done
	done
	return 1
}
check "array tasks ran side by side" overlap

daemons=$(cat "$work"/cluster/run/{munged,slurmctld,slurmd}.pid 2>/dev/null | tr -dc '0-9\n' | xargs)
t2=$SECONDS
slurm_stop
none_alive() {
	local pid
	for pid in $daemons; do kill -0 "$pid" 2>/dev/null && return 1; done
	[ -n "$daemons" ]
}
check "cluster stopped: munged, slurmctld, slurmd ($daemons) gone ($((SECONDS - t2)) s)" none_alive
finish
