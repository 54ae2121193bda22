//===- Driver.cpp - The CUDA driver API, loaded at run time ---------------===//

#include "cuda/Driver.h"

#include <dlfcn.h>
#include <initializer_list>
#include <type_traits>

using namespace s10rt::cuda;

namespace {
// cuda.h's device attribute numbers.
constexpr int kAttrSMs = 16;
constexpr int kAttrL2 = 38;
constexpr int kAttrMajor = 75;
constexpr int kAttrMinor = 76;
} // namespace

Driver::~Driver() {
  if (retained_ && cuDevicePrimaryCtxRelease)
    cuDevicePrimaryCtxRelease(device_);
  if (handle_)
    dlclose(handle_);
}

std::string Driver::check(CUresult r, const char *what) const {
  if (r == CUDA_SUCCESS)
    return "";
  const char *nameStr = nullptr, *text = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(r, &nameStr);
  if (cuGetErrorString)
    cuGetErrorString(r, &text);
  return std::string(what) + ": " +
         (nameStr ? nameStr : "CUDA error " + std::to_string(r)) +
         (text ? std::string(": ") + text : std::string());
}

bool Driver::open(int ordinal, std::string &error, const char *library) {
  const char *lib = library ? library : "libcuda.so.1";
  handle_ = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char *why = dlerror();
    error = std::string("no CUDA driver: cannot load ") + lib + " (" +
            (why ? why : "unknown reason") +
            "); a GPU needs the NVIDIA driver installed";
    return false;
  }
  // The first name the driver exports (versioned names first).
  auto bind = [&](auto &fn, std::initializer_list<const char *> names) {
    for (const char *n : names)
      if (void *p = dlsym(handle_, n)) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
        return true;
      }
    error = std::string(lib) + " lacks " + *names.begin();
    return false;
  };
  if (!bind(cuInit, {"cuInit"}) ||
      !bind(cuDriverGetVersion, {"cuDriverGetVersion"}) ||
      !bind(cuGetErrorName, {"cuGetErrorName"}) ||
      !bind(cuGetErrorString, {"cuGetErrorString"}) ||
      !bind(cuDeviceGetCount, {"cuDeviceGetCount"}) ||
      !bind(cuDeviceGet, {"cuDeviceGet"}) ||
      !bind(cuDeviceGetName, {"cuDeviceGetName"}) ||
      !bind(cuDeviceGetAttribute, {"cuDeviceGetAttribute"}) ||
      !bind(cuDeviceTotalMem, {"cuDeviceTotalMem_v2"}) ||
      !bind(cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"}) ||
      !bind(cuDevicePrimaryCtxRelease,
            {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"}) ||
      !bind(cuCtxSetCurrent, {"cuCtxSetCurrent"}) ||
      !bind(cuCtxSynchronize, {"cuCtxSynchronize"}) ||
      !bind(cuModuleLoadData, {"cuModuleLoadData"}) ||
      !bind(cuModuleUnload, {"cuModuleUnload"}) ||
      !bind(cuModuleGetFunction, {"cuModuleGetFunction"}) ||
      !bind(cuMemAlloc, {"cuMemAlloc_v2"}) ||
      !bind(cuMemFree, {"cuMemFree_v2"}) ||
      !bind(cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}) ||
      !bind(cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}) ||
      !bind(cuMemcpyDtoD, {"cuMemcpyDtoD_v2"}) ||
      !bind(cuMemsetD8, {"cuMemsetD8_v2"}) ||
      !bind(cuLaunchKernel, {"cuLaunchKernel"}) ||
      !bind(cuEventCreate, {"cuEventCreate"}) ||
      !bind(cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"}) ||
      !bind(cuEventRecord, {"cuEventRecord"}) ||
      !bind(cuEventSynchronize, {"cuEventSynchronize"}) ||
      !bind(cuEventElapsedTime,
            {"cuEventElapsedTime_v2", "cuEventElapsedTime"}) ||
      !bind(cuStreamCreate, {"cuStreamCreate"}) ||
      !bind(cuStreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"}) ||
      !bind(cuStreamSynchronize, {"cuStreamSynchronize"}) ||
      !bind(cuStreamBeginCapture, {"cuStreamBeginCapture_v2"}) ||
      !bind(cuStreamEndCapture, {"cuStreamEndCapture"}) ||
      !bind(cuGraphInstantiate, {"cuGraphInstantiateWithFlags"}) ||
      !bind(cuGraphLaunch, {"cuGraphLaunch"}) ||
      !bind(cuGraphDestroy, {"cuGraphDestroy"}) ||
      !bind(cuGraphExecDestroy, {"cuGraphExecDestroy"}) ||
      !bind(cuMemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"}))
    return false;
  if (!(error = check(cuInit(0), "cuInit")).empty())
    return false;
  cuDriverGetVersion(&driverVersion);
  int count = 0;
  if (!(error = check(cuDeviceGetCount(&count), "cuDeviceGetCount")).empty())
    return false;
  if (ordinal < 0 || ordinal >= count) {
    error = "no CUDA device " + std::to_string(ordinal) + " (the driver sees " +
            std::to_string(count) + ")";
    return false;
  }
  if (!(error = check(cuDeviceGet(&device_, ordinal), "cuDeviceGet")).empty())
    return false;
  char buf[256] = {};
  cuDeviceGetName(buf, int(sizeof(buf) - 1), device_);
  name = buf;
  cuDeviceGetAttribute(&ccMajor, kAttrMajor, device_);
  cuDeviceGetAttribute(&ccMinor, kAttrMinor, device_);
  cuDeviceGetAttribute(&sms, kAttrSMs, device_);
  int l2 = 0;
  cuDeviceGetAttribute(&l2, kAttrL2, device_);
  l2Bytes = l2;
  size_t mem = 0;
  cuDeviceTotalMem(&mem, device_);
  memoryBytes = int64_t(mem);
  CUcontext ctx = nullptr;
  if (!(error = check(cuDevicePrimaryCtxRetain(&ctx, device_),
                      "cuDevicePrimaryCtxRetain"))
           .empty())
    return false;
  retained_ = true;
  context_ = ctx;
  error = check(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  return error.empty();
}
