#!/bin/sh
# The sbatch examples of configs/slurm/ on a one-node Slurm that this test starts (munged, slurmctld, slurmd, all
# in a private temporary folder, on ports 16817/16818) and stops again by the PIDs it recorded. Needs root and
# the Debian packages slurmctld slurmd slurm-client munge (make slurm-test installs them) and the binaries of
# make mpi-test. Each job's output is compared with the single process's (tests/mpi/compare.py).
# Prints PASS/FAIL per case and "N passed, N failed"; exit status 1 when a case failed.
BUILD=${BUILD:-build}
SINGLE=$BUILD/corpusprep
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "$2" ] && [ -e "$2" ] && sed 's/^/    /' "$2" | tail -n 25; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: the Slurm test starts munged and slurmd, which needs root"
    finish
fi
for c in munged slurmctld slurmd sbatch squeue scontrol setpriv; do
    command -v "$c" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$c" >/dev/null || { fail "$c not installed (make slurm-test installs it)"; finish; }
done

T=$(mktemp -d /tmp/corpusprep-slurm-test.XXXXXX)
chmod 755 "$T"
pids=""
stop() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap stop EXIT
trap 'exit 130' INT TERM

# munge: its own socket and files here; the key is the package's
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/out"
chown munge:munge "$T/munge"
setpriv --reuid=munge --regid=munge --init-groups munged -F --socket="$T/munge/socket" \
    --pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/seed" >"$T/munged.out" 2>&1 &
pids="$!"
H=$(hostname -s)
cat >"$T/slurm.conf" <<EOF
ClusterName=corpusprep-test
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/socket
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmdParameters=config_overrides
MailProg=/bin/true
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$H CPUs=8 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
i=0
while [ ! -S "$T/munge/socket" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
slurmctld -D -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
pids="$pids $!"
i=0
until [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
        cat "$T/munged.out" "$T/slurmctld.out" "$T/slurmd.out" "$T/slurmctld.log" 2>/dev/null | tail -n 20 >"$T/why"
        fail "the test's Slurm did not come up within 30 s" "$T/why"
        finish
    fi
    sleep 0.1
done
pass "one-node Slurm up (node idle after $((i / 10)).$((i % 10)) s)"

python3 tests/mpi/make_corpus.py "$T/in" >/dev/null
$SINGLE -q --keep-rejected --dedup-url -o "$T/ref" "$T/in" || fail "single-process reference run"

# Open MPI ranks under srun: the variables let it run as root here; nothing else about the job changes.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_hwloc_base_binding_policy=none

# Submits a script, waits for the job (polling squeue, 300 s deadline), prints its exit code "rc:signal".
run_job() { # script binary outdir log corpusprep-args...
    script=$1 bin=$2 out=$3 log=$4
    shift 4
    job=$(CORPUSPREP_MPI=$bin sbatch --parsable --nodes=1 --ntasks=3 --ntasks-per-node=3 --cpus-per-task=2 \
          --output="$log" "$script" "$out" "$T/in" "$@") || { echo "sbatch failed"; return; }
    i=0
    while squeue -h -j "$job" 2>/dev/null | grep -q .; do
        i=$((i + 1))
        if [ $i -gt 600 ]; then
            scancel "$job"
            echo "timeout"
            return
        fi
        sleep 0.5
    done
    scontrol show job "$job" 2>/dev/null | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p'
}

for mpi in openmpi mpich; do
    script=configs/slurm/corpusprep-$mpi.sbatch
    bin=$(pwd)/$BUILD/$mpi/corpusprep-mpi
    ec=$(run_job "$script" "$bin" "$T/out/$mpi" "$T/$mpi.log" -q --keep-rejected --dedup-url)
    if [ "$ec" != "0:0" ]; then
        fail "sbatch $script (3 ranks x 2 threads): job exit code '$ec'" "$T/$mpi.log"
    elif python3 tests/mpi/compare.py "$T/ref" "$T/out/$mpi" >"$T/cmp" 2>&1 &&
         python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cluster"]; assert c["ranks"] == 3, c' \
             "$T/out/$mpi/stats.json" 2>>"$T/cmp"; then
        pass "sbatch $script (3 ranks x 2 threads): same output as the single process"
    else
        fail "sbatch $script: output differs" "$T/cmp"
    fi
done

# interrupt_and_compare JOB OUT REF WAIT: once OUT holds a .tmp shard (waiting WAIT tenths of a second at most),
# SIGTERM to the batch shell only (what --signal=B:TERM@120 sends before the time limit); then wait for the
# job's end. Sets $state to its final state and $same to 1 when OUT has REF's shards (REF has some) and no
# .tmp shard or checkpoint is left.
interrupt_and_compare() {
    i=0
    while [ -z "$(find "$2" -name '*.tmp' 2>/dev/null)" ] && [ $i -lt "$4" ]; do sleep 0.1; i=$((i + 1)); done
    scancel --signal=TERM --batch "$1"
    i=0
    state=
    while [ $i -lt 1200 ]; do
        state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
        [ "$state" = COMPLETED ] || [ "$state" = FAILED ] || [ "$state" = CANCELLED ] && break
        sleep 0.5
        i=$((i + 1))
    done
    same=1
    [ -n "$(cd "$3" 2>/dev/null && find . -name 'part-*')" ] || same=0
    for f in $(cd "$3" && find . -name 'part-*'); do cmp -s "$3/$f" "$2/$f" || same=0; done
    [ -n "$(find "$2" -name '*.tmp' -o -name _checkpoint)" ] && same=0
}

# The requeue recipe (single process): SIGTERM to the batch shell only, which is what --signal=B:TERM@120
# sends before the time limit. The job must write a checkpoint, exit 130, requeue itself, resume, and end
# with the output of an uninterrupted run. The input is the corpus 20 times over (hard links), so that the
# run is still going when the signal comes.
mkdir -p "$T/long"
for k in $(seq -w 1 20); do
    for f in "$T"/in/*; do ln "$f" "$T/long/$k-$(basename "$f")"; done
done
$SINGLE -q -t 1 --keep-rejected -o "$T/long-ref" "$T/long" || fail "single-process reference run (long input)"
job=$(CORPUSPREP=$(pwd)/$SINGLE sbatch --parsable --cpus-per-task=1 --output="$T/requeue.log" \
      configs/slurm/corpusprep-requeue.sbatch "$T/out/requeue" "$T/long" -q -t 1 --keep-rejected)
interrupt_and_compare "$job" "$T/out/requeue" "$T/long-ref" 600
if [ "$state" = COMPLETED ] && [ $same = 1 ] && grep -q "attempt 2, resuming" "$T/requeue.log" &&
   grep -q "requeueing job" "$T/requeue.log" && [ -e "$T/out/requeue/stats.json" ]; then
    pass "sbatch corpusprep-requeue.sbatch: SIGTERM, checkpoint, requeue, resume: same shards as an uninterrupted run"
else
    echo "job state: $state; shards identical: $same" >>"$T/requeue.log"
    fail "sbatch corpusprep-requeue.sbatch: SIGTERM and requeue" "$T/requeue.log"
fi

# The same for the cluster (issue 13): corpusprep-mpi-requeue.sbatch, 3 MPICH ranks, the spills on a scratch
# folder that outlives the job. SIGTERM comes once pass 2 writes (a .tmp shard); the job exits 130 with every
# rank's spill and decisions kept, requeues itself, resumes without pass 1 and the exchange, and ends with the
# shards of an uninterrupted 3-rank job.
echo '{"input": {"batch_bytes": "64K"}}' >"$T/small.json"
mkdir -p "$T/scratch"
MPICH_BIN=$(pwd)/$BUILD/mpich/corpusprep-mpi
# the reference: the same 3-rank job uninterrupted (mpirun; the shards do not depend on the launcher)
mpirun.mpich -n 3 "$MPICH_BIN" -q -t 1 -c "$T/small.json" --keep-rejected -o "$T/out/mpi-long-ref" "$T/long" \
    >"$T/mpi-long-ref.log" 2>&1
ec="$?:0"
job=$(CORPUSPREP_MPI=$MPICH_BIN sbatch --parsable --nodes=1 --ntasks=3 --ntasks-per-node=3 --cpus-per-task=1 \
      --output="$T/mpi-requeue.log" configs/slurm/corpusprep-mpi-requeue.sbatch "$T/out/mpi-requeue" "$T/scratch" \
      "$T/long" -q -t 1 -c "$T/small.json" --keep-rejected)
interrupt_and_compare "$job" "$T/out/mpi-requeue" "$T/out/mpi-long-ref" 1200
[ -n "$(ls -A "$T/scratch")" ] && same=0
if [ "$ec" = "0:0" ] && [ "$state" = COMPLETED ] && [ $same = 1 ] && grep -q "attempt 2, resuming" "$T/mpi-requeue.log" &&
   grep -q "interrupted in pass 2; the spills and decisions are kept" "$T/mpi-requeue.log" &&
   grep -q "requeueing job" "$T/mpi-requeue.log" && grep -q "pass 1 and the exchange skipped" "$T/mpi-requeue.log" &&
   [ -e "$T/out/mpi-requeue/stats.json" ]; then
    pass "sbatch corpusprep-mpi-requeue.sbatch (3 ranks): SIGTERM in pass 2, requeue, resume without pass 1: same shards"
else
    echo "reference job: $ec; job state: $state; shards identical, nothing left behind: $same" >>"$T/mpi-requeue.log"
    fail "sbatch corpusprep-mpi-requeue.sbatch: SIGTERM and requeue" "$T/mpi-requeue.log"
fi

# The trap: an MPICH build under srun --mpi=pmix starts three one-rank jobs; each must stop with exit 2.
ec=$(run_job configs/slurm/corpusprep-openmpi.sbatch "$(pwd)/$BUILD/mpich/corpusprep-mpi" "$T/out/trap" "$T/trap.log" -q)
if [ "$ec" = "2:0" ] && grep -q SLURM_NTASKS "$T/trap.log" && [ ! -e "$T/out/trap/stats.json" ]; then
    pass "MPICH build under srun --mpi=pmix (wrong plugin): the job stops with exit 2 and says why"
else
    fail "wrong plugin: job exit code '$ec'" "$T/trap.log"
fi

finish
