//===- WriteTinyModel.cpp - Write the tests' tiny model to a file ---------===//
//
//   s10rt-write-tiny out.s10
//
// The artifact the example's test runs (vocab 64).
//
//===----------------------------------------------------------------------===//

#include "TinyModel.h"

#include <cstdio>
#include <exception>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s out.s10\n", argv[0]);
    return 1;
  }
  try {
    s10rt::test::TinyModel m =
        s10rt::test::TinyModel::build(s10rt::test::TinyOptions());
    s10rt::test::writeFile(argv[1], m.artifact.serialize());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
