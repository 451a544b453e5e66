#pragma once
// Whole-file I/O. Writes are atomic: the bytes go to a temporary file in the target's directory, are
// flushed to disk, and the temporary is renamed over the target, so readers (and a crash) never see
// a half-written checkpoint or image.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pixsyn/core/error.hpp"

namespace pixsyn::io {

namespace detail {

inline std::string os_error(int error) { return std::generic_category().message(error); }

// Closes and removes the temporary file unless the write succeeded.
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) {
    directory_ = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    name_ = (directory_ / pixsyn::detail::concat(".", target.filename().string(), ".tmp.XXXXXX")).string();
    fd_ = ::mkstemp(name_.data());
    pixsyn::detail::check(fd_ >= 0, "write_file_atomic: cannot create a temporary file in '", directory_.string(),
                          "' to write '", target.string(), "': ", os_error(errno));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(name_.c_str());
  }

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  const std::filesystem::path& directory() const { return directory_; }
  // Closes the descriptor, reporting the error a delayed write may only show here.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void commit() { committed_ = true; }

 private:
  std::filesystem::path directory_;
  std::string name_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace detail

inline void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  detail::TempFile temp(path);
  auto fail = [&](const char* step) {
    pixsyn::detail::fail("write_file_atomic: cannot ", step, " '", path.string(), "' (via '", temp.name(),
                         "'): ", detail::os_error(errno));
  };
  const std::byte* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(temp.fd(), data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("write");
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  // mkstemp creates the file 0600: keep the mode of the file being replaced, else use rw-r--r--.
  struct stat existing {};
  const mode_t mode = ::stat(path.c_str(), &existing) == 0 ? (existing.st_mode & 07777) : 0644;
  if (::fchmod(temp.fd(), mode) != 0) fail("set permissions of");
  if (::fsync(temp.fd()) != 0) fail("flush");
  if (temp.close() != 0) fail("close");
  std::error_code error;
  std::filesystem::rename(temp.name(), path, error);
  if (error)
    pixsyn::detail::fail("write_file_atomic: cannot rename '", temp.name(), "' to '", path.string(),
                         "': ", error.message());
  temp.commit();
  // Persist the rename itself; best effort, as the data is already safe.
  const int dir = ::open(temp.directory().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

inline void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  write_file_atomic(path, std::as_bytes(std::span(text.data(), text.size())));
}

// Reads a whole file; a missing or unreadable file is an error naming the path, prefixed by `caller`.
inline std::vector<std::byte> read_file(const std::filesystem::path& path, std::string_view caller = "read_file") {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  pixsyn::detail::check(!error, caller, ": cannot read '", path.string(), "': ", error.message());
  std::ifstream in(path, std::ios::binary);
  pixsyn::detail::check(in.good(), caller, ": cannot open '", path.string(), "': ", detail::os_error(errno));
  std::vector<std::byte> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  pixsyn::detail::check(in.gcount() == static_cast<std::streamsize>(size), caller, ": cannot read all ", size,
                        " bytes of '", path.string(), "'");
  return bytes;
}

}  // namespace pixsyn::io
