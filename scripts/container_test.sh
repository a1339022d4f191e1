#!/usr/bin/env bash
# The container-faithful end-to-end run (issue 5): prove that autograder.zip works on a machine
# with nothing preinstalled, as Gradescope runs it. Slow (several minutes; not part of pytest).
#
#   sudo bash scripts/container_test.sh [--keep]
#
# 1. builds release/hw3/autograder.zip afresh (into a scratch folder);
# 2. debootstraps a clean Debian bookworm root (minbase: no Python, no bubblewrap);
# 3. unpacks the zip into /autograder/source and copies run_autograder to /autograder, as
#    Gradescope does, then runs setup.sh there as root with network (the root is entered with
#    bubblewrap as real root: a mount namespace and pivot_root, so that user namespaces still work
#    inside, as on a host that allows them);
# 4. grades a good upload (the reference) and a hostile one, each twice: once as is (bubblewrap
#    must be chosen) and once under a seccomp filter that refuses user namespaces like Docker's
#    default profile (the fallback must be chosen on its own);
# 5. checks every results.json: valid against tests/fixtures/results.schema.json, under
#    1 MB, the expected scores, the staff output naming the isolation, nothing left behind.
#
# torch: the CPU wheel is taken from /opt/wheels (bound into the root; TORCH_INDEX is left empty
# and PIP_FIND_LINKS points there) rather than the multi-GB CUDA build from PyPI. Everything
# else comes from Debian's and PyPI's registries. WORK (default /var/tmp/autograder-container-test)
# holds the root, a cache of Debian packages and the results; --keep keeps the root afterwards.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${WORK:-/var/tmp/autograder-container-test}"
WHEELS="${WHEELS:-/opt/wheels}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
PY="$HERE/.venv/bin/python"
ROOT="$WORK/root"
MARK="ctest$(date +%s)"

say() { printf '\n== %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "container_test: run as root (debootstrap and the Gradescope layout need it)" >&2; exit 2; }
for tool in debootstrap bwrap; do
  if ! command -v "$tool" >/dev/null; then
    say "installing $tool"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$( [ "$tool" = bwrap ] && echo bubblewrap || echo "$tool")" >/dev/null
  fi
done

say "building the hw3 release"
rm -rf "$WORK/release" "$ROOT" "$WORK/out"
mkdir -p "$WORK/debs" "$WORK/out"
(cd "$HERE" && "$PY" -m autograder build --assignment hw3 --out "$WORK/release" | tail -3)
ZIP="$WORK/release/hw3/autograder.zip"
sha256sum "$ZIP"

say "debootstrap bookworm (minbase) into $ROOT"
started=$(date +%s)
debootstrap --variant=minbase --cache-dir="$WORK/debs" bookworm "$ROOT" "$MIRROR" >"$WORK/out/debootstrap.log" 2>&1 \
  || { tail -20 "$WORK/out/debootstrap.log"; exit 1; }
echo "done in $(( $(date +%s) - started )) s; preinstalled: $(chroot "$ROOT" sh -c 'command -v python3 bwrap || true' | tr '\n' ' ')(none expected)"

say "unpacking autograder.zip into /autograder/source, as Gradescope does"
mkdir -p "$ROOT/autograder/source" "$ROOT/autograder/submission" "$ROOT/autograder/results" "$ROOT/opt/wheels"
"$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$ZIP" "$ROOT/autograder/source"
chmod +x "$ROOT/autograder/source/setup.sh" "$ROOT/autograder/source/run_autograder"
cp "$ROOT/autograder/source/run_autograder" "$ROOT/autograder/run_autograder"
cat >"$ROOT/autograder/submission_metadata.json" <<'EOF'
{"id": 1, "created_at": "2026-03-01T10:00:00.000000-08:00", "users": [{"name": "Test Student", "email": "s@example.edu", "id": 7}],
 "assignment": {"due_date": "2026-03-02T23:59:00.000000-08:00", "total_points": "25.0", "id": 3}, "previous_submissions": []}
EOF

# Enter the root as real root: new mount, IPC and UTS namespaces, pivot_root; host network. The
# host's /proc is bound whole (bubblewrap's own --proc masks parts of it, and the kernel refuses a
# nested sandbox a private /proc when the outer one is masked: as in a Docker container).
inside() {
  bwrap --bind "$ROOT" / --bind /proc /proc --dev /dev --ro-bind /sys /sys --ro-bind /etc/resolv.conf /etc/resolv.conf \
    --ro-bind "$WHEELS" /opt/wheels --unshare-ipc --unshare-uts --die-with-parent --chdir /autograder \
    /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# A host whose egress goes through its own TLS authority: the root trusts it too (setup.sh's
# ca-certificates package picks up /usr/local/share/ca-certificates). Test plumbing, not setup.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi

say "setup.sh (as root, with network; torch from $WHEELS)"
started=$(date +%s)
if ! inside TORCH_INDEX= PIP_FIND_LINKS=/opt/wheels PIP_DISABLE_PIP_VERSION_CHECK=1 bash /autograder/source/setup.sh >"$WORK/out/setup.log" 2>&1; then
  tail -30 "$WORK/out/setup.log"; exit 1
fi
echo "done in $(( $(date +%s) - started )) s"
inside /autograder/venv/bin/python -c "import torch, numpy, hypothesis; print('torch', torch.__version__, 'numpy', numpy.__version__, 'hypothesis', hypothesis.__version__)"
inside /autograder/venv/bin/pip freeze --all | sort >"$WORK/out/freeze.txt"
inside bash -c 'dpkg-query -W -f "\${Package}=\${Version}\n" python3.11 bubblewrap' | tr '\n' ' '; echo
# Everything pip installed is pinned in requirements.txt (pip, setuptools and wheel come with the venv).
"$PY" - "$WORK/out/freeze.txt" "$ROOT/autograder/source/requirements.txt" <<'EOF'
import re, sys
installed = {re.split("==", l.strip())[0].lower().replace("_", "-"): l.strip().split("==")[1] for l in open(sys.argv[1]) if "==" in l}
pinned = {re.split("==", l.strip())[0].lower().replace("_", "-"): l.strip().split("==")[1] for l in open(sys.argv[2]) if "==" in l and not l.startswith("#")}
loose = sorted(set(installed) - set(pinned) - {"pip", "setuptools", "wheel"})
wrong = sorted(n for n in pinned if n in installed and installed[n].split("+")[0] != pinned[n])
missing = sorted(set(pinned) - set(installed))
print(f"{len(installed)} packages installed; not pinned: {loose or 'none'}; other version than pinned: {wrong or 'none'}; pinned but missing: {missing or 'none'}")
sys.exit(1 if loose or wrong or missing else 0)
EOF

# Docker's default seccomp profile refuses user namespaces: this wrapper does the same (unshare
# and clone with CLONE_NEWUSER fail with EPERM, clone3 with ENOSYS so that libc falls back to clone).
cat >"$ROOT/usr/local/bin/no-userns" <<'EOF'
#!/usr/bin/python3
import ctypes, os, struct, sys
NR = {"x86_64": (0xC000003E, 272, 56, 435), "aarch64": (0xC00000B7, 97, 220, 435)}[os.uname().machine]
arch, unshare, clone, clone3 = NR
def ins(code, jt, jf, k): return struct.pack("=HBBI", code, jt, jf, k)
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
prog = b"".join([
    ins(0x20, 0, 0, 4), ins(0x15, 1, 0, arch), ins(0x06, 0, 0, ALLOW),   # other architectures: allowed
    ins(0x20, 0, 0, 0),
    ins(0x15, 0, 1, unshare), ins(0x06, 0, 0, EPERM),
    ins(0x15, 0, 1, clone3), ins(0x06, 0, 0, ENOSYS),
    ins(0x15, 0, 3, clone), ins(0x20, 0, 0, 16), ins(0x45, 0, 1, 0x10000000), ins(0x06, 0, 0, EPERM),
    ins(0x06, 0, 0, ALLOW),
])
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buf = ctypes.create_string_buffer(prog, len(prog))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
fprog = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) == 0, os.strerror(ctypes.get_errno())
os.execvp(sys.argv[1], sys.argv[1:])
EOF
chmod 755 "$ROOT/usr/local/bin/no-userns"

# The uploads: the reference, and a hostile file (attacks in three problems no other problem
# builds on: neurons, lstm_parity, patch_embed; the rest correct).
cp "$WORK/release/hw3/reference/my_llm_implementation.py" "$WORK/out/good.py"
{ cat "$WORK/out/good.py"; sed "s/MARK/$MARK/g" <<'EOF'

# ---- hostile additions ----
import json, os, signal, socket, subprocess, sys, time
for _path in ("/autograder/results/results.json", "/autograder/source/grading.toml", "/autograder/run_autograder"):
    try:
        with open(_path, "w") as _handle:
            json.dump({"score": 999, "tests": [], "output": "MARK forged"}, _handle)
    except OSError:
        pass
print(json.dumps({"score": 999, "output": "MARK forged"}))


def and_neuron():  # an infinite loop: costs this problem its time limit, nothing more
    while True:
        pass


def lstm_parity_weights():  # snoops, and leaves a daemon behind
    seen = []
    for path in ("/autograder/source/hidden", "/autograder/source/solutions", "/autograder/results", "/autograder/source/grading.toml"):
        try:
            seen.append(str(os.listdir(path) if os.path.isdir(path) else open(path).read(20)))
        except OSError:
            pass
    try:
        socket.create_connection(("151.101.0.223", 443), timeout=2)
        seen.append("network")
    except OSError:
        pass
    try:
        daemon = subprocess.Popen(["/bin/sh", "-c", "sleep 900", "MARK"], start_new_session=True).pid
    except OSError as exc:
        daemon = f"not started ({exc})"
    raise RuntimeError(f"seen: {seen}; daemon {daemon}")


class PatchEmbed(PatchEmbed):  # memory, files, then it kills its parent
    def forward(self, x):
        hog = []
        try:
            while True:
                hog.append(bytearray(256 * 1024 * 1024))
        except MemoryError:
            pass
        del hog
        try:
            for i in range(100000):
                with open(f"/tmp/MARK-{i}", "wb") as handle:
                    handle.write(b"x" * (8 << 20))
        except OSError:
            pass
        os.kill(os.getppid(), signal.SIGKILL)
EOF
} >"$WORK/out/hostile.py"

grade() {  # grade <upload> <label> [wrapper...]
  local upload=$1 label=$2; shift 2
  rm -rf "$ROOT/autograder/submission" "$ROOT/autograder/results"
  mkdir -p "$ROOT/autograder/submission" "$ROOT/autograder/results"
  cp "$upload" "$ROOT/autograder/submission/my_llm_implementation.py"
  local t0; t0=$(date +%s)
  inside "$@" /autograder/run_autograder >"$ROOT/autograder/results/stdout" 2>&1 || true
  cp "$ROOT/autograder/results/results.json" "$WORK/out/$label.results.json"
  cp "$ROOT/autograder/results/stdout" "$WORK/out/$label.stdout"
  echo "$label: graded in $(( $(date +%s) - t0 )) s"
}

say "grading (this takes a while: the hostile upload's loop uses its problem's whole time limit)"
grade "$WORK/out/good.py" good-bubblewrap
grade "$WORK/out/good.py" good-fallback /usr/local/bin/no-userns
grade "$WORK/out/hostile.py" hostile-bubblewrap
grade "$WORK/out/hostile.py" hostile-fallback /usr/local/bin/no-userns

say "checking the results"
SCHEMA="$HERE/tests/fixtures/results.schema.json"
"$PY" - "$WORK/out" "$SCHEMA" "$MARK" "$ROOT" <<'EOF'
import json, os, re, sys
from pathlib import Path
import jsonschema
out, schema, mark, root = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), sys.argv[3], Path(sys.argv[4])
failures = []
def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        failures.append(what)
def scores(results):
    found = {}
    for test in results["tests"]:
        found[test["tags"][0]] = round(found.get(test["tags"][0], 0) + test["score"], 4)
    return found
runs = {}
for label in ("good-bubblewrap", "good-fallback", "hostile-bubblewrap", "hostile-fallback"):
    raw = (out / f"{label}.results.json").read_bytes()
    results = json.loads(raw)
    stdout = (out / f"{label}.stdout").read_text()
    mode = label.split("-")[1]
    print(f"{label}: score {results['score']}, {len(results['tests'])} tests, {len(raw)} bytes")
    print("  staff: " + next((l for l in stdout.splitlines() if l.startswith("isolation:")), "(no isolation line)"))
    jsonschema.validate(results, schema)
    check(len(raw) < 1_000_000, f"{label}: results.json is valid against the schema and under 1 MB")
    check(f"isolation: {mode}" in stdout and "uid 65534" in stdout, f"{label}: staff output says isolation {mode}, uid 65534")
    runs[label] = scores(results)
ATTACKED = ("neurons", "lstm_parity", "patch_embed")
for mode in ("bubblewrap", "fallback"):
    good, bad = runs[f"good-{mode}"], runs[f"hostile-{mode}"]
    results = json.loads((out / f"hostile-{mode}.results.json").read_text())
    total = json.loads((out / f"good-{mode}.results.json").read_text())["score"]
    check(total == 25, f"{mode}: the reference scores {total:g}/25")
    check(all(bad[p] == 0 for p in ATTACKED), f"{mode}: each attacking problem scores 0 ({', '.join(f'{p} {bad[p]:g}' for p in ATTACKED)})")
    others = {p: s for p, s in bad.items() if p not in ATTACKED}
    check(others == {p: good[p] for p in others}, f"{mode}: every other problem keeps its full credit ({round(sum(others.values()), 2):g} points)")
    lstm = " ".join(t["output"] for t in results["tests"] if t["tags"][0] == "lstm_parity")
    check("seen: []; daemon " in lstm, f"{mode}: the snooping problem saw nothing and reached nothing")
    check(re.search(r"daemon \d+", lstm) is not None, f"{mode}: it did start a daemon (which must not outlive grading)")
    neurons = " ".join(t["output"] for t in results["tests"] if t["tags"][0] == "neurons")
    check("time limit of 60 s" in neurons, f"{mode}: the infinite loop was stopped at its problem's time limit")
    check(mark not in results["output"] and abs(results["score"] - sum(bad.values())) < 1e-3, f"{mode}: results.json is the grader's own (score {results['score']:g}, not forged)")
leftover = []
for pid in (p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()):  # (our own command line names the mark)
    try:
        if mark.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
            leftover.append(pid)
    except OSError:
        pass
check(not leftover, f"no process left behind {leftover}")
files = [str(p) for folder in ("tmp", "var/tmp", "dev/shm") for p in (root / folder).glob(f"*{mark}*")]
check(not files and not list((root / "tmp").glob("autograder-*")), f"no file left behind in the root's /tmp {files[:3]}")
source = [(root / "autograder/source" / n).read_text() for n in ("grading.toml", "run_autograder")]
check(all(mark not in text for text in source), "the grader's own files were not written to")
print("\nALL CHECKS PASSED" if not failures else f"\n{len(failures)} CHECK(S) FAILED")
sys.exit(1 if failures else 0)
EOF
status=$?
[ "$KEEP" = 1 ] || rm -rf "$ROOT"
exit $status
