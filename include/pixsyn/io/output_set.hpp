#pragma once
// The outputs of one command as one transaction. Every output path is checked before the work starts
// (its folder exists and is writable, it is not a folder, not the same file as an input or as another
// output: by device and inode, not by name); each output is then written to a temporary file, and only
// when all are written are they moved into place together, so a failure leaves no half-written set.
// A symlink is written through to the file it names; an existing FIFO or character device is written
// directly (opened, never replaced or renamed over).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/io/atomic_file.hpp"

namespace pixsyn::io {

// A file's identity: the device and inode that a path names once its symlinks are followed.
struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
  friend bool operator==(const FileId&, const FileId&) = default;
};

// The identity of the file at `path` (following symlinks), or nothing when there is none.
inline std::optional<FileId> file_id(const std::filesystem::path& path) {
  struct stat s {};
  if (::stat(path.c_str(), &s) != 0) return std::nullopt;
  return FileId{s.st_dev, s.st_ino};
}

// The identity of the file open as descriptor `fd`, or nothing.
inline std::optional<FileId> file_id(int fd) {
  struct stat s {};
  if (::fstat(fd, &s) != 0) return std::nullopt;
  return FileId{s.st_dev, s.st_ino};
}

class OutputSet {
 public:
  // How an output is written.
  enum class Kind {
    file,    // a regular file, new or replaced: temporary file beside it, renamed over it at commit
    stream,  // an existing FIFO or character device: opened and written at commit, never replaced
  };

  OutputSet() = default;
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // A file the command reads, named by `role` (a flag such as "--latents") in messages; no output may be
  // the same file. A path that does not exist is left to the reader to report.
  void add_input(const std::string& role, const std::filesystem::path& path) {
    const auto id = file_id(path);
    if (!id) return;
    for (const Output& o : outputs_)
      if (o.new_name.empty() && o.id == *id) fail_same(o.role, o.given, role, path);
    inputs_.push_back({role, path, *id});
  }

  // Checks `path` as an output named by `role` now, before any work; returns its index for write().
  // Throws pixsyn::Error naming the role, the path and the problem.
  std::size_t add_output(const std::string& role, const std::filesystem::path& path) {
    Output o = check_output(role, path);
    for (const Input& i : inputs_)
      if (o.new_name.empty() && o.id == i.id) fail_same(role, path, i.role, i.path);
    for (const Output& other : outputs_)
      if (o.id == other.id && o.new_name == other.new_name) fail_same(other.role, other.given, role, path);
    outputs_.push_back(std::move(o));
    return outputs_.size() - 1;
  }

  const std::filesystem::path& target(std::size_t index) const { return outputs_.at(index).target; }
  // Whether some output is the file `id` (e.g. the program's standard output: then it is no place for messages).
  bool writes_to(const FileId& id) const {
    return std::any_of(outputs_.begin(), outputs_.end(),
                       [&](const Output& o) { return o.new_name.empty() && o.id == id; });
  }
  Kind kind(std::size_t index) const { return outputs_.at(index).kind; }

  // Writes output `index`: `writer` is given the path of a new temporary file (beside the target, or for
  // a stream in the system's temporary folder) and writes the output there, e.g. with write_npy. The
  // temporary file is removed if the writer throws, the set is destroyed uncommitted, or a signal ends
  // a program that called remove_temp_files_on_signals().
  void write(std::size_t index, const std::function<void(const std::filesystem::path&)>& writer) {
    Output& o = outputs_.at(index);
    o.staged.reset();
    const std::filesystem::path beside =
        o.kind == Kind::file ? o.target : std::filesystem::temp_directory_path() / o.target.filename();
    auto staged = std::make_unique<detail::TempFile>(beside);
    staged->close();
    writer(staged->name());
    o.staged = std::move(staged);  // written: from here on part of the commit
  }

  // Moves every output into place: the streams first (their writes can still fail, e.g. a FIFO whose
  // reader went away), then the renames, which within one folder do not fail short of the disk
  // failing. Every output must have been written.
  void commit() {
    for (const Output& o : outputs_)
      pixsyn::detail::check(o.staged != nullptr, o.role, " '", o.given.string(), "': nothing was written");
    for (Output& o : outputs_)
      if (o.kind == Kind::stream) copy_to_stream(o);
    for (Output& o : outputs_) {
      if (o.kind != Kind::file) continue;
      pixsyn::detail::check(::chmod(o.staged->name().c_str(), detail::replacement_mode(o.target)) == 0, o.role, " '",
                            o.given.string(), "': cannot set the permissions of '", o.staged->name(),
                            "': ", detail::os_error(errno));
      o.staged->rename_to(o.target);
    }
    for (const Output& o : outputs_)
      if (o.kind == Kind::file) detail::sync_directory(o.target.parent_path());
    for (Output& o : outputs_) o.staged.reset();
  }

 private:
  struct Input {
    std::string role;
    std::filesystem::path path;
    FileId id;
  };
  struct Output {
    std::string role;
    std::filesystem::path given;   // as the user wrote it, for messages
    std::filesystem::path target;  // the file written: symlinks followed
    Kind kind = Kind::file;
    FileId id;             // the target's identity, or its folder's for a new file ...
    std::string new_name;  // ... together with its name in that folder
    std::unique_ptr<detail::TempFile> staged;
  };

  [[noreturn]] static void fail_same(const std::string& role_a, const std::filesystem::path& a,
                                     const std::string& role_b, const std::filesystem::path& b) {
    pixsyn::detail::fail(role_a, " '", a.string(), "' and ", role_b, " '", b.string(), "' are the same file");
  }

  // Follows the symlinks that `path` goes through to the path of the file it names (which need not exist).
  static std::filesystem::path follow_links(const std::string& role, std::filesystem::path path) {
    for (int hops = 0; hops < 40; ++hops) {
      struct stat s {};
      if (::lstat(path.c_str(), &s) != 0 || !S_ISLNK(s.st_mode)) return path;
      std::error_code error;
      const std::filesystem::path next = std::filesystem::read_symlink(path, error);
      pixsyn::detail::check(!error, role, " '", path.string(), "': cannot read the link: ", error.message());
      path = next.is_absolute() ? next : path.parent_path() / next;
    }
    pixsyn::detail::fail(role, " '", path.string(), "': too many levels of symbolic links");
  }

  static Output check_output(const std::string& role, const std::filesystem::path& given) {
    auto fail = [&](const auto&... what) { pixsyn::detail::fail(role, " '", given.string(), "': ", what...); };
    if (given.empty()) fail("the path is empty");
    Output o;
    o.role = role;
    o.given = given;
    // The kernel follows the links to the file (also /proc's, such as /dev/stdout to a pipe, which
    // name no path); the path is followed by hand only to find where a regular file is renamed to.
    struct stat s {};
    if (::stat(given.c_str(), &s) == 0) {
      if (S_ISDIR(s.st_mode)) fail("is a folder");
      if (S_ISFIFO(s.st_mode) || S_ISCHR(s.st_mode))
        o.kind = Kind::stream;
      else if (!S_ISREG(s.st_mode))
        fail("is neither a regular file nor a FIFO or character device");
      if (::access(given.c_str(), W_OK) != 0) fail("is not writable: ", detail::os_error(errno));
      o.id = {s.st_dev, s.st_ino};
      o.target = o.kind == Kind::stream ? given : follow_links(role, given);
    } else {
      if (errno == ELOOP) fail("too many levels of symbolic links");
      if (errno != ENOENT && errno != ENOTDIR) fail("cannot be checked: ", detail::os_error(errno));
      o.target = follow_links(role, given);
      const std::filesystem::path name = o.target.filename();
      if (name.empty() || name == "." || name == "..") fail("names a folder, not a file");
      const std::filesystem::path folder = o.target.has_parent_path() ? o.target.parent_path() : ".";
      struct stat f {};
      if (::stat(folder.c_str(), &f) != 0) fail("folder '", folder.string(), "' does not exist");
      if (!S_ISDIR(f.st_mode)) fail("'", folder.string(), "' is not a folder");
      o.id = {f.st_dev, f.st_ino};
      o.new_name = name.string();
    }
    // A file is replaced by renaming a temporary file in its folder over it.
    const std::filesystem::path folder = o.target.has_parent_path() ? o.target.parent_path() : ".";
    if (o.kind == Kind::file && ::access(folder.c_str(), W_OK | X_OK) != 0)
      fail("folder '", folder.string(), "' is not writable: ", detail::os_error(errno));
    return o;
  }

  static void copy_to_stream(const Output& o) {
    auto fail = [&](const char* step) {
      pixsyn::detail::fail(o.role, " '", o.given.string(), "': cannot ", step, ": ", detail::os_error(errno));
    };
    const FileDescriptor in(::open(o.staged->name().c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) fail("read back the temporary file");
    // No O_CREAT, no O_TRUNC: the FIFO or device is written as it is.
    FileDescriptor out(::open(o.target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (out.fd < 0) fail("open");
    std::vector<std::byte> chunk(std::size_t(1) << 20);
    for (;;) {
      const ssize_t n = ::read(in.fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read back the temporary file");
      if (n == 0) break;
      if (!detail::write_all(out.fd, std::span(chunk.data(), static_cast<std::size_t>(n)))) fail("write");
    }
    if (out.close() != 0) fail("close");
  }

  // Closes a descriptor at scope exit.
  struct FileDescriptor {
    int fd;
    explicit FileDescriptor(int f) : fd(f) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
      if (fd >= 0) ::close(fd);
    }
    int close() { return ::close(std::exchange(fd, -1)); }
  };

  std::vector<Input> inputs_;
  std::vector<Output> outputs_;
};

}  // namespace pixsyn::io
