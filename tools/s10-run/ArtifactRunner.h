//===- ArtifactRunner.h - s10-run for compiled artifacts --------*- C++ -*-===//

#ifndef S10_TOOLS_ARTIFACTRUNNER_H
#define S10_TOOLS_ARTIFACTRUNNER_H

#include <string>

namespace s10::tools {

/// s10-run's main for the artifact `model` (an argument of argv).
int runArtifact(int argc, char **argv, const std::string &model);

} // namespace s10::tools

#endif // S10_TOOLS_ARTIFACTRUNNER_H
