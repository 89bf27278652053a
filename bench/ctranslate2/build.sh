#!/usr/bin/env bash
# Builds CTranslate2 (CPU only) beside the repository, for bench/translate-compare.ts.
# Nothing of CTranslate2 is kept in this repository and this script is not part of CI.
#
# What it does, in order:
#   1. exports the CTranslate2 tree and its two needed submodules (cpu_features, spdlog) at the
#      commits pinned in CTranslate2's own tree, from local git directories (mirrors/clones);
#   2. switches off the oneDNN path of src/ops/conv1d_cpu.cc (written for oneDNN 3; Debian 12
#      ships oneDNN 2.6; conv1d is only used by speech models, never by a translation model);
#   3. configures with oneDNN for the GEMMs, GCC's OpenMP, no MKL, no CLI, and builds at low
#      priority, then installs into $PREFIX/install;
#   4. builds the Python module from python/ against that install into a venv at $PREFIX/venv
#      (--system-site-packages, so Debian's pybind11 and numpy are used; no network needed).
#
# Usage:
#   bench/ctranslate2/build.sh CT2_GIT CPU_FEATURES_GIT SPDLOG_GIT
# where each argument is a git directory (bare or not) holding that repository's history, e.g.
#   bench/ctranslate2/build.sh /path/CTranslate2.git /path/cpu_features.git /path/spdlog.git
# Environment: PREFIX (default /work/ct2), CT2_REF (default HEAD), JOBS (default 2).
# Needs (Debian 12): apt-get install -y cmake libdnnl-dev python3-pybind11 python3-numpy python3-venv
set -euo pipefail

CT2_GIT=${1:?CTranslate2 git directory}
CPU_FEATURES_GIT=${2:?cpu_features git directory}
SPDLOG_GIT=${3:?spdlog git directory}
PREFIX=${PREFIX:-/work/ct2}
CT2_REF=${CT2_REF:-HEAD}
JOBS=${JOBS:-2}
SRC=$PREFIX/src/CTranslate2

# 1. Sources at the pinned commits.
if [ ! -e "$SRC/CMakeLists.txt" ]; then
  mkdir -p "$SRC"
  git --git-dir="$CT2_GIT" archive "$CT2_REF" | tar -x -C "$SRC"
  pinned() { git --git-dir="$CT2_GIT" ls-tree "$CT2_REF" "third_party/$1" | awk '{print $3}'; }
  for pair in "cpu_features:$CPU_FEATURES_GIT" "spdlog:$SPDLOG_GIT"; do
    name=${pair%%:*}
    gitdir=${pair#*:}
    commit=$(pinned "$name")
    echo "third_party/$name at $commit"
    mkdir -p "$SRC/third_party/$name"
    git --git-dir="$gitdir" archive "$commit" | tar -x -C "$SRC/third_party/$name"
  done
  # 2. conv1d's oneDNN path needs oneDNN 3; the file's portable path is used instead.
  sed -i '0,/^#ifdef CT2_WITH_DNNL/s//#if 0 \/\/ oneDNN 3 API; Debian has 2.x/' "$SRC/src/ops/conv1d_cpu.cc"
fi

# 3. The library.
cmake -S "$SRC" -B "$PREFIX/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$PREFIX/install" \
  -DWITH_MKL=OFF -DWITH_DNNL=ON -DOPENMP_RUNTIME=COMP \
  -DBUILD_CLI=OFF -DBUILD_TESTS=OFF
nice -n 19 make -C "$PREFIX/build" -j"$JOBS"
make -C "$PREFIX/build" install

# 4. The Python module, linked against the install above (rpath so no LD_LIBRARY_PATH is needed).
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$PREFIX/venv"
fi
(
  cd "$SRC/python"
  CTRANSLATE2_ROOT="$PREFIX/install" LDFLAGS="-Wl,-rpath,$PREFIX/install/lib" \
    nice -n 19 "$PREFIX/venv/bin/pip" install --no-build-isolation --no-deps .
)
"$PREFIX/venv/bin/python" -c 'import ctranslate2; print("ctranslate2", ctranslate2.__version__, "CPU compute types:", ctranslate2.get_supported_compute_types("cpu"))'
