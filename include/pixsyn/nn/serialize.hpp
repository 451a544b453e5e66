#pragma once
// Saving and loading a module's state dict (parameters and buffers by full name) as safetensors.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <type_traits>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/nn/module.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::nn {

// A state dict's tensors on device D2: what a module on D2 loads, or (D2 = Cpu) what a file stores.
template <class D2, class T, class D>
StateDict<T, D2> state_dict_on(const StateDict<T, D>& state) {
  StateDict<T, D2> out;
  for (const auto& [key, value] : state) {
    if constexpr (std::is_same_v<D, D2>)
      out.emplace(key, value);
    else
      out.emplace(key, pixsyn::detail::on_device<D2>(pixsyn::detail::on_host(value)));
  }
  return out;
}

// A module on any device; the file is written from a host copy of its state dict.
template <class T, class D>
void save_safetensors(const Module<T, D>& module, const std::filesystem::path& path,
                      const std::map<std::string, std::string>& metadata = {}, io::DType dtype = io::default_dtype<T>) {
  io::save_tensors(path, state_dict_on<Cpu>(module.state_dict()), metadata, dtype);
}

namespace detail {

// Throws unless a stored parameter or buffer can be a weight of type T: a floating dtype (an integer
// tensor in its place means a mix-up of files or keys) and finite values after the conversion to T
// (one NaN or infinity would silently turn every output into NaN).
template <class T>
void check_weight(const std::string& where, const std::string& name, const io::RawTensor& raw, const Tensor<T>& value) {
  pixsyn::detail::check(io::is_floating(raw.dtype), where, "tensor '", pixsyn::detail::printable(name),
                        "' is stored as ", io::dtype_name(raw.dtype),
                        ", an integer dtype, but it is a floating-point parameter");
  const auto bad = first_non_finite(value);
  if (!bad) return;
  std::string origin;
  if (std::is_same_v<T, float> && raw.dtype == io::DType::F64) {
    double stored = 0;
    std::memcpy(&stored, raw.bytes.data() + *bad * 8, 8);
    if (std::isfinite(stored)) origin = pixsyn::detail::concat(" (stored as F64 ", stored, ", beyond float's range)");
  }
  pixsyn::detail::fail(where, "tensor '", pixsyn::detail::printable(name), "' of shape ", value.shape(),
                       " holds the non-finite value ", value.data()[*bad], origin, " at flat index ", *bad,
                       "; weights must be finite");
}

}  // namespace detail

// Loads every key (converting the stored dtype to T); a key problem names the file and lists every
// missing, unexpected and wrongly shaped key. Each of the module's parameters and buffers must be
// stored as a floating dtype and hold finite values (detail::check_weight). A module on the GPU loads
// the file's values through host copies.
template <class T, class D>
void load_safetensors(Module<T, D>& module, const std::filesystem::path& path, LoadOptions options = {}) {
  const std::string where = "load_safetensors: '" + path.string() + "': ";
  const auto keys = module.state_dict_keys();
  const std::set<std::string> own(keys.begin(), keys.end());
  StateDict<T, Cpu> tensors;
  for (const auto& [name, raw] : io::read_safetensors(path).tensors) {
    auto value = raw.template to<T>();
    if (own.count(name)) detail::check_weight(where, name, raw, value);
    tensors.emplace(name, std::move(value));
  }
  try {
    module.load_state_dict(state_dict_on<D>(tensors), options);
  } catch (const Error& e) {
    pixsyn::detail::fail(where, e.what());
  }
}

}  // namespace pixsyn::nn
