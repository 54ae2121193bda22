# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "S10"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.s10_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
# Model and data bundled with the repository.
config.substitutions.append(("%models", os.path.join(config.s10_src_root, "models")))
config.substitutions.append(("%data", os.path.join(config.s10_src_root, "data")))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%s10_obj_root", config.s10_obj_root))
config.substitutions.append(("%s10_tools_dir", config.s10_tools_dir))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The CPU runs AVX-512 code (kernels compiled with --cpu=x86-64-v4).
try:
    with open("/proc/cpuinfo") as f:
        if " avx512f " in f.read().replace("\n", " "):
            config.available_features.add("avx512")
except OSError:
    pass

if config.s10_has_cuda_toolkit:
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", config.s10_ptxas))


def python_has(modules):
    import subprocess
    try:
        subprocess.check_call(
            ["/usr/bin/python3", "-c", "import " + ", ".join(modules)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return True
    except Exception:
        return False


# Test dependencies, each named by the feature its tests REQUIRE. A missing
# one stops the run (scripts/deps.sh installs them all) instead of turning
# tests UNSUPPORTED unnoticed; S10_ALLOW_MISSING=feature,... waives that on
# purpose, and lit then lists the skipped tests as UNSUPPORTED.
test_deps = {
    "python-numpy": ("python3-numpy", python_has(["numpy"])),
    "python-onnx": ("python3-onnx", python_has(["onnx", "numpy"])),
    "onnx-testdata": ("libonnx-testdata",
                      os.path.isdir("/usr/share/libonnx-testdata/data/node")),
    # s10-quantize built with MPI, and mpirun to start it.
    "mpi": ("libopenmpi-dev openmpi-bin",
            bool(config.s10_has_mpi) and os.path.exists("/usr/bin/mpirun")),
}
allowed = set(filter(None, os.environ.get("S10_ALLOW_MISSING", "").split(",")))
for feature, (package, present) in test_deps.items():
    if present:
        config.available_features.add(feature)
    elif feature not in allowed:
        lit_config.fatal(
            "test dependency '%s' is missing (Debian package %s; run "
            "scripts/deps.sh, or set S10_ALLOW_MISSING=%s to skip its tests)"
            % (feature, package, feature))

# Two ranks on a 2-core container: as root, oversubscribed if need be, and
# without the shared-memory single copy (ptrace) that containers refuse.
config.substitutions.append(
    ("%mpirun", "mpirun --allow-run-as-root --oversubscribe "
                "--mca btl_vader_single_copy_mechanism none"))

tool_dirs = [config.s10_tools_dir, config.llvm_tools_dir]
tools = ["s10-opt", "s10-translate", "s10-run", "s10-compile", "s10-generate",
         "s10-quantize", "s10-cuda-cases", "s10-synth-llama"]
llvm_config.add_tool_substitutions(
    [ToolSubst(t, unresolved="ignore") for t in tools], tool_dirs)
