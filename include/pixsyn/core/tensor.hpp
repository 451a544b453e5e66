#pragma once
// Tensor<T, Device>: an owning, contiguous, row-major array of rank <= 5. Copies are shallow (they
// share storage, like torch.Tensor); clone() makes a deep copy. reshape() and narrow() return views.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iomanip>
#include <memory>
#include <ostream>
#include <type_traits>
#include <vector>

#include "pixsyn/core/device.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/storage.hpp"

namespace pixsyn {

namespace detail {
// Hooks the CUDA backend specialises; CPU tensors never use them.
template <class Device>
struct DeviceRandom;
template <class Device>
struct DeviceFill;
template <class Device>
struct DeviceCopy;
}  // namespace detail

template <class T, class Device = Cpu>
class Tensor {
  static_assert(std::is_arithmetic_v<T>, "Tensor<T>: T must be an arithmetic type (float, double, int64_t, ...)");

 public:
  using value_type = T;
  using device_type = Device;

  Tensor() = default;
  // A zero-filled tensor.
  explicit Tensor(const Shape& shape) : Tensor(empty(shape)) { fill(T(0)); }

  static Tensor empty(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    const std::size_t bytes = shape.bytes(sizeof(T));
    try {
      t.storage_ = detail::Memory<Device>::allocate(bytes);
    } catch (const Error& e) {
      detail::fail("cannot allocate a tensor of shape ", shape, " and ", sizeof(T), "-byte elements: ", e.what());
    }
    t.data_ = static_cast<T*>(t.storage_.get());
    return t;
  }
  static Tensor zeros(const Shape& shape) { return full(shape, T(0)); }
  static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
  static Tensor full(const Shape& shape, T value) {
    Tensor t = empty(shape);
    t.fill(value);
    return t;
  }
  static Tensor scalar(T value) { return full(Shape{}, value); }

  // From host values in row-major order; the count must match the shape.
  static Tensor from(const std::vector<T>& values, const Shape& shape) {
    detail::check(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor::from: ", values.size(),
                  " values do not fill shape ", shape, " (", shape.numel(), " elements)");
    static_assert(std::is_same_v<Device, Cpu>, "Tensor::from builds CPU tensors; copy to the GPU with to_device");
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data_);
    return t;
  }
  static Tensor from(std::initializer_list<T> values, const Shape& shape) {
    return from(std::vector<T>(values), shape);
  }

  // Standard normal numbers from a Philox stream; advances gen.offset.
  static Tensor randn(const Shape& shape, Philox& gen) {
    static_assert(std::is_floating_point_v<T>, "randn needs a floating-point tensor");
    Tensor t = empty(shape);
    const std::int64_t n = shape.numel();
    if constexpr (std::is_same_v<Device, Cpu>) {
#pragma omp parallel for if (n > (1 << 14))
      for (std::int64_t i = 0; i < n; ++i)
        t.data_[i] = static_cast<T>(detail::philox_normal(gen.seed, gen.offset, static_cast<std::uint64_t>(i)));
    } else {
      detail::DeviceRandom<Device>::normal(t.data_, n, gen.seed, gen.offset);
    }
    gen.offset += static_cast<std::uint64_t>((n + 1) / 2);
    return t;
  }
  static Tensor randn(const Shape& shape, Philox&& gen) { return randn(shape, gen); }

  // Uniform numbers in (0, 1) from a Philox stream; advances gen.offset.
  static Tensor rand(const Shape& shape, Philox& gen) {
    static_assert(std::is_floating_point_v<T>, "rand needs a floating-point tensor");
    Tensor t = empty(shape);
    const std::int64_t n = shape.numel();
    if constexpr (std::is_same_v<Device, Cpu>) {
#pragma omp parallel for if (n > (1 << 14))
      for (std::int64_t i = 0; i < n; ++i)
        t.data_[i] = static_cast<T>(detail::philox_uniform(gen.seed, gen.offset, static_cast<std::uint64_t>(i)));
    } else {
      detail::DeviceRandom<Device>::uniform(t.data_, n, gen.seed, gen.offset);
    }
    gen.offset += static_cast<std::uint64_t>((n + 3) / 4);
    return t;
  }
  static Tensor rand(const Shape& shape, Philox&& gen) { return rand(shape, gen); }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t numel() const { return shape_.numel(); }
  std::int64_t dim(int axis) const { return shape_[axis]; }
  // Storage is shared between copies, so data() hands out a mutable pointer even from a const tensor.
  T* data() const { return data_; }
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

  void fill(T value) {
    if constexpr (std::is_same_v<Device, Cpu>) {
      std::fill(data_, data_ + numel(), value);
    } else {
      detail::DeviceFill<Device>::fill(data_, numel(), value);
    }
  }

  // Element access on the CPU, with bounds checks (for tests and small host-side work).
  T& at(std::initializer_list<std::int64_t> index) const {
    static_assert(std::is_same_v<Device, Cpu>, "Tensor::at reads CPU tensors only");
    detail::check(static_cast<int>(index.size()) == rank(), "Tensor::at: ", index.size(),
                  " indices for a tensor of shape ", shape_);
    const auto strides = shape_.strides();
    std::int64_t flat = 0;
    int a = 0;
    for (auto i : index) {
      detail::check(i >= 0 && i < shape_[a], "Tensor::at: index ", i, " out of range for axis ", a, " of shape ",
                    shape_);
      flat += i * strides[a++];
    }
    return data_[flat];
  }
  T item() const {
    static_assert(std::is_same_v<Device, Cpu>, "Tensor::item reads CPU tensors only");
    detail::check(numel() == 1, "Tensor::item: tensor of shape ", shape_, " has ", numel(), " elements, not 1");
    return data_[0];
  }
  std::vector<T> to_vector() const {
    static_assert(std::is_same_v<Device, Cpu>, "Tensor::to_vector reads CPU tensors only");
    return std::vector<T>(data_, data_ + numel());
  }

  // A view with another shape and the same elements; one extent may be -1 (inferred).
  Tensor reshape(std::initializer_list<std::int64_t> extents) const { return reshape(resolve_shape(extents)); }
  Tensor reshape(const Shape& shape) const {
    detail::check(shape.numel() == numel(), "reshape: cannot view shape ", shape_, " (", numel(), " elements) as ",
                  shape, " (", shape.numel(), " elements)");
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }
  // A view of entries [start, start + length) along the first axis (contiguous, so no copy).
  Tensor narrow(std::int64_t start, std::int64_t length) const {
    detail::check(rank() >= 1 && start >= 0 && length >= 0 && start <= shape_[0] && length <= shape_[0] - start,
                  "narrow: ", length, " rows from row ", start, " are out of range for shape ", shape_);
    Tensor t = *this;
    t.shape_[0] = length;
    t.data_ = data_ + start * (shape_[0] == 0 ? 0 : numel() / shape_[0]);
    return t;
  }

  Tensor clone() const {
    Tensor t = empty(shape_);
    if constexpr (std::is_same_v<Device, Cpu>) {
      std::copy(data_, data_ + numel(), t.data_);
    } else {
      detail::DeviceCopy<Device>::copy(t.data_, data_, numel() * sizeof(T));
    }
    return t;
  }

  Shape resolve_shape(std::initializer_list<std::int64_t> extents) const {
    Shape s;
    std::int64_t known = 1;
    int inferred = -1, a = 0;
    for (auto e : extents) {
      if (e == -1) {
        detail::check(inferred < 0, "reshape: more than one extent is -1");
        inferred = a;
        s.push_back(0);
      } else {
        s.push_back(e);
        known = detail::multiply_sizes(known, e, "reshape: the product of the extents");
      }
      ++a;
    }
    if (inferred >= 0) {
      detail::check(known > 0 && numel() % known == 0, "reshape: cannot infer the -1 extent when viewing shape ",
                    shape_, " with ", extents.size(), " extents");
      s[inferred] = numel() / known;
    }
    return s;
  }

 private:
  std::shared_ptr<void> storage_;
  T* data_ = nullptr;
  Shape shape_;
};

// Prints dtype, device, shape and up to 6 leading values of each row, numpy-style.
template <class T>
std::ostream& operator<<(std::ostream& out, const Tensor<T, Cpu>& t) {
  out << "Tensor<"
      << (std::is_same_v<T, float>    ? "float"
          : std::is_same_v<T, double> ? "double"
                                      : "int")
      << ", cpu> shape " << t.shape();
  if (!t.defined()) return out << " (undefined)";
  const std::int64_t cols = t.rank() == 0 ? 1 : t.dim(-1);
  const std::int64_t rows = cols == 0 ? 0 : t.numel() / cols;
  const std::int64_t show_rows = std::min<std::int64_t>(rows, 6), show_cols = std::min<std::int64_t>(cols, 6);
  for (std::int64_t r = 0; r < show_rows; ++r) {
    out << "\n  [";
    for (std::int64_t c = 0; c < show_cols; ++c)
      out << (c ? ", " : "") << std::setprecision(6) << t.data()[r * cols + c];
    if (show_cols < cols) out << ", ...";
    out << "]";
  }
  if (show_rows < rows) out << "\n  ... (" << rows - show_rows << " more rows)";
  return out;
}

}  // namespace pixsyn
