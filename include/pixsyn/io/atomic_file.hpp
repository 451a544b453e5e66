#pragma once
// Whole-file I/O. Writes are atomic: the bytes go to a temporary file in the target's directory, are
// flushed to disk, and the temporary is renamed over the target, so readers (and a crash) never see
// a half-written checkpoint or image. Temporary files are removed on errors and, in programs that ask
// for it, on signals (temp_registry.hpp). Several outputs of one command: output_set.hpp.
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
#include "pixsyn/io/temp_registry.hpp"

namespace pixsyn::io {

namespace detail {

inline std::string os_error(int error) { return std::generic_category().message(error); }

// A new temporary file beside `target` (same folder, so a rename can replace the target atomically),
// registered for removal on a signal (temp_registry.hpp); closed and removed at scope exit unless
// committed.
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) {
    directory_ = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    name_ = (directory_ / pixsyn::detail::concat(".", target.filename().string(), ".tmp.XXXXXX")).string();
    {
      BlockedSignals blocked;
      fd_ = ::mkstemp(name_.data());
      if (fd_ >= 0) slot_ = temp_registry().add(name_);
    }
    pixsyn::detail::check(fd_ >= 0, "cannot create a temporary file in '", directory_.string(), "' to write '",
                          target.string(), "': ", os_error(errno));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(name_.c_str());
    temp_registry().remove(slot_);
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
  // Renames the file to `target` (which must be in the same folder): from here on it is no longer
  // temporary.
  void rename_to(const std::filesystem::path& target) {
    std::error_code error;
    std::filesystem::rename(name_, target, error);
    pixsyn::detail::check(!error, "cannot rename '", name_, "' to '", target.string(), "': ", error.message());
    committed_ = true;
  }

 private:
  std::filesystem::path directory_;
  std::string name_;
  int fd_ = -1;
  int slot_ = -1;
  bool committed_ = false;
};

// The permissions a file written over `target` gets: those of the file it replaces, else rw-r--r--
// (mkstemp creates files 0600).
inline mode_t replacement_mode(const std::filesystem::path& target) {
  struct stat existing {};
  return ::stat(target.c_str(), &existing) == 0 ? (existing.st_mode & 07777) : 0644;
}

// Persists a rename in `directory`; best effort, as the data itself is already on disk.
inline void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Writes all of `bytes` to `fd`, retrying interrupted and partial writes; false (errno set) on failure.
inline bool write_all(int fd, std::span<const std::byte> bytes) {
  const std::byte* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return false;
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace detail

inline void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  try {
    detail::TempFile temp(path);
    auto fail = [&](const char* step) {
      pixsyn::detail::fail("cannot ", step, " '", path.string(), "' (via '", temp.name(),
                           "'): ", detail::os_error(errno));
    };
    if (!detail::write_all(temp.fd(), bytes)) fail("write");
    if (::fchmod(temp.fd(), detail::replacement_mode(path)) != 0) fail("set permissions of");
    if (::fsync(temp.fd()) != 0) fail("flush");
    if (temp.close() != 0) fail("close");
    temp.rename_to(path);
    detail::sync_directory(temp.directory());
  } catch (const Error& e) {
    throw Error(pixsyn::detail::concat("write_file_atomic: ", e.what()));
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
