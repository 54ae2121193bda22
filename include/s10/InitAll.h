//===- InitAll.h - Register everything s10 provides -------------*- C++ -*-===//

#ifndef S10_INITALL_H
#define S10_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace s10 {

/// Adds the s10 dialects and the upstream dialects s10 produces or consumes.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers the s10 passes and pipelines and the upstream passes s10 uses.
void registerAllPasses();

} // namespace s10

#endif // S10_INITALL_H
