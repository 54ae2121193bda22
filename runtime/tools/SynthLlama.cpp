//===- SynthLlama.cpp - s10-synth-llama: a LLaMA-shaped artifact from seeds
//===//
//
// Writes a .s10 artifact of LLaMA-2-7B's or -70B's shape (or fewer blocks)
// with weights generated from seeds, for timing decode on a machine the
// real weights never reach. With --cases the artifact is a cuda one that
// runs the kernels s10-cuda-cases compiled (scripts/gpu-check.sh); without,
// a CPU artifact on the runtime's own kernels.
//
//===----------------------------------------------------------------------===//

#include "Synth.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace gc = s10::quant::gpucases;
namespace layout = s10::quant::layout;

namespace {

const char *kUsage =
    "usage: s10-synth-llama --shape llama2-7b|llama2-70b|tiny --weights "
    "FORMAT\n"
    "                       -o FILE [options]\n"
    "\n"
    "Writes a LLaMA-shaped .s10 artifact whose weights come from seeds.\n"
    "\n"
    "  --shape NAME       llama2-7b (32 blocks, 4096 hidden, 11008 MLP, 32\n"
    "                     heads) or llama2-70b (80 blocks, 8192, 28672, 64\n"
    "                     heads over 8 KV heads); vocab 32000; or tiny (2\n"
    "                     blocks of 128 hidden, vocab 256) for tests\n"
    "  --weights FORMAT   the linear layers: kbit2-g128 (2.25 bits),\n"
    "                     kbit3-g256-q8 (3-bit, 8-bit group parameters),\n"
    "                     ternary-g128-q8t (1.69 bits, the budget=1.75\n"
    "                     recipe's layout), squeeze10 (1-bit with 4-bit\n"
    "                     salient weights, g128) or f16; the embedding and\n"
    "                     lm_head are f16\n"
    "  --layers K         only the first K blocks (default: all)\n"
    "  --max-positions N  the longest context (default: the shape's, 4096)\n"
    "  --cases DIR        a cuda artifact running DIR/kernels.CHIP.cubin,\n"
    "                     whose manifest DIR/cases.txt names the kernels\n"
    "                     (s10-cuda-cases); without it, a CPU artifact\n"
    "  --chip sm_XY       the cubin's chip (default sm_90)\n"
    "  --no-fuse          a cuda artifact with o, down, gate and up as plain\n"
    "                     GEMVs and the residual adds and SwiGLU as kernels\n"
    "                     of their own (default: fused into the GEMVs)\n"
    "  --seed N           the seed of the embedding, norms and lm_head, and "
    "of\n"
    "                     a CPU artifact's linear layers (default 1)\n"
    "  --json FILE        the summary as JSON\n"
    "  --quiet            no progress\n";

[[noreturn]] void die(const std::string &msg) {
  std::cerr << "s10-synth-llama: error: " << msg << "\n";
  std::exit(1);
}

bool format(const std::string &name, gc::LinearFormat &f) {
  f = gc::LinearFormat();
  if (name == "f16") {
    f.dense = true;
    return true;
  }
  layout::Spec &s = f.spec;
  if (name == "kbit2-g128") {
    s.kind = layout::Kind::KBit, s.bits = 2, s.groupSize = 128;
  } else if (name == "kbit3-g256-q8") {
    s.kind = layout::Kind::KBit, s.bits = 3, s.groupSize = 256;
    s.params = layout::ParamFormat::Q8;
  } else if (name == "ternary-g128-q8t") {
    s.kind = layout::Kind::Ternary, s.bits = 2, s.groupSize = 128;
    s.params = layout::ParamFormat::Q8T;
  } else if (name == "squeeze10") {
    s.kind = layout::Kind::Bitmap, s.bits = 1, s.salientBits = 4;
    s.groupSize = 128;
  } else {
    return false;
  }
  return true;
}

int64_t number(const std::string &opt, const std::string &v, int64_t lo,
               int64_t hi) {
  char *end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || n < lo || n > hi)
    die(opt + " must be an integer in [" + std::to_string(lo) + ", " +
        std::to_string(hi) + "], got '" + v + "'");
  return n;
}

std::string readFile(const std::string &path) {
  std::ifstream is(path, std::ios::binary);
  if (!is)
    die("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

} // namespace

int main(int argc, char **argv) {
  std::string shape, weights, out, cases, chip = "sm_90", json;
  int64_t layers = 0, maxPositions = 0, seed = 1;
  bool quiet = false, fuse = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--shape") {
      shape = value();
    } else if (a == "--weights") {
      weights = value();
    } else if (a == "-o") {
      out = value();
    } else if (a == "--layers") {
      layers = number(a, value(), 1, 1000);
    } else if (a == "--max-positions") {
      maxPositions = number(a, value(), 1, 1 << 20);
    } else if (a == "--cases") {
      cases = value();
    } else if (a == "--chip") {
      chip = value();
    } else if (a == "--seed") {
      seed = number(a, value(), 0, INT64_MAX / 2);
    } else if (a == "--json") {
      json = value();
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--no-fuse") {
      fuse = false;
    } else {
      die("unknown option '" + a + "' (see --help)");
    }
  }
  if (shape.empty() || weights.empty() || out.empty())
    die("--shape, --weights and -o are required (see --help)");

  s10rt::synth::Options o;
  if (!gc::llamaShape(shape, o.shape))
    die("unknown shape '" + shape + "': llama2-7b, llama2-70b or tiny");
  if (!format(weights, o.linear))
    die("unknown weights '" + weights +
        "': kbit2-g128, kbit3-g256-q8, ternary-g128-q8t, squeeze10 or f16");
  if (layers)
    o.shape.layers = layers;
  if (maxPositions)
    o.shape.maxPositions = maxPositions;
  o.seed = uint64_t(seed);
  o.fuse = fuse;
  if (!cases.empty()) {
    if (chip.size() < 4 || chip.compare(0, 3, "sm_"))
      die("--chip must be sm_XY, got '" + chip + "'");
    o.cuda = true;
    o.chip = uint32_t(number("--chip", chip.substr(3), 10, 999));
    std::string manifest = cases + "/cases.txt";
    std::istringstream lines(readFile(manifest));
    std::string line, error;
    for (int n = 1; std::getline(lines, line); ++n) {
      if (line.empty() || line[0] == '#')
        continue;
      gc::Case c;
      if (!gc::parseCase(line, c, error))
        die(manifest + ":" + std::to_string(n) + ": " + error);
      o.manifest.push_back(c);
    }
    o.cubin = readFile(cases + "/kernels." + chip + ".cubin");
  }
  if (!quiet)
    o.progress = [](const std::string &line) {
      std::cerr << "s10-synth-llama: " << line << "\n";
    };

  auto t0 = std::chrono::steady_clock::now();
  s10rt::synth::Summary sum;
  try {
    sum = s10rt::synth::write(o, out);
  } catch (const std::exception &e) {
    die(out + ": " + e.what());
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  double bits = sum.linearWeights
                    ? 8.0 * double(sum.linearBytes) / double(sum.linearWeights)
                    : 0.0;
  std::printf("%s: %s, %lld blocks, linear layers %s: %.3f true bits per "
              "weight; %.1f MiB (%u steps, %u kernels) in %.1f s\n",
              out.c_str(), shape.c_str(), (long long)o.shape.layers,
              weights.c_str(), bits, double(sum.fileBytes) / 1048576.0,
              sum.steps, sum.kernels, secs);
  if (!json.empty()) {
    std::ofstream js(json);
    js << "{\"artifact\": \"" << out << "\", \"shape\": \"" << shape
       << "\", \"layers\": " << o.shape.layers << ", \"weights\": \"" << weights
       << "\", \"target\": \"" << (o.cuda ? chip : "cpu")
       << "\", \"file_bytes\": " << sum.fileBytes
       << ", \"linear_bytes\": " << sum.linearBytes
       << ", \"linear_weights\": " << sum.linearWeights
       << ", \"linear_true_bpw\": " << bits
       << ", \"fused\": " << (fuse && o.cuda ? "true" : "false")
       << ", \"steps\": " << sum.steps << ", \"seconds\": " << secs << "}\n";
    if (!js)
      die("cannot write '" + json + "'");
  }
  return 0;
}
