#pragma once
// Saving and loading a module's state dict (parameters and buffers by full name) as safetensors.
#include <filesystem>
#include <map>
#include <string>

#include "pixsyn/core/error.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::nn {

template <class T>
void save_safetensors(const Module<T, Cpu>& module, const std::filesystem::path& path,
                      const std::map<std::string, std::string>& metadata = {}, io::DType dtype = io::default_dtype<T>) {
  io::save_tensors(path, module.state_dict(), metadata, dtype);
}

// Loads every key (converting the stored dtype to T); a key problem names the file and lists every
// missing, unexpected and wrongly shaped key.
template <class T>
void load_safetensors(Module<T, Cpu>& module, const std::filesystem::path& path, LoadOptions options = {}) {
  const auto tensors = io::load_tensors<T>(path);
  try {
    module.load_state_dict(tensors, options);
  } catch (const Error& e) {
    pixsyn::detail::fail("load_safetensors: '", path.string(), "': ", e.what());
  }
}

}  // namespace pixsyn::nn
