//===- ShapeRefinableOpInterface.cpp - Ops the shape passes refine --------===//

#include "s10/Interfaces/ShapeRefinableOpInterface.h"

#include "s10/Interfaces/ShapeRefinableOpInterface.cpp.inc"
