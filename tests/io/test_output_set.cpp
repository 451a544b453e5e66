// io::OutputSet: outputs checked before the work, written to temporary files and moved into place
// together; symlinks written through, FIFOs and devices written directly, inputs never overwritten.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <pixsyn/io/atomic_file.hpp>
#include <pixsyn/io/output_set.hpp>
#include <pixsyn/io/temp_registry.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/errors.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;
using pixsyn::test::read_bytes;
using pixsyn::test::TempDir;
using pixsyn::test::write_bytes;
namespace fs = std::filesystem;

namespace {

// A writer for OutputSet::write that puts `text` in the file atomically, as the library's writers do.
auto text_writer(std::string text) {
  return [text = std::move(text)](const fs::path& path) { io::write_file_atomic(path, text); };
}

std::vector<std::string> entries(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Reads a FIFO to its end on a thread, as a consumer of the program's output would.
struct FifoReader {
  std::string received;
  std::thread thread;
  explicit FifoReader(const fs::path& fifo) {
    thread = std::thread([this, fifo] {
      const int fd = ::open(fifo.c_str(), O_RDONLY);
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        received.append(buffer, static_cast<std::size_t>(n));
      ::close(fd);
    });
  }
  std::string wait() {
    thread.join();
    return received;
  }
};

bool is_fifo_file(const fs::path& p) { return fs::symlink_status(p).type() == fs::file_type::fifo; }

}  // namespace

TEST_CASE("OutputSet writes new files and replaces old ones, keeping their permissions") {
  TempDir dir;
  write_bytes(dir / "old.txt", "old");
  fs::permissions(dir / "old.txt", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  io::OutputSet outputs;
  const auto a = outputs.add_output("--a", dir / "new.txt");
  const auto b = outputs.add_output("--b", dir / "old.txt");
  outputs.write(a, text_writer("new"));
  outputs.write(b, text_writer("replaced"));
  // Nothing is in place before the commit.
  CHECK(!fs::exists(dir / "new.txt"));
  CHECK(read_bytes(dir / "old.txt") == "old");
  outputs.commit();
  CHECK(read_bytes(dir / "new.txt") == "new");
  CHECK(read_bytes(dir / "old.txt") == "replaced");
  CHECK(fs::status(dir / "old.txt").permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(entries(dir.path()) == std::vector<std::string>{"new.txt", "old.txt"});
  CHECK(io::registered_temp_files() == 0);
}

TEST_CASE("OutputSet writes through a symlink to the file it names") {
  TempDir dir;
  fs::create_directories(dir / "real");
  write_bytes(dir / "real/target.txt", "old");
  fs::create_symlink("real/target.txt", dir / "link.txt");
  fs::create_symlink("real/absent.txt", dir / "dangling.txt");
  io::OutputSet outputs;
  const auto a = outputs.add_output("--a", dir / "link.txt");
  const auto b = outputs.add_output("--b", dir / "dangling.txt");
  CHECK(outputs.target(a) == dir / "real/target.txt");
  outputs.write(a, text_writer("through"));
  outputs.write(b, text_writer("created"));
  outputs.commit();
  CHECK(fs::is_symlink(dir / "link.txt"));
  CHECK(fs::is_symlink(dir / "dangling.txt"));
  CHECK(read_bytes(dir / "real/target.txt") == "through");
  CHECK(read_bytes(dir / "real/absent.txt") == "created");
  CHECK(entries(dir / "real") == std::vector<std::string>{"absent.txt", "target.txt"});
}

TEST_CASE("OutputSet writes a FIFO directly and never replaces it") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
  io::OutputSet outputs;
  const auto i = outputs.add_output("--npy", dir / "pipe");
  CHECK(outputs.kind(i) == io::OutputSet::Kind::stream);
  outputs.write(i, text_writer("through the pipe"));
  FifoReader reader(dir / "pipe");
  outputs.commit();
  CHECK(reader.wait() == "through the pipe");
  CHECK(is_fifo_file(dir / "pipe"));
  CHECK(entries(dir.path()) == std::vector<std::string>{"pipe"});
  CHECK(io::registered_temp_files() == 0);
}

TEST_CASE("OutputSet writes a character device directly") {
  TempDir dir;
  // A private copy of /dev/null (needs the right to create device nodes), so that a wrong rename
  // could never hit the system's own.
  if (::mknod((dir / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    MESSAGE("skipped: cannot create a device node here");
    return;
  }
  io::OutputSet outputs;
  const auto i = outputs.add_output("--npy", dir / "null");
  CHECK(outputs.kind(i) == io::OutputSet::Kind::stream);
  outputs.write(i, text_writer("discarded"));
  outputs.commit();
  CHECK(fs::is_character_file(dir / "null"));
  CHECK(entries(dir.path()) == std::vector<std::string>{"null"});
}

TEST_CASE("an output that is an input is refused by file identity") {
  TempDir dir;
  write_bytes(dir / "z.npy", "latents");
  fs::create_symlink("z.npy", dir / "link.npy");
  fs::create_hard_link(dir / "z.npy", dir / "hard.npy");
  fs::create_directories(dir / "sub");
  for (const fs::path& output :
       {dir / "z.npy", dir / "link.npy", dir / "hard.npy", dir / "sub/../z.npy", dir.path() / "." / "z.npy"}) {
    CAPTURE(output);
    io::OutputSet outputs;
    outputs.add_input("--latents", dir / "z.npy");
    const std::string error = error_of([&] { outputs.add_output("--npy", output); });
    CHECK(contains(error, "--npy '" + output.string() + "' and --latents '"));
    CHECK(contains(error, "' are the same file"));
  }
  // In either order.
  io::OutputSet outputs;
  outputs.add_output("--npy", dir / "hard.npy");
  CHECK(contains(error_of([&] { outputs.add_input("--latents", dir / "link.npy"); }), "are the same file"));
  CHECK(read_bytes(dir / "z.npy") == "latents");
}

TEST_CASE("two outputs naming the same file are refused") {
  TempDir dir;
  write_bytes(dir / "a.png", "old");
  fs::create_hard_link(dir / "a.png", dir / "b.png");
  fs::create_symlink("new.png", dir / "to_new.png");
  const std::pair<fs::path, fs::path> same[] = {{dir / "a.png", dir / "b.png"},
                                                {dir / "x.png", dir.path() / "." / "x.png"},
                                                {dir / "new.png", dir / "to_new.png"}};
  for (const auto& pair : same) {  // not a structured binding: clang 14 cannot capture one in a lambda
    CAPTURE(pair.first);
    CAPTURE(pair.second);
    io::OutputSet outputs;
    outputs.add_output("--png", pair.first);
    CHECK(contains(error_of([&] { outputs.add_output("--npy", pair.second); }), "are the same file"));
  }
  io::OutputSet distinct;
  distinct.add_output("--png", dir / "x.png");
  CHECK_NOTHROW(distinct.add_output("--npy", dir / "y.png"));
}

TEST_CASE("bad output paths are refused before any work, naming the problem") {
  TempDir dir;
  fs::create_directories(dir / "folder");
  io::OutputSet outputs;
  CHECK(error_of([&] { outputs.add_output("--npy", dir / "missing/out.npy"); }) ==
        "--npy '" + (dir / "missing/out.npy").string() + "': folder '" + (dir / "missing").string() +
            "' does not exist");
  CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "folder"); }), "is a folder"));
  CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "folder/"); }), "is a folder"));
  CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "new/"); }), "names a folder, not a file"));
  CHECK(contains(error_of([&] { outputs.add_output("--npy", ""); }), "the path is empty"));
  write_bytes(dir / "file", "");
  CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "file/out.npy"); }), "is not a folder"));
  fs::create_symlink("loop", dir / "loop");
  CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "loop"); }), "too many levels of symbolic links"));
  if (::geteuid() != 0) {  // root may write anywhere
    fs::permissions(dir / "folder", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK(contains(error_of([&] { outputs.add_output("--npy", dir / "folder/out.npy"); }), "is not writable"));
    fs::permissions(dir / "folder", fs::perms::owner_all);
  }
}

TEST_CASE("a failed output leaves no temporary file and no output of the set in place") {
  TempDir dir;
  write_bytes(dir / "a.npy", "old a");
  SUBCASE("a writer throws") {
    {
      io::OutputSet outputs;
      const auto a = outputs.add_output("--npy", dir / "a.npy");
      const auto b = outputs.add_output("--png", dir / "b.png");
      outputs.write(a, text_writer("new a"));
      CHECK_THROWS_AS(outputs.write(b, [](const fs::path&) { throw Error("encoding failed"); }), Error);
      CHECK(contains(error_of([&] { outputs.commit(); }),
                     "--png '" + (dir / "b.png").string() + "': nothing was written"));
    }
    CHECK(entries(dir.path()) == std::vector<std::string>{"a.npy"});
    CHECK(read_bytes(dir / "a.npy") == "old a");
  }
  SUBCASE("a stream fails at the commit") {
    // The FIFO's reader leaves before reading: the write fails (EPIPE), after the set was staged.
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    const auto previous = ::signal(SIGPIPE, SIG_IGN);
    {
      io::OutputSet outputs;
      const auto a = outputs.add_output("--npy", dir / "a.npy");
      const auto p = outputs.add_output("--png", dir / "pipe");
      outputs.write(a, text_writer("new a"));
      outputs.write(p, text_writer(std::string(std::size_t(1) << 20, 'x')));  // more than a pipe buffers
      std::thread reader([&] { ::close(::open((dir / "pipe").c_str(), O_RDONLY)); });
      CHECK(contains(error_of([&] { outputs.commit(); }), "--png '" + (dir / "pipe").string() + "': cannot write"));
      reader.join();
    }
    ::signal(SIGPIPE, previous);
    CHECK(entries(dir.path()) == std::vector<std::string>{"a.npy", "pipe"});
    CHECK(read_bytes(dir / "a.npy") == "old a");
  }
  CHECK(io::registered_temp_files() == 0);
}

TEST_CASE("a write killed by SIGTERM leaves no temporary file and the old file intact") {
  TempDir dir;
  write_bytes(dir / "out.npy", "old");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child, a program with the default action for SIGTERM (the test runner has its own handler),
    // writes the output slowly and is killed in the middle.
    ::signal(SIGTERM, SIG_DFL);
    io::remove_temp_files_on_signals();
    io::OutputSet outputs;
    const auto i = outputs.add_output("--npy", dir / "out.npy");
    outputs.write(i, [&](const fs::path& path) {
      const int fd = ::open(path.c_str(), O_WRONLY);
      (void)!::write(fd, "partial", 7);
      (void)!::write(ready[1], "r", 1);
      for (;;) ::pause();
    });
    ::_exit(0);
  }
  char signal_byte = 0;
  REQUIRE(::read(ready[0], &signal_byte, 1) == 1);
  // The temporary file is there while the child writes ...
  CHECK(entries(dir.path()).size() == 2);
  REQUIRE(::kill(child, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(ready[0]);
  ::close(ready[1]);
  // ... and gone once the signal ended it, which the child reports as its cause of death.
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.npy"});
  CHECK(read_bytes(dir / "out.npy") == "old");
}

TEST_CASE("write_file_atomic leaves no temporary file when the write fails") {
  TempDir dir;
  fs::create_directories(dir / "folder");
  // Renaming a file over a non-empty folder fails after the temporary file was written.
  write_bytes(dir / "folder/inside", "x");
  CHECK(contains(error_of([&] { io::write_file_atomic(dir / "folder", std::string_view("data")); }),
                 "write_file_atomic: cannot rename"));
  CHECK(entries(dir.path()) == std::vector<std::string>{"folder"});
  CHECK(io::registered_temp_files() == 0);
}
