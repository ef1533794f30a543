#!/usr/bin/env bash
# Runs a sweep as a Slurm job array on a real single-node cluster started
# here, from the distribution's slurm-wlm and munge packages (installed when
# absent; run as root), merges it, and compares the table byte for byte with
# a local `-j 2` run of the same sweep: 3 traces (an .mmt fixture, a
# gzip-compressed Lackey trace, the threads-unmap scenario) x 2 presets x 3
# shootdown strategies x 6 core counts = 108 cells. Always stops the daemons
# it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$SECONDS
fail() { echo "slurm.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "must run as root (it starts munged, slurmctld and slurmd)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y slurm-wlm munge >/dev/null || { apt-get update >/dev/null && apt-get install -y slurm-wlm munge >/dev/null; }
fi
MMUSIM=${MMUSIM:-}
if [ -z "$MMUSIM" ]; then
    swift build --product mmusim >/dev/null
    MMUSIM=$(swift build --show-bin-path)/mmusim
fi

WORK=$(mktemp -d /tmp/mmusim-slurm.XXXXXX)
STARTED_PIDS=()
JOBS=()
export SLURM_CONF="$WORK/slurm.conf"
cleanup() {
    status=$?
    for job in "${JOBS[@]}"; do scancel "$job" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in "$WORK"/slurmctld.log "$WORK"/slurmd.log "$WORK"/out/logs/*; do
            [ -f "$log" ] && { echo "--- $log (last lines)" >&2; tail -n 15 "$log" >&2; }
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munge: a key, and munged running as the munge user (ours is stopped at the end).
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey -c 2>/dev/null || create-munge-key 2>/dev/null \
            || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged --foreground >"$WORK/munged.log" 2>&1 &
    STARTED_PIDS+=($!)
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || fail "munged did not start"
fi

# A one-node cluster: this host, its CPUs and memory, state in $WORK.
HOST=$(hostname -s)
CPUS=$(nproc)
MEMORY=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 256 ))
mkdir -p "$WORK/state" "$WORK/spool"
cat >"$SLURM_CONF" <<CONF
ClusterName=mmusim-test
SlurmctldHost=$HOST
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -i -f "$SLURM_CONF" >"$WORK/slurmctld.out" 2>&1 &
STARTED_PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$WORK/slurmd.out" 2>&1 &
STARTED_PIDS+=($!)
state=""
for _ in $(seq 120); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || fail "the node did not become idle within 60 s (sinfo says '${state:-nothing}')"
echo "slurm.sh: cluster up after $((SECONDS - START)) s: node $HOST, $CPUS CPUs"

# Three small traces: an .mmt fixture, a gzip-compressed Lackey trace, a scenario.
python3 - "$WORK/small.lackey" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("==1== Lackey, a memory trace generator\n")
    for i in range(3000):
        page = 0x10000000 + (i * 7 % 257) * 4096
        out.write(f"I  {0x400000 + (i % 64) * 4:08x},4\n")
        out.write(f" {'S' if i % 3 == 0 else 'L'} {page + (i % 8) * 8:08x},8\n")
PY
gzip -9 "$WORK/small.lackey"
cp Fixtures/26-cow-thread-shootdown.mmt "$WORK/cow.mmt"
SWEEP=(sweep cow.mmt small.lackey.gz scenario:threads-unmap --cpu skylake,zen4 --sweep shootdown=ipi,broadcast,deferred
       --sweep cores=2..64:x2 --set frames=16384)

cd "$WORK"
"$MMUSIM" "${SWEEP[@]}" -j 2 --quiet --csv local.csv 2>/dev/null
echo "slurm.sh: local run (-j 2): $(($(wc -l <local.csv) - 1)) cells after $((SECONDS - START)) s"
submitted=$("$MMUSIM" "${SWEEP[@]}" --slurm --submit --partition test --time 10 --tasks 8 --out out 2>/dev/null)
echo "slurm.sh: $submitted" | head -1
JOBS=($(echo "$submitted" | sed -n 's/^submitted job array \([0-9]*\) .* merge job \([0-9]*\)$/\1 \2/p'))
[ "${#JOBS[@]}" = 2 ] || fail "could not read the job IDs from: $submitted"
for _ in $(seq 300); do
    [ -z "$(squeue -h -j "${JOBS[0]},${JOBS[1]}" 2>/dev/null)" ] && break
    sleep 0.5
done
[ -z "$(squeue -h -j "${JOBS[0]},${JOBS[1]}" 2>/dev/null)" ] || fail "the jobs did not finish within 150 s: $(squeue -h)"
[ -f out/results.csv ] || fail "the merge job wrote no out/results.csv"
"$MMUSIM" sweep --merge out --csv merged.csv
cmp local.csv out/results.csv || fail "the Slurm merge job's table differs from the local run's"
cmp local.csv merged.csv || fail "mmusim sweep --merge's table differs from the local run's"
echo "slurm.sh: the job array's merged table ($(ls out/cells | wc -l) cells) is byte-identical to the local -j 2 run ($((SECONDS - START)) s)"
