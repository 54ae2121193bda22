//===- Hessian.cpp - Layer Hessian accumulation and hygiene --------------===//

#include "s10/Quant/Hessian.h"
#include "Detail.h"

#include <cmath>

using namespace s10::quant;

HessianAccumulator::HessianAccumulator(int64_t dim)
    : dim_(dim), sum_(static_cast<size_t>(dim * dim), 0.0) {
  assert(dim >= 0);
}

llvm::Error HessianAccumulator::add(llvm::ArrayRef<float> x, int64_t rows) {
  if (rows < 0 || static_cast<int64_t>(x.size()) != rows * dim_)
    return detail::makeError("HessianAccumulator::add: expected " +
                             llvm::Twine(rows) + " x " + llvm::Twine(dim_) +
                             " values, got " + llvm::Twine(x.size()));
  for (size_t k = 0; k < x.size(); ++k)
    if (!std::isfinite(x[k]))
      return detail::makeError(
          "HessianAccumulator::add: non-finite activation at row " +
          llvm::Twine(int64_t(k) / dim_) + ", column " +
          llvm::Twine(int64_t(k) % dim_));
  if (rows == 0)
    return llvm::Error::success();
  detail::accumulateAtA(dim_, rows, x.data(), dim_, sum_.data());
  count_ += rows;
  return llvm::Error::success();
}

llvm::Error HessianAccumulator::add(const Matrix &x) {
  if (x.cols != dim_)
    return detail::makeError("HessianAccumulator::add: activation has " +
                             llvm::Twine(x.cols) + " columns, expected " +
                             llvm::Twine(dim_));
  return add(llvm::ArrayRef<float>(x.data), x.rows);
}

MatrixD HessianAccumulator::hessian() const {
  MatrixD h(dim_, dim_);
  if (count_ == 0)
    return h;
  double f = 2.0 / double(count_);
  for (int64_t i = 0; i < dim_; ++i)
    for (int64_t j = i; j < dim_; ++j) {
      double v = f * sum_[i * dim_ + j];
      h(i, j) = v;
      h(j, i) = v;
    }
  return h;
}

template <typename T>
static std::vector<int64_t> fixDeadChannelsImpl(DenseMatrix<T> &h, Matrix *w) {
  std::vector<int64_t> dead;
  int64_t n = std::min(h.rows, h.cols);
  for (int64_t j = 0; j < n; ++j) {
    if (h(j, j) != T(0))
      continue;
    dead.push_back(j);
    h(j, j) = T(1);
    if (w && j < w->cols)
      for (int64_t i = 0; i < w->rows; ++i)
        (*w)(i, j) = 0.0f;
  }
  return dead;
}

std::vector<int64_t> s10::quant::fixDeadChannels(MatrixD &h, Matrix *w) {
  return fixDeadChannelsImpl(h, w);
}

std::vector<int64_t> s10::quant::fixDeadChannels(Matrix &h, Matrix *w) {
  return fixDeadChannelsImpl(h, w);
}

template <typename T>
static llvm::Error addDampingImpl(DenseMatrix<T> &h, double percdamp) {
  if (h.rows != h.cols)
    return detail::makeError("addDamping: Hessian is not square");
  if (!(percdamp >= 0.0) || !std::isfinite(percdamp))
    return detail::makeError("addDamping: percdamp must be >= 0");
  if (h.rows == 0)
    return llvm::Error::success();
  double mean = 0.0;
  for (int64_t j = 0; j < h.rows; ++j)
    mean += h(j, j);
  mean /= double(h.rows);
  double damp = percdamp * mean;
  for (int64_t j = 0; j < h.rows; ++j)
    h(j, j) = T(h(j, j) + damp);
  return llvm::Error::success();
}

llvm::Error s10::quant::addDamping(MatrixD &h, double percdamp) {
  return addDampingImpl(h, percdamp);
}

llvm::Error s10::quant::addDamping(Matrix &h, double percdamp) {
  return addDampingImpl(h, percdamp);
}

template <typename T>
static llvm::Expected<std::vector<int64_t>>
prepareHessianImpl(DenseMatrix<T> &h, Matrix &w, double percdamp) {
  if (h.rows != h.cols || h.rows != w.cols)
    return detail::makeError("prepareHessian: H is " + llvm::Twine(h.rows) +
                             " x " + llvm::Twine(h.cols) + " but W has " +
                             llvm::Twine(w.cols) + " columns");
  if (auto err = checkFinite(h, "prepareHessian: Hessian"))
    return std::move(err);
  std::vector<int64_t> dead = fixDeadChannels(h, &w);
  if (auto err = addDamping(h, percdamp))
    return std::move(err);
  return dead;
}

llvm::Expected<std::vector<int64_t>>
s10::quant::prepareHessian(MatrixD &h, Matrix &w, double percdamp) {
  return prepareHessianImpl(h, w, percdamp);
}

llvm::Expected<std::vector<int64_t>>
s10::quant::prepareHessian(Matrix &h, Matrix &w, double percdamp) {
  return prepareHessianImpl(h, w, percdamp);
}
