#pragma once
// Shape: up to five extents, stored inline (no allocation).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "pixsyn/core/error.hpp"

namespace pixsyn {

inline constexpr int max_rank = 5;

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
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
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
      step *= dims_[i];
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
