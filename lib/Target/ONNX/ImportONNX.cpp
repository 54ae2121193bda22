//===- ImportONNX.cpp - ONNX model to MLIR --------------------------------===//
//
// One `onnx.node` per ONNX node, types from ONNX shape inference, initializers
// as `arith.constant` (small or stored in the model) or `squeeze.weight`
// (large, in external data: referenced, never read).
//
//===----------------------------------------------------------------------===//

#include "s10/Target/ONNX/ImportONNX.h"

#include "TensorProto.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include <climits>
#include <exception>
#include <optional>

using namespace mlir;
using namespace s10;
using namespace s10::onnx_import;

namespace {

constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 21;
constexpr int64_t kMaxIRVersion = 10;

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// Default-domain operators introduced after opset 17, the newest that the
/// installed ONNX (1.12) has schemas for, with the opset that added them.
std::optional<int64_t> newerOpSince(StringRef opType) {
  return llvm::StringSwitch<std::optional<int64_t>>(opType)
      .Cases({"BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor",
              "CenterCropPad", "Col2Im", "GroupNormalization", "Mish"},
             18)
      .Case("DeformConv", 19)
      .Cases({"AffineGrid", "Gelu", "ImageDecoder", "RegexFullMatch",
              "StringConcat", "StringSplit"},
             20)
      .Default(std::nullopt);
}

/// Maps "tensor(int64)" and friends to an element type.
Type parseSchemaTypeStr(StringRef str, MLIRContext *ctx) {
  if (!str.consume_front("tensor(") || !str.consume_back(")"))
    return {};
  int32_t dataType = llvm::StringSwitch<int32_t>(str)
                         .Case("float", ::onnx::TensorProto::FLOAT)
                         .Case("float16", ::onnx::TensorProto::FLOAT16)
                         .Case("bfloat16", ::onnx::TensorProto::BFLOAT16)
                         .Case("double", ::onnx::TensorProto::DOUBLE)
                         .Case("int64", ::onnx::TensorProto::INT64)
                         .Case("int32", ::onnx::TensorProto::INT32)
                         .Case("int8", ::onnx::TensorProto::INT8)
                         .Case("uint8", ::onnx::TensorProto::UINT8)
                         .Case("bool", ::onnx::TensorProto::BOOL)
                         .Default(::onnx::TensorProto::UNDEFINED);
  return convertElementType(dataType, ctx);
}

class Importer {
public:
  Importer(MLIRContext *ctx, const ONNXImportOptions &options,
           StringRef displayName, std::optional<std::string> modelDir)
      : ctx(ctx), options(options), displayName(displayName.str()),
        modelDir(std::move(modelDir)), builder(ctx),
        fileLoc(FileLineColLoc::get(ctx, displayName, 0, 0)), tensors(ctx) {}

  OwningOpRef<ModuleOp> import(::onnx::ModelProto &model);

private:
  LogicalResult checkModel(const ::onnx::ModelProto &model);
  LogicalResult checkNodes(const ::onnx::GraphProto &graph);
  void inferShapes(::onnx::ModelProto &model);
  LogicalResult checkInitializers(const ::onnx::GraphProto &graph);
  LogicalResult importGraph(const ::onnx::GraphProto &graph, ModuleOp module);
  LogicalResult importNode(const ::onnx::NodeProto &node, unsigned index);
  LogicalResult importConstantNode(const ::onnx::NodeProto &node, Location loc,
                                   StringRef label);
  FailureOr<Value> importTensor(const ::onnx::TensorProto &tensor, Location loc,
                                StringRef label);
  FailureOr<NamedAttribute> convertAttribute(const ::onnx::AttributeProto &a,
                                             Location loc, StringRef label);
  LogicalResult checkValueFlow(const ::onnx::GraphProto &graph);
  LogicalResult checkExternalData(const ::onnx::TensorProto &tensor,
                                  const TensorInfo &info, Location loc,
                                  StringRef label, ExternalData &ext);
  LogicalResult defineValue(StringRef name, Value value, Location loc,
                            StringRef label);
  Type elementTypeFromSchema(const ::onnx::NodeProto &node, unsigned index,
                             ArrayRef<Value> inputs);
  Value getNone();

  Location nameLoc(StringRef name) {
    return NameLoc::get(StringAttr::get(ctx, name), fileLoc);
  }
  static std::string nodeLabel(const ::onnx::NodeProto &node, unsigned index) {
    if (!node.name().empty())
      return "node '" + node.name() + "'";
    return "node #" + std::to_string(index);
  }

  MLIRContext *ctx;
  const ONNXImportOptions &options;
  std::string displayName;
  std::optional<std::string> modelDir;
  OpBuilder builder;
  Location fileLoc;
  TensorConverter tensors;

  int64_t opset = 0;
  bool verifySchemas = false;
  /// Types by value name after shape inference (value_info, graph outputs).
  llvm::StringMap<const ::onnx::TypeProto *> valueTypes;
  llvm::StringMap<Value> values;
  /// The graph outputs as the model declares them: inference may add its own
  /// symbolic dims ("unk__0"), which are no dim_params of the model.
  google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> declaredOutputs;
  /// External data files already checked, with their sizes.
  llvm::StringMap<uint64_t> fileSizes;
  Block *entry = nullptr;
  Value none;
};

} // namespace

//===----------------------------------------------------------------------===//
// Model checks
//===----------------------------------------------------------------------===//

LogicalResult Importer::checkModel(const ::onnx::ModelProto &model) {
  if (model.ir_version() <= 0)
    return emitError(fileLoc) << "failed to parse ONNX model '" << displayName
                              << "': no IR version (not an ONNX model?)";
  if (model.ir_version() > kMaxIRVersion)
    return emitError(fileLoc)
           << "ONNX model '" << displayName << "' has IR version "
           << model.ir_version() << "; supported: up to " << kMaxIRVersion;
  std::optional<int64_t> found;
  for (const ::onnx::OperatorSetIdProto &set : model.opset_import())
    if (isDefaultDomain(set.domain()))
      found = set.version();
  if (!found)
    return emitError(fileLoc) << "ONNX model '" << displayName
                              << "' imports no opset of the default domain";
  opset = *found;
  // Opsets below kMinOpset pass here; checkNodes accepts them only where
  // every op is still the version kMinOpset has.
  if (opset < 1 || opset > kMaxOpset)
    return emitError(fileLoc)
           << "ONNX model '" << displayName << "' uses opset " << opset
           << " of the default domain; supported: " << kMinOpset << " to "
           << kMaxOpset << " (and older opsets whose ops are unchanged by "
           << kMinOpset << ")";
  // Schemas newer than the registry's are unknown: only check node shapes
  // against the registry when it knows the model's opset.
  const auto &ranges =
      ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto range = ranges.find(::onnx::ONNX_DOMAIN);
  verifySchemas = range != ranges.end() && opset <= range->second.second;
  if (!model.has_graph())
    return emitError(fileLoc)
           << "ONNX model '" << displayName << "' has no graph";
  return success();
}

LogicalResult Importer::checkNodes(const ::onnx::GraphProto &graph) {
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    std::string label = nodeLabel(node, index);
    Location loc = nameLoc(node.name().empty() ? label : node.name());
    const std::string &op = node.op_type();
    if (op.empty())
      return emitError(loc) << label << " has no op type";
    for (const ::onnx::AttributeProto &attr : node.attribute())
      if (attr.has_g() || attr.graphs_size() ||
          attr.type() == ::onnx::AttributeProto::GRAPH ||
          attr.type() == ::onnx::AttributeProto::GRAPHS)
        return emitError(loc) << "unsupported op '" << op << "' (" << label
                              << "): subgraphs are not supported";
    if (!isDefaultDomain(node.domain()))
      return emitError(loc)
             << "unsupported op '" << op << "' (" << label << ") of domain '"
             << node.domain() << "': only the default ONNX domain is supported";
    const ::onnx::OpSchema *schema =
        ::onnx::OpSchemaRegistry::Schema(op, opset, ::onnx::ONNX_DOMAIN);
    if (!schema) {
      std::optional<int64_t> since = newerOpSince(op);
      if (since && *since <= opset)
        continue;
      return emitError(loc) << "unknown op '" << op << "' (" << label
                            << "): not an ONNX operator at opset " << opset;
    }
    if (schema->Deprecated())
      return emitError(loc) << "unsupported op '" << op << "' (" << label
                            << "): deprecated at opset " << opset;
    // The executor implements the operators as of kMinOpset: an older model
    // means the same only if each of its ops is the same version there.
    if (opset < kMinOpset) {
      const ::onnx::OpSchema *current =
          ::onnx::OpSchemaRegistry::Schema(op, kMinOpset, ::onnx::ONNX_DOMAIN);
      if (!current || current->Deprecated() ||
          current->since_version() != schema->since_version())
        return emitError(loc)
               << "ONNX model '" << displayName << "' uses opset " << opset
               << " of the default domain, and op '" << op << "' (" << label
               << ") has changed since (version " << schema->since_version()
               << " there, "
               << (current ? std::to_string(current->since_version())
                           : std::string("none"))
               << " at opset " << kMinOpset << "); supported: opsets "
               << kMinOpset << " to " << kMaxOpset
               << ", and older ones whose ops are unchanged by " << kMinOpset;
    }
    // ONNX's shape inference reads the type of every required input, also
    // at opsets newer than the registry's (where Verify is skipped): an
    // empty or missing name there crashes it, so refuse it first.
    const auto &formals = schema->inputs();
    for (size_t i = 0; i < formals.size(); ++i) {
      auto option = formals[i].GetOption();
      if (option == ::onnx::OpSchema::Optional)
        continue;
      bool variadic = option == ::onnx::OpSchema::Variadic;
      size_t last = variadic ? size_t(node.input_size()) : i + 1;
      if (!variadic && i >= size_t(node.input_size()))
        return emitError(loc)
               << "invalid " << label << " (op '" << op << "'): required input "
               << i << " ('" << formals[i].GetName() << "') is missing";
      for (size_t j = i; j < last; ++j)
        if (node.input(j).empty())
          return emitError(loc)
                 << "invalid " << label << " (op '" << op
                 << "'): required input " << j << " ('" << formals[i].GetName()
                 << "') has an empty name";
    }
    if (!verifySchemas)
      continue;
    try {
      schema->Verify(node);
    } catch (const std::exception &e) {
      return emitError(loc)
             << "invalid " << label << " (op '" << op << "'): " << e.what();
    }
  }
  return success();
}

LogicalResult Importer::checkValueFlow(const ::onnx::GraphProto &graph) {
  // ONNX's shape inference assumes a graph in SSA form and topological
  // order; it dereferences null on some graphs that are not.
  llvm::StringSet<> defined;
  for (const ::onnx::ValueInfoProto &in : graph.input())
    defined.insert(in.name());
  for (const ::onnx::TensorProto &t : graph.initializer())
    defined.insert(t.name());
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    std::string label = nodeLabel(node, index);
    Location loc = nameLoc(node.name().empty() ? label : node.name());
    for (const std::string &name : node.input())
      if (!name.empty() && !defined.contains(name))
        return emitError(loc)
               << label << " (op '" << node.op_type() << "') uses value '"
               << name << "', which is not defined before it";
    for (const std::string &name : node.output())
      if (!name.empty() && !defined.insert(name).second)
        return emitError(loc)
               << label << " (op '" << node.op_type() << "') defines value '"
               << name << "', which is already defined";
  }
  return success();
}

LogicalResult Importer::checkInitializers(const ::onnx::GraphProto &graph) {
  // Validated before shape inference, which reads some of them.
  llvm::StringSet<> seen;
  for (const ::onnx::TensorProto &tensor : graph.initializer()) {
    std::string label = "tensor '" + tensor.name() + "'";
    Location loc = nameLoc(tensor.name());
    if (tensor.name().empty())
      return emitError(fileLoc) << "ONNX model '" << displayName
                                << "' has an initializer without a name";
    if (!seen.insert(tensor.name()).second)
      return emitError(loc)
             << "initializer '" << tensor.name() << "' is defined twice";
    FailureOr<TensorInfo> info = tensors.getInfo(tensor, loc, label);
    if (failed(info))
      return failure();
    if (isExternal(tensor)) {
      ExternalData ext;
      if (failed(checkExternalData(tensor, *info, loc, label, ext)))
        return failure();
    } else if (failed(tensors.checkInlineData(tensor, *info, loc, label))) {
      return failure();
    }
  }
  return success();
}

void Importer::inferShapes(::onnx::ModelProto &model) {
  // Non-strict inference never fails on a node it cannot type, but merging
  // with the model's own value_info may throw: keep the model's then.
  auto saved = model.graph().value_info();
  auto savedOutputs = model.graph().output();
  try {
    ::onnx::ShapeInferenceOptions opts(/*check_type_val=*/false,
                                       /*strict_mode_val=*/0,
                                       /*data_prop_val=*/true);
    ::onnx::shape_inference::InferShapes(
        model, ::onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception &e) {
    *model.mutable_graph()->mutable_value_info() = saved;
    *model.mutable_graph()->mutable_output() = savedOutputs;
    emitWarning(fileLoc) << "ONNX shape inference failed on '" << displayName
                         << "' (" << e.what()
                         << "); using the types the model declares";
  }
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

LogicalResult Importer::checkExternalData(const ::onnx::TensorProto &tensor,
                                          const TensorInfo &info, Location loc,
                                          StringRef label, ExternalData &ext) {
  if (failed(tensors.getExternalData(tensor, info, loc, label, ext)))
    return failure();
  if (!modelDir)
    return emitError(loc) << label << " is stored in external data file '"
                          << ext.location
                          << "', which needs the model's file path (the model "
                             "was not read from a file)";
  // getExternalData keeps the location relative and inside the model's
  // directory.
  SmallString<256> path(*modelDir);
  llvm::sys::path::append(path, ext.location);
  auto it = fileSizes.find(path);
  if (it == fileSizes.end()) {
    llvm::sys::fs::file_status status;
    if (std::error_code ec = llvm::sys::fs::status(path, status))
      return emitError(loc)
             << label << ": missing or short external data file '" << path
             << "' (" << ec.message() << ")";
    // A directory, device or FIFO has no size to check against.
    if (!llvm::sys::fs::is_regular_file(status))
      return emitError(loc) << label << ": external data file '" << path
                            << "' is not a regular file";
    it = fileSizes.insert({path, status.getSize()}).first;
  }
  if (ext.offset > it->second || ext.length > it->second - ext.offset)
    return emitError(loc) << label << ": missing or short external data file '"
                          << path << "' (needs " << ext.length
                          << " bytes at offset " << ext.offset << ", has "
                          << it->second << ")";
  ext.resolvedPath = std::string(path);
  return success();
}

FailureOr<Value> Importer::importTensor(const ::onnx::TensorProto &tensor,
                                        Location loc, StringRef label) {
  FailureOr<TensorInfo> info = tensors.getInfo(tensor, loc, label);
  if (failed(info))
    return failure();
  if (!isExternal(tensor)) {
    FailureOr<DenseElementsAttr> attr =
        tensors.toDenseElements(tensor, *info, loc, label);
    if (failed(attr))
      return failure();
    return arith::ConstantOp::create(builder, loc, *attr).getResult();
  }
  ExternalData ext;
  if (failed(checkExternalData(tensor, *info, loc, label, ext)))
    return failure();
  if (info->byteSize <= options.inlineLimitBytes) {
    FailureOr<DenseElementsAttr> attr =
        tensors.readExternal(ext, *info, loc, label);
    if (failed(attr))
      return failure();
    return arith::ConstantOp::create(builder, loc, *attr).getResult();
  }
  auto storage = squeeze::ExternalStorageAttr::get(ctx, ext.location,
                                                   ext.offset, ext.length);
  return squeeze::WeightOp::create(builder, loc, info->type,
                                   StringAttr::get(ctx, tensor.name()), storage)
      .getResult();
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

Value Importer::getNone() {
  if (!none) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(entry);
    none = s10::onnx::NoneOp::create(builder, fileLoc, builder.getNoneType())
               .getResult();
  }
  return none;
}

LogicalResult Importer::defineValue(StringRef name, Value value, Location loc,
                                    StringRef label) {
  if (!values.insert({name, value}).second)
    return emitError(loc) << label << " redefines value '" << name << "'";
  return success();
}

Type Importer::elementTypeFromSchema(const ::onnx::NodeProto &node,
                                     unsigned index, ArrayRef<Value> inputs) {
  const ::onnx::OpSchema *schema =
      ::onnx::OpSchemaRegistry::Schema(node.op_type(), opset);
  if (!schema || schema->outputs().empty())
    return {};
  const auto &outs = schema->outputs();
  const auto &formalOut = outs[std::min<size_t>(index, outs.size() - 1)];
  if (index >= outs.size() &&
      formalOut.GetOption() != ::onnx::OpSchema::Variadic)
    return {};
  const std::string &typeStr = formalOut.GetTypeStr();
  // An output that shares its type variable with a typed input.
  const auto &ins = schema->inputs();
  for (auto [i, input] : llvm::enumerate(inputs)) {
    if (ins.empty())
      break;
    const auto &formalIn = ins[std::min<size_t>(i, ins.size() - 1)];
    if (i >= ins.size() && formalIn.GetOption() != ::onnx::OpSchema::Variadic)
      break;
    if (formalIn.GetTypeStr() != typeStr)
      continue;
    if (auto shaped = dyn_cast<ShapedType>(input.getType()))
      return shaped.getElementType();
  }
  // An output whose type variable allows a single type.
  for (const auto &constraint : schema->typeConstraintParams())
    if (constraint.type_param_str == typeStr &&
        constraint.allowed_type_strs.size() == 1)
      return parseSchemaTypeStr(constraint.allowed_type_strs.front(), ctx);
  return parseSchemaTypeStr(typeStr, ctx);
}

FailureOr<NamedAttribute>
Importer::convertAttribute(const ::onnx::AttributeProto &a, Location loc,
                           StringRef label) {
  auto fail = [&](const Twine &what) {
    return emitError(loc) << "attribute '" << a.name() << "' of " << label
                          << ": " << what;
  };
  if (a.name().empty())
    return emitError(loc) << label << " has an attribute without a name";
  if (!a.ref_attr_name().empty())
    return fail("references a function attribute, which is not supported");
  auto kind = a.type();
  // Old models may leave the type out; take it from the field that is set.
  if (kind == ::onnx::AttributeProto::UNDEFINED) {
    if (a.has_f())
      kind = ::onnx::AttributeProto::FLOAT;
    else if (a.has_i())
      kind = ::onnx::AttributeProto::INT;
    else if (a.has_s())
      kind = ::onnx::AttributeProto::STRING;
    else if (a.has_t())
      kind = ::onnx::AttributeProto::TENSOR;
    else if (a.floats_size())
      kind = ::onnx::AttributeProto::FLOATS;
    else if (a.ints_size())
      kind = ::onnx::AttributeProto::INTS;
    else if (a.strings_size())
      kind = ::onnx::AttributeProto::STRINGS;
  }
  StringAttr name = StringAttr::get(ctx, a.name());
  switch (kind) {
  case ::onnx::AttributeProto::INT:
    return NamedAttribute(name, builder.getI64IntegerAttr(a.i()));
  case ::onnx::AttributeProto::FLOAT:
    return NamedAttribute(name, builder.getF32FloatAttr(a.f()));
  case ::onnx::AttributeProto::STRING:
    return NamedAttribute(name, StringAttr::get(ctx, a.s()));
  case ::onnx::AttributeProto::INTS:
    return NamedAttribute(
        name, DenseI64ArrayAttr::get(
                  ctx, ArrayRef<int64_t>(a.ints().data(), a.ints_size())));
  case ::onnx::AttributeProto::FLOATS:
    return NamedAttribute(
        name, DenseF32ArrayAttr::get(
                  ctx, ArrayRef<float>(a.floats().data(), a.floats_size())));
  case ::onnx::AttributeProto::STRINGS: {
    SmallVector<Attribute> strings;
    for (const std::string &s : a.strings())
      strings.push_back(StringAttr::get(ctx, s));
    return NamedAttribute(name, ArrayAttr::get(ctx, strings));
  }
  case ::onnx::AttributeProto::TENSOR: {
    if (isExternal(a.t()))
      return fail("tensors in external data are not supported in attributes");
    std::string what = "attribute '" + a.name() + "' of " + label.str();
    FailureOr<TensorInfo> info = tensors.getInfo(a.t(), loc, what);
    if (failed(info))
      return failure();
    FailureOr<DenseElementsAttr> value =
        tensors.toDenseElements(a.t(), *info, loc, what);
    if (failed(value))
      return failure();
    return NamedAttribute(name, *value);
  }
  case ::onnx::AttributeProto::UNDEFINED:
    return fail("has no value");
  default:
    return fail("has unsupported kind " +
                ::onnx::AttributeProto::AttributeType_Name(kind));
  }
}

LogicalResult Importer::importConstantNode(const ::onnx::NodeProto &node,
                                           Location loc, StringRef label) {
  if (node.output_size() != 1 || node.attribute_size() != 1)
    return emitError(loc) << label
                          << " (op 'Constant') needs one output and exactly "
                             "one value attribute";
  const ::onnx::AttributeProto &a = node.attribute(0);
  const std::string &key = a.name();
  FailureOr<Value> value;
  if (key == "value") {
    if (!a.has_t())
      return emitError(loc) << label
                            << " (op 'Constant'): 'value' is not a "
                               "tensor";
    std::string what = "value of " + label.str() + " (op 'Constant')";
    value = importTensor(a.t(), loc, what);
  } else {
    DenseElementsAttr attr;
    auto f32 = builder.getF32Type();
    auto i64 = builder.getI64Type();
    if (key == "value_float")
      attr = DenseElementsAttr::get(RankedTensorType::get({}, f32), a.f());
    else if (key == "value_int")
      attr = DenseElementsAttr::get(RankedTensorType::get({}, i64), a.i());
    else if (key == "value_floats")
      attr = DenseElementsAttr::get(
          RankedTensorType::get({a.floats_size()}, f32),
          ArrayRef<float>(a.floats().data(), a.floats_size()));
    else if (key == "value_ints")
      attr = DenseElementsAttr::get(
          RankedTensorType::get({a.ints_size()}, i64),
          ArrayRef<int64_t>(a.ints().data(), a.ints_size()));
    else
      return emitError(loc) << "unsupported op 'Constant' (" << label
                            << "): attribute '" << key
                            << "' is not supported (string and sparse "
                               "constants are not)";
    value = arith::ConstantOp::create(builder, loc, attr).getResult();
  }
  if (failed(value))
    return failure();
  if (node.output(0).empty())
    return success();
  return defineValue(node.output(0), *value, loc, label);
}

LogicalResult Importer::importNode(const ::onnx::NodeProto &node,
                                   unsigned index) {
  std::string label = nodeLabel(node, index);
  Location loc = nameLoc(node.name().empty() ? label : node.name());
  const std::string &op = node.op_type();
  if (op == "Constant")
    return importConstantNode(node, loc, label);

  SmallVector<Value> inputs;
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      inputs.push_back(getNone());
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return emitError(loc) << label << " (op '" << op << "') uses value '"
                            << name << "', which is not defined before it";
    inputs.push_back(it->second);
  }

  SmallVector<NamedAttribute> attrs;
  llvm::StringSet<> attrNames;
  for (const ::onnx::AttributeProto &a : node.attribute()) {
    if (!attrNames.insert(a.name()).second)
      return emitError(loc) << label << " (op '" << op << "') has attribute '"
                            << a.name() << "' twice";
    FailureOr<NamedAttribute> attr =
        convertAttribute(a, loc, label + " (op '" + op + "')");
    if (failed(attr))
      return failure();
    attrs.push_back(*attr);
  }

  SmallVector<Type> resultTypes;
  for (auto [i, name] : llvm::enumerate(node.output())) {
    if (name.empty()) {
      resultTypes.push_back(NoneType::get(ctx));
      continue;
    }
    std::string what =
        "output '" + name + "' of " + label + " (op '" + op + "')";
    FailureOr<Type> type =
        tensors.convertType(valueTypes.lookup(name), loc, what);
    if (failed(type))
      return failure();
    if (!*type) {
      if (Type elt = elementTypeFromSchema(node, i, inputs))
        *type = UnrankedTensorType::get(elt);
      else
        return emitError(loc) << "cannot determine the type of " << what;
    }
    resultTypes.push_back(*type);
  }

  auto nodeOp = s10::onnx::NodeOp::create(
      builder, loc, resultTypes, inputs, StringAttr::get(ctx, op),
      /*domain=*/StringAttr(),
      node.name().empty() ? StringAttr() : StringAttr::get(ctx, node.name()),
      attrs.empty() ? DictionaryAttr() : DictionaryAttr::get(ctx, attrs));
  for (auto [name, result] : llvm::zip(node.output(), nodeOp.getResults()))
    if (!name.empty() && failed(defineValue(name, result, loc, label)))
      return failure();
  return success();
}

LogicalResult Importer::importGraph(const ::onnx::GraphProto &graph,
                                    ModuleOp module) {
  for (const ::onnx::ValueInfoProto &info : graph.value_info())
    valueTypes[info.name()] = &info.type();
  for (const ::onnx::ValueInfoProto &info : graph.output())
    valueTypes[info.name()] = &info.type();

  llvm::StringSet<> initializerNames;
  for (const ::onnx::TensorProto &tensor : graph.initializer())
    initializerNames.insert(tensor.name());

  // Function arguments: graph inputs without a default value.
  SmallVector<Type> argTypes;
  SmallVector<const ::onnx::ValueInfoProto *> args;
  llvm::SetVector<StringRef> dimParams;
  SmallVector<ArrayAttr> argDimParams;
  auto collectDimParams = [&](const ::onnx::TypeProto &type) -> ArrayAttr {
    if (!type.has_tensor_type() || !type.tensor_type().has_shape())
      return {};
    SmallVector<Attribute> names;
    bool any = false;
    for (const auto &dim : type.tensor_type().shape().dim()) {
      names.push_back(StringAttr::get(ctx, dim.dim_param()));
      if (!dim.dim_param().empty()) {
        any = true;
        dimParams.insert(dim.dim_param());
      }
    }
    return any ? ArrayAttr::get(ctx, names) : ArrayAttr();
  };
  llvm::StringSet<> inputNames;
  for (const ::onnx::ValueInfoProto &info : graph.input()) {
    if (initializerNames.contains(info.name()))
      continue;
    Location loc = nameLoc(info.name());
    std::string what = "graph input '" + info.name() + "'";
    if (info.name().empty())
      return emitError(fileLoc) << "ONNX model '" << displayName
                                << "' has a graph input without a name";
    if (!inputNames.insert(info.name()).second)
      return emitError(loc) << what << " is declared twice";
    FailureOr<Type> type = tensors.convertType(&info.type(), loc, what);
    if (failed(type))
      return failure();
    if (!*type)
      return emitError(loc) << what << " has no element type";
    argTypes.push_back(*type);
    args.push_back(&info);
    argDimParams.push_back(collectDimParams(info.type()));
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, fileLoc, options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  entry = func.addEntryBlock();
  for (auto [i, info] : llvm::enumerate(args)) {
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(info->name()));
    if (argDimParams[i])
      func.setArgAttr(i, "onnx.dim_params", argDimParams[i]);
    values[info->name()] = entry->getArgument(i);
  }
  builder.setInsertionPointToEnd(entry);

  for (const ::onnx::TensorProto &tensor : graph.initializer()) {
    FailureOr<Value> value = importTensor(tensor, nameLoc(tensor.name()),
                                          "tensor '" + tensor.name() + "'");
    if (failed(value))
      return failure();
    values[tensor.name()] = *value;
  }

  for (auto [index, node] : llvm::enumerate(graph.node()))
    if (failed(importNode(node, index)))
      return failure();

  SmallVector<Value> results;
  SmallVector<ArrayAttr> resultDimParams;
  for (const ::onnx::ValueInfoProto &info : declaredOutputs) {
    auto it = values.find(info.name());
    if (it == values.end())
      return emitError(nameLoc(info.name()))
             << "graph output '" << info.name() << "' is not defined";
    results.push_back(it->second);
    resultDimParams.push_back(collectDimParams(info.type()));
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, info] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "onnx.name", builder.getStringAttr(info.name()));
    if (resultDimParams[i])
      func.setResultAttr(i, "onnx.dim_params", resultDimParams[i]);
  }
  if (!dimParams.empty()) {
    SmallVector<Attribute> names;
    for (StringRef name : dimParams)
      names.push_back(builder.getStringAttr(name));
    func->setAttr("onnx.dim_params", builder.getArrayAttr(names));
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::import(::onnx::ModelProto &model) {
  if (failed(checkModel(model)) || failed(checkNodes(model.graph())) ||
      failed(checkInitializers(model.graph())) ||
      failed(checkValueFlow(model.graph())))
    return nullptr;
  declaredOutputs = model.graph().output();
  inferShapes(model);

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (modelDir)
    (*module)->setAttr("squeeze.weights_dir", builder.getStringAttr(*modelDir));
  (*module)->setAttr("onnx.ir_version",
                     builder.getI64IntegerAttr(model.ir_version()));
  (*module)->setAttr("onnx.opset_version", builder.getI64IntegerAttr(opset));
  if (!model.producer_name().empty()) {
    std::string producer = model.producer_name();
    if (!model.producer_version().empty())
      producer += " " + model.producer_version();
    (*module)->setAttr("onnx.producer", builder.getStringAttr(producer));
  }
  if (failed(importGraph(model.graph(), *module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

static void loadDialects(MLIRContext *context) {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       s10::onnx::ONNXDialect, squeeze::SqueezeDialect>();
}

OwningOpRef<ModuleOp> s10::importONNXBuffer(llvm::MemoryBufferRef buffer,
                                            MLIRContext *context,
                                            const ONNXImportOptions &options) {
  loadDialects(context);
  StringRef id = buffer.getBufferIdentifier();
  bool hasPath = !id.empty() && id != "<stdin>" && id != "-";
  std::string displayName = hasPath ? id.str() : std::string("<stdin>");
  Location fileLoc = FileLineColLoc::get(context, displayName, 0, 0);

  StringRef data = buffer.getBuffer();
  if (data.size() > size_t(INT_MAX)) {
    emitError(fileLoc) << "failed to parse ONNX model '" << displayName
                       << "': larger than 2 GiB (store the weights as "
                          "external data)";
    return nullptr;
  }
  ::onnx::ModelProto model;
  if (!model.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    emitError(fileLoc) << "failed to parse ONNX model '" << displayName << "'";
    return nullptr;
  }

  std::optional<std::string> modelDir;
  if (hasPath) {
    SmallString<256> path(id);
    if (std::error_code ec = llvm::sys::fs::make_absolute(path)) {
      emitError(fileLoc) << "cannot resolve the path of '" << displayName
                         << "': " << ec.message();
      return nullptr;
    }
    llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
    modelDir = llvm::sys::path::parent_path(path).str();
  }
  Importer importer(context, options, displayName, modelDir);
  return importer.import(model);
}

OwningOpRef<ModuleOp> s10::importONNXFile(StringRef path, MLIRContext *context,
                                          const ONNXImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    loadDialects(context);
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "cannot open ONNX model '" << path
        << "': " << buffer.getError().message();
    return nullptr;
  }
  return importONNXBuffer((*buffer)->getMemBufferRef(), context, options);
}

FailureOr<DenseElementsAttr>
s10::readTensorProtoBuffer(llvm::MemoryBufferRef buffer, MLIRContext *context) {
  StringRef name = buffer.getBufferIdentifier();
  Location loc = FileLineColLoc::get(context, name, 0, 0);
  StringRef data = buffer.getBuffer();
  ::onnx::TensorProto tensor;
  if (data.size() > size_t(INT_MAX) ||
      !tensor.ParseFromArray(data.data(), static_cast<int>(data.size())))
    return emitError(loc) << "failed to parse ONNX tensor '" << name << "'";
  std::string label = "tensor '" + tensor.name() + "' in '" + name.str() + "'";
  if (isExternal(tensor))
    return emitError(loc) << label << " uses external data, not supported here";
  TensorConverter converter(context);
  FailureOr<TensorInfo> info = converter.getInfo(tensor, loc, label);
  if (failed(info))
    return failure();
  return converter.toDenseElements(tensor, *info, loc, label);
}

FailureOr<DenseElementsAttr> s10::readTensorProtoFile(StringRef path,
                                                      MLIRContext *context) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return emitError(FileLineColLoc::get(context, path, 0, 0))
           << "cannot open tensor file '" << path
           << "': " << buffer.getError().message();
  return readTensorProtoBuffer((*buffer)->getMemBufferRef(), context);
}
