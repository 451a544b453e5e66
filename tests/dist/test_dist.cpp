#include <doctest/doctest.h>

#include <pixsyn/dist/buckets.hpp>
#include <pixsyn/dist/environment.hpp>
#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/dist/launch.hpp>
#include <pixsyn/dist/rendezvous.hpp>
#include <pixsyn/render/split.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_files.hpp"

using namespace pixsyn;
using namespace std::chrono_literals;

namespace {

// Rank r's values: distinct per rank and element, not exactly representable sums.
std::vector<double> values_of(int rank, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(0.1 * (rank + 1) + 0.37 * i - 1.0 / (3 + rank + i));
  return v;
}

}  // namespace

TEST_CASE("the in-process group sums and averages in rank order, identically on every rank, and broadcasts") {
  constexpr int world = 3, n = 5;
  std::vector<std::vector<double>> sums(world), means(world), broadcasts(world);
  dist::run_ranks(world, [&](dist::Communicator& comm) {
    const int r = comm.rank();
    CHECK(comm.world_size() == world);
    auto sum = values_of(r, n), mean = values_of(r, n);
    comm.all_reduce(sum.data(), n, dist::DataType::f64, dist::ReduceOp::sum);
    comm.all_reduce(mean.data(), n, dist::DataType::f64, dist::ReduceOp::average);
    auto b = values_of(r, n);
    comm.broadcast(b.data(), n, dist::DataType::f64, 1);
    sums[r] = sum;
    means[r] = mean;
    broadcasts[r] = b;
  });
  for (int i = 0; i < n; ++i) {
    double expected = 0;
    for (int r = 0; r < world; ++r) expected += values_of(r, n)[i];
    CHECK(sums[0][i] == expected);
    CHECK(means[0][i] == doctest::Approx(expected / world).epsilon(1e-15));
  }
  for (int r = 1; r < world; ++r) {
    CHECK(std::memcmp(sums[r].data(), sums[0].data(), n * sizeof(double)) == 0);
    CHECK(std::memcmp(means[r].data(), means[0].data(), n * sizeof(double)) == 0);
    CHECK(broadcasts[r] == values_of(1, n));
  }
  CHECK(broadcasts[0] == values_of(1, n));
}

TEST_CASE("point-to-point messages arrive in order with their sizes checked") {
  std::vector<float> received;
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    if (comm.rank() == 1) {
      for (float value : {1.5f, 2.5f}) comm.send_host(&value, sizeof value, 0);
    } else {
      for (int i = 0; i < 2; ++i) {
        float value = 0;
        comm.recv_host(&value, sizeof value, 1);
        received.push_back(value);
      }
    }
    comm.barrier();
  });
  CHECK(received == std::vector<float>{1.5f, 2.5f});
  CHECK_THROWS_WITH(dist::run_ranks(2,
                                    [](dist::Communicator& comm) {
                                      double value = 1;
                                      if (comm.rank() == 1) comm.send_host(&value, sizeof value, 0);
                                      if (comm.rank() == 0) comm.recv_host(&value, 4, 1);
                                    }),
                    doctest::Contains("expected 4 bytes from rank 1, got 8"));
}

TEST_CASE("a failing rank stops the others at their next collective; a missing rank times out") {
  std::atomic<int> stopped{0};
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(
      dist::run_ranks(3,
                      [&](dist::Communicator& comm) {
                        if (comm.rank() == 2) throw Error("rank 2's own failure");
                        try {
                          double x = 1;
                          comm.all_reduce(&x, 1, dist::DataType::f64, dist::ReduceOp::sum);
                        } catch (const Error& e) {
                          CHECK(std::string(e.what()).find("rank 2 failed: rank 2's own failure") != std::string::npos);
                          ++stopped;
                          throw;
                        }
                      }),
      "rank 2's own failure");
  CHECK(stopped == 2);
  CHECK_THROWS_WITH(dist::run_ranks(
                        2,
                        [](dist::Communicator& comm) {
                          if (comm.rank() == 0) comm.barrier();  // rank 1 never comes
                        },
                        200ms),
                    doctest::Contains("waited more than 200 ms in barrier"));
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK_THROWS_WITH(dist::run_ranks(2,
                                    [](dist::Communicator& comm) {
                                      std::vector<double> x(comm.rank() + 1, 1.0);
                                      comm.all_reduce(x.data(), comm.rank() + 1, dist::DataType::f64,
                                                      dist::ReduceOp::sum);
                                    }),
                    doctest::Contains("elements"));
}

TEST_CASE(
    "bucketed all-reduce packs tensors into buckets of the given size and averages gradients in place of "
    "the parameters' own") {
  CHECK(dist::detail::bucket_ranges({3, 3, 10, 1}, 8, {.bucket_bytes = 48}) ==
        std::vector<std::pair<std::size_t, std::size_t>>{{0, 2}, {2, 3}, {3, 4}});
  CHECK(dist::detail::bucket_ranges({}, 8, {}).empty());
  constexpr int world = 2;
  std::vector<std::vector<double>> grads(world);
  std::vector<std::size_t> buckets(world);
  std::vector<double> shared_after(world);
  dist::run_ranks(world, [&](dist::Communicator& comm) {
    const int r = comm.rank();
    std::vector<Var<double>> params;
    for (int k = 0; k < 4; ++k) params.emplace_back(Tensor<double>::zeros({k + 1}), true);
    // Parameter 2 has no gradient; 0 and 1 share one gradient tensor (as a graph may make them).
    const auto shared = Tensor<double>::full({2}, 1.0 + r);
    params[0].set_grad(Var<double>(Tensor<double>::full({1}, 10.0 * (r + 1))));
    params[1].set_grad(Var<double>(shared));
    params[3].set_grad(Var<double>(Tensor<double>::full({4}, -1.0 - 2 * r)));
    std::vector<Var<double>*> pointers;
    for (auto& p : params) pointers.push_back(&p);
    buckets[r] = dist::average_gradients(comm, pointers, {.bucket_bytes = 3 * sizeof(double)});
    CHECK_FALSE(params[2].grad().defined());
    for (int k : {0, 1, 3})
      for (std::int64_t i = 0; i < params[k].numel(); ++i) grads[r].push_back(params[k].grad().value().data()[i]);
    shared_after[r] = shared.data()[0];
  });
  CHECK(buckets[0] == 2);  // {1, 2} elements, then {4}
  CHECK(grads[0] == std::vector<double>{15, 1.5, 1.5, -2, -2, -2, -2});
  CHECK(grads[1] == grads[0]);
  CHECK(shared_after == std::vector<double>{1, 2});  // the graph's tensor is untouched

  std::vector<double> packed;
  dist::run_ranks(world, [&](dist::Communicator& comm) {
    auto a = Tensor<float>::full({3}, 1.0f + comm.rank());
    auto b = Tensor<float>::full({2, 2}, 4.0f * comm.rank());
    std::vector<Tensor<float>*> tensors{&a, &b};
    CHECK(dist::all_reduce_buckets(comm, tensors, dist::ReduceOp::sum, {.bucket_bytes = 8}) == 2);
    if (comm.rank() == 1) packed = {a.data()[0], a.data()[2], b.data()[0], b.data()[3]};
  });
  CHECK(packed == std::vector<double>{3, 3, 4, 4});
}

TEST_CASE("the torchrun environment variables are read and checked") {
  std::map<std::string, std::string> vars;
  const auto lookup = [&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  CHECK_FALSE(dist::environment_from(lookup).has_value());
  vars = {{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "1234"}};
  auto env = dist::environment_from(lookup);
  REQUIRE(env.has_value());
  CHECK(env->rank == 3);
  CHECK(env->world_size == 4);
  CHECK(env->local_rank == 3);
  CHECK(env->master_addr == "node0");
  CHECK(env->master_port == 1234);
  vars["LOCAL_RANK"] = "1";
  CHECK(dist::environment_from(lookup)->local_rank == 1);
  vars["RANK"] = "4";
  CHECK_THROWS_WITH(dist::environment_from(lookup), doctest::Contains("RANK='4' is not an integer in 0 .. 3"));
  vars["RANK"] = "0";
  vars["MASTER_PORT"] = "70000";
  CHECK_THROWS_WITH(dist::environment_from(lookup), doctest::Contains("MASTER_PORT='70000'"));
  vars.erase("RANK");
  CHECK_THROWS_WITH(dist::environment_from(lookup), doctest::Contains("RANK is not"));
}

TEST_CASE("the rendezvous hands rank 0's blob to every rank over TCP, and a missing rank 0 times out") {
  const int port = dist::free_port();
  constexpr int world = 3;
  std::vector<std::vector<unsigned char>> got(world);
  std::vector<std::thread> ranks;
  for (int r = world - 1; r >= 0; --r)  // the others start first and wait for rank 0
    ranks.emplace_back([&, r] {
      const dist::Environment env{.rank = r, .world_size = world, .local_rank = r, .master_port = port};
      got[r] = dist::rendezvous(env, r == 0 ? std::vector<unsigned char>{7, 8, 9} : std::vector<unsigned char>{},
                                {.timeout = 10s});
    });
  for (auto& t : ranks) t.join();
  for (int r = 0; r < world; ++r) CHECK(got[r] == std::vector<unsigned char>{7, 8, 9});

  const dist::Environment lonely{.rank = 1, .world_size = 2, .master_port = dist::free_port()};
  CHECK_THROWS_WITH(dist::rendezvous(lonely, {}, {.timeout = 300ms}), doctest::Contains("could not reach rank 0"));
  const dist::Environment root{.rank = 0, .world_size = 2, .master_port = dist::free_port()};
  CHECK_THROWS_WITH(dist::rendezvous(root, {1}, {.timeout = 300ms}), doctest::Contains("they never joined"));
}

TEST_CASE("the launcher runs one worker per rank with the torchrun variables, and stops all when one fails") {
  test::TempDir dir;
  const std::string script = (dir / "worker.sh").string();
  {
    std::ofstream out(script);
    out << "echo \"$RANK $WORLD_SIZE $LOCAL_RANK $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES\" > \"$1/rank$RANK\"\n"
        << "[ \"$2\" = fail ] && [ \"$RANK\" = 1 ] && exit 3\n"
        << "[ \"$2\" = fail ] && exec sleep 30\n"
        << "exit 0\n";
  }
  std::ostringstream log;
  const dist::LaunchOptions options{.processes = 3, .master_port = 1234};
  CHECK(dist::launch({"/bin/sh", script, dir.path().string(), "ok"}, options, log) == 0);
  CHECK(log.str().empty());
  for (int r = 0; r < 3; ++r) {
    std::ifstream in(dir / ("rank" + std::to_string(r)));
    std::string line;
    std::getline(in, line);
    const std::string rank = std::to_string(r);
    CHECK(line == rank + " 3 " + rank + " 127.0.0.1 1234 " + rank);
  }
  // Rank 1 fails at once; ranks 0 and 2 would sleep 30 s: they are stopped (SIGTERM) within the grace.
  const auto start = std::chrono::steady_clock::now();
  CHECK(dist::launch({"/bin/sh", script, dir.path().string(), "fail"}, options, log) == 3);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK(log.str() == "error: rank 1 of 3 exited with status 3; stopping the other ranks\n");
  std::ostringstream missing;
  CHECK(dist::launch({(dir / "no-such-program").string()}, options, missing) != 0);
}

TEST_CASE("split rendering: units go round the ranks and reach rank 0 in order, as one process renders them") {
  constexpr std::int64_t rows = 11, width = 3, band_rows = 2, bands = 6;  // the last band of one row
  // A band's "render": (2, rows, width) values that name the pixel.
  const auto pixel = [](std::int64_t c, std::int64_t row, std::int64_t col) { return float(100 * c + 10 * row + col); };
  const auto shape = [&](std::int64_t k) { return Shape{2, std::min(band_rows, rows - k * band_rows), width}; };
  const auto band_of = [&](std::int64_t k) {
    auto band = Tensor<float>::empty(shape(k));
    const std::int64_t count = band.dim(1);
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t r = 0; r < count; ++r)
        for (std::int64_t x = 0; x < width; ++x)
          band.data()[(c * count + r) * width + x] = pixel(c, k * band_rows + r, x);
    return band;
  };
  // world 0: no communicator, this process renders every band.
  for (const int world : {0, 1, 2, 3}) {
    CAPTURE(world);
    std::vector<std::int64_t> order;
    std::vector<std::vector<std::int64_t>> rendered(static_cast<std::size_t>(std::max(world, 1)));
    auto image = Tensor<float>::zeros({2, rows, width});
    const auto body = [&](dist::Communicator* comm) {
      const int rank = comm != nullptr ? comm->rank() : 0;
      render::gather_in_order(
          comm, bands,
          [&](std::int64_t k) {
            rendered[static_cast<std::size_t>(rank)].push_back(k);
            return band_of(k);
          },
          shape,
          [&](std::int64_t k, const Tensor<float>& band) {
            CHECK(rank == 0);
            order.push_back(k);
            const std::int64_t count = band.dim(1), first = k * band_rows;
            for (std::int64_t c = 0; c < 2; ++c)
              std::copy(band.data() + c * count * width, band.data() + (c + 1) * count * width,
                        image.data() + (c * rows + first) * width);
          });
    };
    if (world == 0)
      body(nullptr);
    else
      dist::run_ranks(world, [&](dist::Communicator& comm) { body(&comm); });
    CHECK(order == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
    for (std::size_t r = 0; r < rendered.size(); ++r)
      for (std::size_t i = 0; i < rendered[r].size(); ++i)
        CHECK(rendered[r][i] == static_cast<std::int64_t>(r + rendered.size() * i));
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t row = 0; row < rows; ++row)
        for (std::int64_t x = 0; x < width; ++x) CHECK(image.data()[(c * rows + row) * width + x] == pixel(c, row, x));
  }
}

TEST_CASE("split rendering: rank 0 pulls the units one at a time; misuse and a unit of the wrong shape are refused") {
  const auto shape = [](std::int64_t) { return Shape{1, 2}; };
  const auto unit = [](std::int64_t k) { return Tensor<float>::full({1, 2}, float(k)); };
  // Pulled one by one (a streamed writer asks for the next frame when it needs it), over 2 ranks.
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    render::UnitGather gather(&comm, 3, unit, shape);
    CHECK(gather.gathers() == (comm.rank() == 0));
    if (!gather.gathers()) {
      CHECK_THROWS_WITH(gather.next(), doctest::Contains("rank 1 serves its units; only rank 0 gathers"));
      return gather.serve();
    }
    for (std::int64_t k = 0; k < 3; ++k) CHECK(gather.next().data()[1] == float(k));
    CHECK_THROWS_WITH(gather.next(), doctest::Contains("all 3 units were gathered"));
    CHECK_THROWS_WITH(gather.serve(), doctest::Contains("rank 0 gathers the units"));
  });
  CHECK_THROWS_WITH(render::UnitGather(nullptr, 0, unit, shape), doctest::Contains("0 units"));
  // Rank 1's unit has the wrong shape: it fails, naming the unit, and rank 0 stops instead of waiting.
  CHECK_THROWS_WITH(dist::run_ranks(2,
                                    [&](dist::Communicator& comm) {
                                      render::gather_in_order(
                                          &comm, 4,
                                          [&](std::int64_t k) { return k % 2 ? Tensor<float>::zeros({3}) : unit(k); },
                                          shape, [](std::int64_t, const Tensor<float>&) {});
                                    }),
                    doctest::Contains("unit 1 has shape"));
}
