#pragma once
// The image files of a folder: every .png, .jpg and .jpeg (any case) below it, recursively, in sorted path
// order; what training data sets and evaluation read.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "pixsyn/core/error.hpp"

namespace pixsyn::io {

// `where` starts the error messages ("dataset: folder 'x': "); a missing folder or one that cannot be
// listed is an error, an empty list is not.
inline std::vector<std::filesystem::path> image_files(const std::filesystem::path& folder, const std::string& where) {
  namespace fs = std::filesystem;
  std::error_code error;
  pixsyn::detail::check(fs::is_directory(folder, error), where, "does not exist or is not a folder");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") files.push_back(it->path());
  }
  pixsyn::detail::check(!error, where, "cannot list it: ", error.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace pixsyn::io
