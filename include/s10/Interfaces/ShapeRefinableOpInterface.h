//===- ShapeRefinableOpInterface.h - Ops the shape passes refine -*- C++
//-*-===//

#ifndef S10_INTERFACES_SHAPEREFINABLEOPINTERFACE_H
#define S10_INTERFACES_SHAPEREFINABLEOPINTERFACE_H

#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

#include "s10/Interfaces/ShapeRefinableOpInterface.h.inc"

#endif // S10_INTERFACES_SHAPEREFINABLEOPINTERFACE_H
