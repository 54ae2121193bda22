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
    check(driver_.cuStreamCreate(&stream_, 0), "cuStreamCreate");
  }
  ~CudaDevice() override {
    driver_.cuCtxSetCurrent(driver_.context());
    for (CUgraphExec g : graphs_)
      driver_.cuGraphExecDestroy(g);
    if (stream_)
      driver_.cuStreamDestroy(stream_);
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
    check(driver_.cuMemcpyDtoDAsync(dst, src, bytes, stream_),
          "cuMemcpyDtoDAsync");
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
                                 1, 1, 0, stream_, args, nullptr),
          "cuLaunchKernel");
  }
  void synchronize() override {
    check(driver_.cuStreamSynchronize(stream_), "cuStreamSynchronize");
  }
  void beginCapture() override {
    // Thread-local: other threads' CUDA calls are not captured.
    check(driver_.cuStreamBeginCapture(stream_, 1), "cuStreamBeginCapture");
  }
  uint32_t endCapture() override {
    CUgraph graph = nullptr;
    check(driver_.cuStreamEndCapture(stream_, &graph), "cuStreamEndCapture");
    CUgraphExec exec = nullptr;
    CUresult r = driver_.cuGraphInstantiate(&exec, graph, 0);
    driver_.cuGraphDestroy(graph);
    check(r, "cuGraphInstantiate");
    graphs_.push_back(exec);
    return uint32_t(graphs_.size() - 1);
  }
  void replay(uint32_t graph) override {
    check(driver_.cuGraphLaunch(graphs_.at(graph), stream_), "cuGraphLaunch");
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
  CUstream stream_ = nullptr;
  std::vector<CUfunction> functions_;
  std::vector<CUgraphExec> graphs_;
};

} // namespace

std::unique_ptr<Device> openCudaDevice(int ordinal) {
  return std::make_unique<CudaDevice>(ordinal);
}

} // namespace s10rt::cuda
