#pragma once
// Shape: up to five extents, stored inline (no allocation).
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <string>

#include "pixsyn/core/error.hpp"

namespace pixsyn {

inline constexpr int max_rank = 5;
// The most elements, and the most bytes, a shape may describe: sizes are int64 and pointer
// differences are ptrdiff_t, so a count beyond this would wrap.
inline constexpr std::int64_t max_count = std::numeric_limits<std::int64_t>::max();

namespace detail {

// a * b for non-negative a and b, or nothing when the product exceeds max_count.
inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

// a * b for non-negative sizes from outside (a grid's height and width, ...); `what` names the
// product in the error thrown when it exceeds max_count: "<what> a x b exceeds the limit ...".
template <class... What>
std::int64_t multiply_sizes(std::int64_t a, std::int64_t b, const What&... what) {
  const auto product = checked_mul(a, b);
  check(product.has_value(), what..., " ", a, " x ", b, " exceeds the limit of ", max_count, " (2^63 - 1)");
  return *product;
}

}  // namespace detail

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> extents) {
    detail::check(extents.size() <= max_rank, "Shape: rank ", extents.size(), " exceeds the maximum rank ", max_rank);
    for (auto e : extents) push_back(e);
  }
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<std::int64_t>(*first));
  }

  void push_back(std::int64_t extent) {
    detail::check(rank_ < max_rank, "Shape: rank exceeds the maximum rank ", max_rank);
    detail::check(extent >= 0, "Shape: negative extent ", extent);
    dims_[rank_++] = extent;
  }

  int rank() const { return rank_; }
  // The element count; a shape with more than max_count elements is an error naming the shape.
  std::int64_t numel() const {
    const auto n = checked_numel();
    if (!n) detail::fail("Shape ", *this, " has more than ", max_count, " (2^63 - 1) elements");
    return *n;
  }
  // numel() * element_size; more than max_count bytes is an error naming the shape.
  std::size_t bytes(std::size_t element_size) const {
    const auto n = checked_numel();
    const auto b = n ? detail::checked_mul(*n, static_cast<std::int64_t>(element_size)) : std::nullopt;
    if (!b)
      detail::fail("Shape ", *this, " of ", element_size, "-byte elements needs more than ", max_count,
                   " (2^63 - 1) bytes");
    return static_cast<std::size_t>(*b);
  }
  // The element count, or nothing when it exceeds max_count.
  std::optional<std::int64_t> checked_numel() const {
    for (int i = 0; i < rank_; ++i)
      if (dims_[i] == 0) return 0;
    std::optional<std::int64_t> n = 1;
    for (int i = 0; i < rank_ && n; ++i) n = detail::checked_mul(*n, dims_[i]);
    return n;
  }
  // Axis index with Python-style negative indices; throws when out of range.
  int axis(int a) const {
    const int resolved = a < 0 ? a + rank_ : a;
    // Pass the shape itself, not to_string(): arguments are evaluated even when the check passes,
    // and this runs on every extent lookup.
    detail::check(resolved >= 0 && resolved < rank_, "axis ", a, " is out of range for shape ", *this);
    return resolved;
  }
  std::int64_t operator[](int a) const { return dims_[axis(a)]; }
  std::int64_t& operator[](int a) { return dims_[axis(a)]; }

  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + rank_; }

  // Row-major strides in elements.
  std::array<std::int64_t, max_rank> strides() const {
    std::array<std::int64_t, max_rank> s{};
    std::int64_t step = 1;
    for (int i = rank_ - 1; i >= 0; --i) {
      s[i] = step;
      if (i > 0) {
        const auto next = detail::checked_mul(step, dims_[i]);
        if (!next) detail::fail("Shape ", *this, ": the stride of axis ", i - 1, " exceeds ", max_count, " (2^63 - 1)");
        step = *next;
      }
    }
    return s;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

  std::string to_string() const {
    std::string s = "(";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims_[i]);
    }
    if (rank_ == 1) s += ",";
    return s + ")";
  }
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.to_string(); }

 private:
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

}  // namespace pixsyn
