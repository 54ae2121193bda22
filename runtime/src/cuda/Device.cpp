//===- Device.cpp - A GPU through the CUDA driver API ---------------------===//

#include "cuda/Device.h"

#include "Error.h"
#include "cuda/Driver.h"

#include <cstdlib>

namespace s10rt::cuda {
namespace {

class CudaDevice final : public Device {
public:
  explicit CudaDevice(int ordinal) {
    // S10_CUDA_DRIVER names another driver library (libcuda.so.1 by
    // default).
    const char *library = std::getenv("S10_CUDA_DRIVER");
    std::string error;
    if (!driver_.open(ordinal, error, library && *library ? library : nullptr))
      throw Error(S10_UNIMPLEMENTED, error);
  }
  ~CudaDevice() override {
    if (module_)
      driver_.cuModuleUnload(module_);
  }
  std::string name() const override { return driver_.name; }
  uint32_t chip() const override {
    return uint32_t(driver_.ccMajor * 10 + driver_.ccMinor);
  }
  DevicePtr alloc(size_t bytes) override {
    CUdeviceptr p = 0;
    if (driver_.cuMemAlloc(&p, bytes ? bytes : 4) != CUDA_SUCCESS)
      throw Error(S10_RESOURCE_EXHAUSTED, "cannot allocate " +
                                              std::to_string(bytes) +
                                              " bytes on the GPU");
    check(driver_.cuMemsetD8(p, 0, bytes ? bytes : 4), "cuMemsetD8");
    return p;
  }
  void free(DevicePtr p) override {
    // Sessions may be freed on another thread than the one that ran them.
    driver_.cuCtxSetCurrent(driver_.context());
    driver_.cuMemFree(p);
  }
  void upload(DevicePtr dst, const void *src, size_t bytes) override {
    check(driver_.cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
  }
  void download(void *dst, DevicePtr src, size_t bytes) override {
    check(driver_.cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
  }
  void copy(DevicePtr dst, DevicePtr src, size_t bytes) override {
    check(driver_.cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD");
  }
  void loadKernels(const uint8_t *code, size_t size,
                   const std::vector<std::string> &names) override {
    (void)size; // the driver reads the ELF's own sizes
    check(driver_.cuModuleLoadData(&module_, code), "loading the kernels");
    for (const std::string &n : names) {
      CUfunction f = nullptr;
      check(driver_.cuModuleGetFunction(&f, module_, n.c_str()),
            ("kernel " + n).c_str());
      functions_.push_back(f);
    }
  }
  void launch(uint32_t kernel, unsigned gridX, unsigned gridY, unsigned block,
              void **args) override {
    check(driver_.cuLaunchKernel(functions_.at(kernel), gridX, gridY, 1, block,
                                 1, 1, 0, nullptr, args, nullptr),
          "cuLaunchKernel");
  }
  void synchronize() override {
    check(driver_.cuCtxSynchronize(), "cuCtxSynchronize");
  }
  void activate() override {
    check(driver_.cuCtxSetCurrent(driver_.context()), "cuCtxSetCurrent");
  }

private:
  void check(CUresult r, const char *what) const {
    std::string e = driver_.check(r, what);
    if (!e.empty())
      throw Error(S10_INTERNAL, e);
  }
  Driver driver_;
  CUmodule module_ = nullptr;
  std::vector<CUfunction> functions_;
};

} // namespace

std::unique_ptr<Device> openCudaDevice(int ordinal) {
  return std::make_unique<CudaDevice>(ordinal);
}

} // namespace s10rt::cuda
