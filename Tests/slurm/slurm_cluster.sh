# shellcheck shell=bash
# A real single-node Slurm cluster (munged, slurmctld, slurmd on this machine) for tests; source it.
#
#   slurm_start DIR          write DIR/slurm.conf and a munge key, start munged, slurmctld and slurmd
#                            (state, spool, logs, sockets, pid files: all inside DIR), wait until the
#                            node is idle; export SLURM_CONF, TEST_SLURM_DIR (= DIR, absolute),
#                            TEST_SLURM_NODE (the node's name), TEST_SLURM_MUNGE_SOCKET; register
#                            slurm_stop on EXIT (before an EXIT trap already set), `exit` on INT/TERM
#                            if they have no trap. (No SLURM_ names but SLURM_CONF: jobs inherit these.)
#   slurm_wait_idle SECONDS  wait until squeue lists no job; on timeout (or a dead slurmctld) print
#                            squeue, sinfo and the logs' tails and return 1.
#   slurm_stop               cancel what is left, stop slurmd, slurmctld, munged (by their pid files in
#                            DIR/run) and any step of theirs still running; idempotent.
#   slurm_dump               print squeue, sinfo and the daemons' log tails (for a failing test).
#
# Needs root and the Debian packages slurm-wlm and munge (`make test-slurm` installs them). The
# daemons run as root, and so do the jobs of a root submitter, with the submitter's environment
# (sbatch's default --export=ALL) in the submit directory (or --chdir). There is no slurmdbd, so no
# sacct: read job state from squeue, `scontrol show job ID` (finished jobs stay there MinJobAge=600 s)
# or files the jobs write. /etc/slurm and /etc/munge are not used. Ports are picked among free ones,
# so another run's cluster does not get in the way; a cluster whose test was killed (its owner, the
# pid $TEST_SLURM_OWNER_PID or else the calling script's $$, is gone) is stopped by the next slurm_start.

TEST_SLURM_START_TIMEOUT=${TEST_SLURM_START_TIMEOUT:-60}

_slurm_log() { echo "slurm_cluster: $*" >&2; }

# A TCP port nothing listens on (on 127.0.0.1), below the ephemeral range, not equal to $1.
_slurm_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((12000 + RANDOM % 18000))
		[ "$p" = "${1:-}" ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# The pid in pid file $1 if that process is alive and its command line mentions $2 (the cluster dir).
_slurm_pid_of() {
	local pidfile=$1 marker=$2 pid
	[ -s "$pidfile" ] || return 1
	pid=$(tr -dc 0-9 <"$pidfile")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
	echo "$pid"
}

_slurm_is_ours() { case "$1" in munged | slurmctld | slurmd | slurmstepd | slurmscriptd) return 0 ;; esac; return 1; }

# The cluster dir a Slurm or munge process belongs to (from its command line, or for slurmstepd and
# slurmscriptd, from their working directory DIR/log), if that dir holds run/owner.pid.
_slurm_dir_of() {
	local pid=$1 comm dir= arg
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	case "$comm" in
	slurmctld | slurmd)
		while IFS= read -r -d '' arg; do
			case "$arg" in */slurm.conf) dir=${arg%/slurm.conf} ;; esac
		done 2>/dev/null <"/proc/$pid/cmdline"
		;;
	munged)
		while IFS= read -r -d '' arg; do
			case "$arg" in --socket=*/munge/munge.socket) dir=${arg#--socket=} dir=${dir%/munge/munge.socket} ;; esac
		done 2>/dev/null <"/proc/$pid/cmdline"
		;;
	slurmstepd | slurmscriptd)
		dir=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
		dir=${dir% (deleted)}
		case "$dir" in */log) dir=${dir%/log} ;; *) return 1 ;; esac
		;;
	*) return 1 ;;
	esac
	[ -n "$dir" ] && [ -f "$dir/run/owner.pid" ] || return 1
	echo "$dir"
}

# Pids of the processes of cluster DIR $1 (daemons, steps) and their descendants (the jobs).
_slurm_procs_of() {
	local d=$1 f pid line comm todo=() out=() fields
	local -A children=()
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		pid=${f#/proc/} pid=${pid%/stat}
		# shellcheck disable=SC2206
		fields=(${line##*) })
		children[${fields[1]}]+=" $pid"
		comm=${line#*(} comm=${comm%)*}
		_slurm_is_ours "$comm" && [ "$(_slurm_dir_of "$pid" 2>/dev/null)" = "$d" ] && todo+=("$pid")
	done
	while [ "${#todo[@]}" -gt 0 ]; do
		pid=${todo[0]}
		todo=("${todo[@]:1}")
		[ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
		out+=("$pid")
		# shellcheck disable=SC2206
		todo+=(${children[$pid]:-})
	done
	echo "${out[@]}"
}

# Stop the processes of the pid files "$@" (each FILE:MARKER) together: TERM, KILL after $TEST_SLURM_STOP_GRACE s.
_slurm_kill_pidfiles() {
	local spec pid pids=() i alive=
	for spec in "$@"; do
		if pid=$(_slurm_pid_of "${spec%%:*}" "${spec#*:}"); then
			kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
		fi
	done
	for ((i = 0; i < ${TEST_SLURM_STOP_GRACE:-10} * 20; i++)); do
		alive=
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.05
	done
	if [ -n "$alive" ]; then
		for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
		sleep 0.2
	fi
	for spec in "$@"; do rm -f "${spec%%:*}"; done
	return 0
}

# Wait up to $2 seconds for the pid file $1 to name a live process mentioning $3.
_slurm_wait_pidfile() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		_slurm_pid_of "$1" "$3" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

slurm_dump() {
	local d=${TEST_SLURM_DIR:-} f
	[ -n "$d" ] && [ -f "$d/slurm.conf" ] || return 0
	{
		echo "--- squeue"
		SLURM_CONF=$d/slurm.conf timeout 10 squeue -o '%.10i %.9P %.20j %.8T %.10M %R' 2>&1
		echo "--- sinfo"
		SLURM_CONF=$d/slurm.conf timeout 10 sinfo -N -o '%N %T %E' 2>&1
		for f in "$d"/log/slurmctld.log "$d"/log/slurmd.log "$d"/log/munged.log "$d"/log/*.out; do
			[ -s "$f" ] || continue
			echo "--- tail $f"
			tail -n 25 "$f"
		done
	} >&2
	return 0
}

slurm_stop() {
	local d=${TEST_SLURM_DIR:-}
	[ -n "$d" ] && [ -d "$d" ] || return 0
	local conf="$d/slurm.conf" ids i left
	# Jobs' slurmstepd processes outlive slurmd: cancel what is left while slurmctld (and munged,
	# without which squeue hangs) still run.
	if _slurm_pid_of "$d/run/slurmctld.pid" "$conf" >/dev/null && _slurm_pid_of "$d/run/munged.pid" "$d/munge/" >/dev/null; then
		ids=$(SLURM_CONF=$conf timeout 5 squeue -h -o %A 2>/dev/null | sort -u)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			SLURM_CONF=$conf timeout 10 scancel $ids 2>/dev/null
			for ((i = 0; i < 50; i++)); do
				[ -z "$(SLURM_CONF=$conf timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
				sleep 0.1
			done
		fi
	fi
	_slurm_kill_pidfiles "$d/run/slurmd.pid:$conf" "$d/run/slurmctld.pid:$conf" "$d/run/munged.pid:$d/munge/"
	# Whatever is left (steps of a cluster whose slurmd was killed, their jobs): KILL.
	[ -f "$d/run/owner.pid" ] || return 0
	left=$(_slurm_procs_of "$d")
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
	fi
	rm -f "$d/run/owner.pid"
	return 0
}

# Stop the clusters whose owner (the shell that started them) is gone: killed tests.
_slurm_reap_orphans() {
	local f pid comm dir owner dirs=" "
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" && _slurm_is_ours "$comm" || continue
		pid=${f#/proc/} pid=${pid%/comm}
		dir=$(_slurm_dir_of "$pid" 2>/dev/null) || continue
		case "$dirs" in *" $dir "*) continue ;; esac
		owner=$(tr -dc 0-9 <"$dir/run/owner.pid" 2>/dev/null)
		[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
		dirs+="$dir "
	done
	for dir in $dirs; do
		_slurm_log "stopping the cluster left by a killed run in $dir"
		TEST_SLURM_DIR=$dir slurm_stop
	done
}

slurm_start() {
	local d=${1:?usage: slurm_start DIR}
	if [ "$(id -u)" != 0 ]; then
		_slurm_log "must run as root (the daemons and munged run as root here)"
		return 1
	fi
	local b
	for b in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
		command -v "$b" >/dev/null || {
			_slurm_log "$b not found: apt-get install slurm-wlm munge"
			return 1
		}
	done
	mkdir -p "$d" && d=$(cd "$d" && pwd -P) || return 1
	# Unix socket paths (munge's; slurmd's, one per step, in the spool dir) must stay under 108 bytes.
	if [ "${#d}" -gt 60 ]; then
		_slurm_log "DIR path too long for unix sockets (${#d} > 60 chars): $d"
		return 1
	fi
	_slurm_reap_orphans
	# A cluster earlier started in this same DIR: stop what is left of it, start afresh.
	TEST_SLURM_DIR=$d slurm_stop
	rm -rf "$d/state" "$d/spool" "$d/run" "$d/log" "$d/munge"
	local node
	node=$(hostname -s)
	mkdir -p "$d/state" "$d/spool/$node" "$d/run" "$d/log" "$d/munge" || return 1
	# munged refuses group/world-writable dirs on the way to its key and socket (sticky /tmp is fine).
	chmod 0755 "$d" "$d/munge" || return 1
	echo "${TEST_SLURM_OWNER_PID:-$$}" >"$d/run/owner.pid"

	local cpus mem ctld_port slurmd_port
	read -r cpus mem < <(slurmd -C 2>/dev/null | sed -n 's/^NodeName=.* CPUs=\([0-9]*\) .*RealMemory=\([0-9]*\).*/\1 \2/p')
	[ -n "$cpus" ] || cpus=$(nproc)
	[ -n "$mem" ] || mem=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
	ctld_port=$(_slurm_free_port) && slurmd_port=$(_slurm_free_port "$ctld_port") || {
		_slurm_log "no free port"
		return 1
	}

	# The key: 1024 random bytes, owned by root (munged's user here), readable by it only.
	(umask 077 && head -c 1024 /dev/urandom >"$d/munge/munge.key") || return 1
	local sock="$d/munge/munge.socket"

	# NodeName gives CPUs only (no sockets/cores/threads) and CR_CPU makes each CPU (core or
	# hyper-thread) allocatable on its own: 1-CPU array tasks run side by side on any machine.
	# batch_sched_delay=0, sched_interval=1: jobs start about 1 s after submission or a dependency's end.
	cat >"$d/slurm.conf" <<EOF
# Written by Tests/slurm/slurm_cluster.sh (slurm_start $d).
ClusterName=cocoontest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=${TEST_SLURM_SCHED_PARAMS:-batch_sched_delay=0,sched_interval=1,bf_interval=1}
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
DependencyParameters=kill_invalid_depend
ReturnToService=2
MinJobAge=600
MaxArraySize=10001
SlurmctldTimeout=10
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
KillWait=2
WaitTime=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

	export SLURM_CONF=$d/slurm.conf TEST_SLURM_DIR=$d TEST_SLURM_NODE=$node TEST_SLURM_MUNGE_SOCKET=$sock
	# Stop the daemons whatever way the test ends (an EXIT trap set before ours runs after it).
	local prev
	prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	case "$prev" in
	*slurm_stop*) ;;
	'') trap 'slurm_stop' EXIT ;;
	*) trap "slurm_stop; $prev" EXIT ;;
	esac
	[ -n "$(trap -p INT)" ] || trap 'exit 130' INT
	[ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM

	# All three in daemon mode: they detach (holding no caller's stdout open) and write pid files.
	munged --force --socket="$sock" --key-file="$d/munge/munge.key" --pid-file="$d/run/munged.pid" \
		--log-file="$d/log/munged.log" --seed-file="$d/munge/munged.seed" >>"$d/log/munged.out" 2>&1 &&
		_slurm_wait_pidfile "$d/run/munged.pid" 10 "$d/munge/" ||
		{ _slurm_log "munged did not start"; slurm_dump; return 1; }
	slurmctld -f "$SLURM_CONF" >>"$d/log/slurmctld.out" 2>&1 ||
		{ _slurm_log "slurmctld did not start"; slurm_dump; return 1; }
	slurmd -f "$SLURM_CONF" -N "$node" >>"$d/log/slurmd.out" 2>&1 ||
		{ _slurm_log "slurmd did not start"; slurm_dump; return 1; }

	local deadline=$((SECONDS + TEST_SLURM_START_TIMEOUT)) started=$SECONDS state= n
	while [ "$SECONDS" -lt "$deadline" ]; do
		state=$(timeout 10 sinfo -h -n "$node" -o %T 2>/dev/null)
		[ "$state" = idle ] && return 0
		if [ $((SECONDS - started)) -ge 3 ]; then
			for n in munged slurmctld slurmd; do
				_slurm_pid_of "$d/run/$n.pid" "$d/" >/dev/null ||
					{ _slurm_log "$n is not running"; slurm_dump; return 1; }
			done
		fi
		sleep 0.2
	done
	_slurm_log "node $node not idle after ${TEST_SLURM_START_TIMEOUT}s (state: ${state:-none})"
	slurm_dump
	return 1
}

slurm_wait_idle() {
	local deadline=$((SECONDS + ${1:-60})) d=${TEST_SLURM_DIR:?slurm_start first} out
	while [ "$SECONDS" -lt "$deadline" ]; do
		if out=$(timeout 10 squeue -h -o %A 2>&1) && [ -z "$out" ]; then
			return 0
		fi
		_slurm_pid_of "$d/run/slurmctld.pid" "$d/" >/dev/null || {
			_slurm_log "slurmctld is not running"
			slurm_dump
			return 1
		}
		sleep 0.2
	done
	_slurm_log "jobs still queued after ${1:-60}s"
	slurm_dump
	return 1
}
