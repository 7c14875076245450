#!/bin/sh
# Installs the Debian/Ubuntu packages medcl needs to build, test and run its demo.
# Only missing packages are installed; sudo is used only when not root.
# MEDCL_SKIP_DEPS=1 skips this step entirely (offline machines, other distributions).
set -eu

if [ "${MEDCL_SKIP_DEPS:-0}" = "1" ]; then
    exit 0
fi

PKGS="cmake make gcc pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd \
libclblast-dev libpng-dev zlib1g-dev libcjson-dev libcmocka-dev"
# Optional packages: used when present, never required by the build.
OPTIONAL="mricron-data clang libclfft-dev"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: dpkg-query not found; install these packages by hand: $PKGS" >&2
    exit 0
fi

missing=""
for p in $PKGS $OPTIONAL; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Required packages must install; optional ones are tried one by one.
req=""
for p in $missing; do
    case " $OPTIONAL " in
        *" $p "*) ;;
        *) req="$req $p" ;;
    esac
done
if [ -n "$req" ]; then
    $SUDO apt-get install -y -qq --no-install-recommends $req
fi
for p in $missing; do
    case " $OPTIONAL " in
        *" $p "*) $SUDO apt-get install -y -qq --no-install-recommends "$p" \
                      || echo "install-deps: optional package $p not available; continuing" >&2 ;;
    esac
done
