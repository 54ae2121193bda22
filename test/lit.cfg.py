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

if config.s10_has_cuda_toolkit:
    config.available_features.add("cuda-toolkit")
if os.path.exists("/usr/bin/python3"):
    try:
        import subprocess
        subprocess.check_call(["/usr/bin/python3", "-c", "import onnx, numpy"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        config.available_features.add("python-onnx")
    except Exception:
        pass

tool_dirs = [config.s10_tools_dir, config.llvm_tools_dir]
tools = ["s10-opt", "s10-translate", "s10-run", "s10-compile", "s10-generate"]
llvm_config.add_tool_substitutions(
    [ToolSubst(t, unresolved="ignore") for t in tools], tool_dirs)
