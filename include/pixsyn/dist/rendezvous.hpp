#pragma once
// dist::rendezvous: the ranks of a run meet once over TCP at MASTER_ADDR:MASTER_PORT, where rank 0 listens,
// and rank 0 hands every other rank the same blob (NCCL's ncclUniqueId, which the ranks need to build one
// communicator). Every wait is bounded: a rank that never comes, a port in use, a stranger speaking another
// protocol or a world-size mismatch end the rendezvous with an error naming it, never a hang.
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/dist/environment.hpp"

namespace pixsyn::dist {

struct RendezvousOptions {
  std::chrono::milliseconds timeout = std::chrono::minutes(5);  // for all ranks to arrive
};

namespace detail {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

inline int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<long long>(left, 1 << 30)) : 0;
}

// Waits until fd is readable (or writable); false at the deadline.
inline bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

inline void send_all(int fd, const void* data, std::size_t bytes, Clock::time_point deadline, const std::string& who) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    pixsyn::detail::check(wait_for(fd, POLLOUT, deadline), "dist::rendezvous: timed out sending to ", who);
    const ssize_t n = ::send(fd, p, bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    pixsyn::detail::check(n > 0, "dist::rendezvous: sending to ", who, " failed: ", std::strerror(errno));
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

inline void recv_all(int fd, void* data, std::size_t bytes, Clock::time_point deadline, const std::string& who) {
  auto* p = static_cast<unsigned char*>(data);
  while (bytes > 0) {
    pixsyn::detail::check(wait_for(fd, POLLIN, deadline), "dist::rendezvous: timed out waiting for ", who);
    const ssize_t n = ::recv(fd, p, bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    pixsyn::detail::check(n > 0, "dist::rendezvous: ", who, " closed the connection",
                          n < 0 ? std::string(": ") + std::strerror(errno) : std::string());
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

constexpr char magic[8] = {'p', 'i', 'x', 's', 'y', 'n', 'R', '1'};
constexpr std::uint32_t max_blob = 1 << 16;

inline void put_u32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_u32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(p[i]) << (8 * i);
  return v;
}

struct AddrInfo {
  addrinfo* list = nullptr;
  AddrInfo(const char* host, int port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host, service.c_str(), &hints, &list);
    pixsyn::detail::check(rc == 0, "dist::rendezvous: cannot resolve MASTER_ADDR '", host != nullptr ? host : "*",
                          "' port ", port, ": ", ::gai_strerror(rc));
  }
  ~AddrInfo() {
    if (list != nullptr) ::freeaddrinfo(list);
  }
  AddrInfo(const AddrInfo&) = delete;
  AddrInfo& operator=(const AddrInfo&) = delete;
};

// Rank 0: listens on every interface at the port, accepts world - 1 ranks, then sends each the blob.
inline void serve(const Environment& env, const std::vector<unsigned char>& blob, Clock::time_point deadline) {
  const AddrInfo addr(nullptr, env.master_port, true);
  Socket listener;
  std::string last_error = "no address";
  for (addrinfo* a = addr.list; a != nullptr && listener.fd() < 0; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (s.fd() < 0) continue;
    const int one = 1;
    ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(s.fd(), 128) == 0)
      listener = std::move(s);
    else
      last_error = std::strerror(errno);
  }
  pixsyn::detail::check(listener.fd() >= 0, "dist::rendezvous: rank 0 cannot listen on port ", env.master_port, ": ",
                        last_error, " (is MASTER_PORT in use by another run?)");
  std::vector<Socket> peers(static_cast<std::size_t>(env.world_size));
  for (int joined = 1; joined < env.world_size;) {
    pixsyn::detail::check(wait_for(listener.fd(), POLLIN, deadline), "dist::rendezvous: rank 0 waited for ",
                          env.world_size - joined, " of ", env.world_size - 1, " ranks at port ", env.master_port,
                          " until the timeout; they never joined");
    Socket peer(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (peer.fd() < 0) continue;
    unsigned char hello[16];
    recv_all(peer.fd(), hello, sizeof hello, deadline, "a joining rank");
    pixsyn::detail::check(std::memcmp(hello, magic, sizeof magic) == 0,
                          "dist::rendezvous: something that is not a pixsyn rank connected to port ", env.master_port);
    const std::uint32_t rank = get_u32(hello + 8), world = get_u32(hello + 12);
    pixsyn::detail::check(world == static_cast<std::uint32_t>(env.world_size), "dist::rendezvous: rank ", rank,
                          " has WORLD_SIZE ", world, ", rank 0 ", env.world_size);
    pixsyn::detail::check(rank >= 1 && rank < world && peers[rank].fd() < 0, "dist::rendezvous: rank ", rank,
                          " joined twice or is out of range");
    peers[rank] = std::move(peer);
    ++joined;
  }
  unsigned char size[4];
  put_u32(size, static_cast<std::uint32_t>(blob.size()));
  for (int r = 1; r < env.world_size; ++r) {
    const std::string who = "rank " + std::to_string(r);
    send_all(peers[static_cast<std::size_t>(r)].fd(), size, 4, deadline, who);
    send_all(peers[static_cast<std::size_t>(r)].fd(), blob.data(), blob.size(), deadline, who);
  }
}

// Rank > 0: connects (retrying while rank 0 is not listening yet) and receives the blob.
inline std::vector<unsigned char> join(const Environment& env, Clock::time_point deadline) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  std::string last_error;
  for (;;) {
    const AddrInfo addr(env.master_addr.c_str(), env.master_port, false);
    for (addrinfo* a = addr.list; a != nullptr; a = a->ai_next) {
      Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
      if (s.fd() < 0) continue;
      if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
        last_error = std::strerror(errno);
        continue;
      }
      unsigned char hello[16];
      std::memcpy(hello, magic, sizeof magic);
      put_u32(hello + 8, static_cast<std::uint32_t>(env.rank));
      put_u32(hello + 12, static_cast<std::uint32_t>(env.world_size));
      send_all(s.fd(), hello, sizeof hello, deadline, "rank 0 at " + where);
      unsigned char size[4];
      recv_all(s.fd(), size, 4, deadline, "rank 0 at " + where);
      const std::uint32_t n = get_u32(size);
      pixsyn::detail::check(n <= max_blob, "dist::rendezvous: rank 0 at ", where, " announced ", n,
                            " bytes; not a pixsyn rendezvous");
      std::vector<unsigned char> blob(n);
      recv_all(s.fd(), blob.data(), n, deadline, "rank 0 at " + where);
      return blob;
    }
    pixsyn::detail::check(Clock::now() < deadline, "dist::rendezvous: rank ", env.rank, " could not reach rank 0 at ",
                          where, " until the timeout: ", last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace detail

// A TCP port on this machine that nothing listens on now (the kernel's choice for port 0): MASTER_PORT for
// the ranks of one machine.
inline int free_port() {
  const detail::Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  const bool ok = s.fd() >= 0 && ::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &size) == 0;
  pixsyn::detail::check(ok, "dist::free_port: no free port found: ", std::strerror(errno), "; set MASTER_PORT");
  return ntohs(addr.sin_port);
}

// Rank 0 passes the blob (root_blob) and gets it back; the other ranks get rank 0's. A world of one
// returns root_blob at once.
inline std::vector<unsigned char> rendezvous(const Environment& env, const std::vector<unsigned char>& root_blob,
                                             const RendezvousOptions& options = {}) {
  pixsyn::detail::check(root_blob.size() <= detail::max_blob, "dist::rendezvous: a blob of ", root_blob.size(),
                        " bytes is too large");
  if (env.world_size == 1) return root_blob;
  const auto deadline = detail::Clock::now() + options.timeout;
  if (env.rank == 0) {
    detail::serve(env, root_blob, deadline);
    return root_blob;
  }
  return detail::join(env, deadline);
}

}  // namespace pixsyn::dist
