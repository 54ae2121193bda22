//===- Device.h - Memory and kernel launches of one GPU ---------*- C++ -*-===//
//
// What the CUDA session needs of a device, behind an interface so that the
// session can also run on a device emulated on the CPU (the compiler's
// tests do that). Errors are thrown as s10rt::Error.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_CUDA_DEVICE_H
#define S10RT_SRC_CUDA_DEVICE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s10rt::cuda {

using DevicePtr = uint64_t;

class Device {
public:
  virtual ~Device() = default;
  virtual std::string name() const = 0;
  /// sm_XY as XY (90 for sm_90).
  virtual uint32_t chip() const = 0;
  /// Zero-filled memory.
  virtual DevicePtr alloc(size_t bytes) = 0;
  virtual void free(DevicePtr p) = 0;
  virtual void upload(DevicePtr dst, const void *src, size_t bytes) = 0;
  virtual void download(void *dst, DevicePtr src, size_t bytes) = 0;
  virtual void copy(DevicePtr dst, DevicePtr src, size_t bytes) = 0;
  /// Loads the code object and finds `names`; launch() takes their indices.
  virtual void loadKernels(const uint8_t *code, size_t size,
                           const std::vector<std::string> &names) = 0;
  /// Queues kernel `kernel` on a grid of gridX x gridY blocks of `block`
  /// threads; `args` points at each argument's value.
  virtual void launch(uint32_t kernel, unsigned gridX, unsigned gridY,
                      unsigned block, void **args) = 0;
  /// Waits for everything queued.
  virtual void synchronize() = 0;
  /// Makes the device current on the calling thread (sessions may be used
  /// from any thread, one at a time).
  virtual void activate() {}
  /// Records the launches and copies queued until endCapture() as a graph
  /// instead of running them; endCapture() returns its id for replay().
  /// Uploads and downloads are not allowed in between.
  virtual void beginCapture() = 0;
  virtual uint32_t endCapture() = 0;
  virtual void replay(uint32_t graph) = 0;
};

/// Device `ordinal` through the CUDA driver (opened with dlopen); throws
/// Error(S10_UNIMPLEMENTED) without a driver or device.
std::unique_ptr<Device> openCudaDevice(int ordinal);

} // namespace s10rt::cuda

#endif // S10RT_SRC_CUDA_DEVICE_H
