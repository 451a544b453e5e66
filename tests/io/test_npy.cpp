#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <span>
#include <string>

#include <pixsyn/io/npy.hpp>
#include "support/errors.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// A .npy file from a header dict text (padded here to 64 bytes) and raw data bytes.
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.resize((prefix + header.size() + 1 + 63) / 64 * 64 - prefix - 1, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const auto length = static_cast<std::uint32_t>(header.size());
  bytes.append(reinterpret_cast<const char*>(&length), major == 1 ? 2 : 4);
  return bytes + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), std::data(values), bytes.size());
  return bytes;
}

// The message of the pixsyn::Error that reading `bytes` as a .npy file throws.
std::string read_error(const TempDir& dir, const std::string& bytes) {
  write_bytes(dir / "bad.npy", bytes);
  return error_of([&] { io::read_npy<float>(dir / "bad.npy"); });
}

}  // namespace

TEST_CASE_TEMPLATE("write_npy and read_npy round-trip", T, float, double) {
  TempDir dir;
  Philox gen{3};
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 1, 3, 2, 2}, Shape{0, 4}}) {
    const auto x = Tensor<T>::randn(shape, gen);
    io::write_npy(dir / "x.npy", x);
    const auto back = io::read_npy<T>(dir / "x.npy");
    CHECK(back.shape() == shape);
    CHECK(back.to_vector() == x.to_vector());
    CHECK(read_bytes(dir / "x.npy").size() == 128 + x.numel() * sizeof(T));  // numpy aligns the data to 64 bytes
  }
}

TEST_CASE("write_npy writes numpy's exact layout") {
  TempDir dir;
  io::write_npy(dir / "a.npy", Tensor<float>::from({1, -2, 3}, {3}));
  CHECK(read_bytes(dir / "a.npy") ==
        make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", raw<float>({1, -2, 3})));
  io::write_npy(dir / "b.npy", Tensor<double>::from({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK(read_bytes(dir / "b.npy") ==
        make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", raw<double>({1, 2, 3, 4, 5, 6})));
  io::write_npy(dir / "c.npy", Tensor<float>::scalar(7));
  CHECK(read_bytes(dir / "c.npy") ==
        make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", raw<float>({7})));
}

TEST_CASE("read_npy reads version 1.0 and 2.0 headers and converts between f4 and f8") {
  TempDir dir;
  write_bytes(dir / "v1.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                                       raw<double>({0.5, 1.5, -2, 1e-3})));
  CHECK(io::read_npy<double>(dir / "v1.npy").to_vector() == std::vector<double>{0.5, 1.5, -2, 1e-3});
  CHECK(io::read_npy<float>(dir / "v1.npy").to_vector() == std::vector<float>{0.5f, 1.5f, -2, 1e-3f});
  // Version 2.0, keys in another order, double quotes, no trailing comma.
  write_bytes(dir / "v2.npy",
              make_npy(R"({"shape": (1, 3), "fortran_order": False, "descr": "<f4"})", raw<float>({1, 2, 3}), 2));
  const auto v2 = io::read_npy<double>(dir / "v2.npy");
  CHECK(v2.shape() == Shape{1, 3});
  CHECK(v2.to_vector() == std::vector<double>{1, 2, 3});
}

TEST_CASE("bad .npy files give errors that name the path and the problem") {
  TempDir dir;
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(io::read_npy<float>(dir / "none.npy"), doctest::Contains("none.npy"), pixsyn::Error);
    CHECK_THROWS_WITH_AS(io::read_npy<float>(dir / "none.npy"), doctest::Contains("No such file"), pixsyn::Error);
  }
  SUBCASE("bad magic") {
    const auto message = read_error(dir, "PK\x03\x04 this is a zip file, not npy");
    CHECK(contains(message, "bad.npy"));
    CHECK(contains(message, "bad magic"));
    CHECK(contains(read_error(dir, "\x93NUM"), "bad magic"));
  }
  SUBCASE("unsupported version") {
    std::string bytes = make_npy(good_dict, raw<float>({1, 2}));
    bytes[6] = 4;
    CHECK(contains(read_error(dir, bytes), "unsupported .npy version 4.0"));
  }
  SUBCASE("fortran order") {
    CHECK(contains(
        read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", raw<float>({1, 2}))),
        "fortran_order is True"));
  }
  SUBCASE("other dtypes") {
    for (const std::string descr : {"<i4", ">f4", "<f2", "|u1"}) {
      const auto message = read_error(
          dir, make_npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", raw<float>({1, 2})));
      CHECK(contains(message, "unsupported dtype '" + descr + "'"));
    }
  }
  SUBCASE("truncated data") {
    const auto message = read_error(dir, make_npy(good_dict, raw<float>({1})));
    CHECK(contains(message, "truncated: shape (2,) of <f4 needs 8 bytes of data but the file holds 4"));
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, "
                                            "100000, 100000, 100000), }",
                                            raw<float>({1}))),
                   "truncated"));
    CHECK(contains(read_error(dir, make_npy(good_dict, raw<float>({1, 2, 3}))), "4 unexpected trailing bytes"));
  }
  SUBCASE("a shape whose byte count overflows") {
    CHECK(contains(
        read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
                                 raw<float>({1}))),
        "truncated: shape (4611686018427387904, 4) of <f4 needs more than 9223372036854775807 bytes"));
    CHECK(contains(
        read_error(dir, make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }", "")),
        "needs more than 9223372036854775807 bytes"));
    CHECK(contains(
        read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775808,), }", "")),
        "malformed header (shape extent larger than 2^63 - 1"));
  }
  SUBCASE("a header longer than numpy's limit") {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + std::string(20000, ' ');
    CHECK(contains(read_error(dir, make_npy(dict, raw<float>({1, 2}), 2)), "exceeds numpy's limit of 10000"));
  }
  SUBCASE("keys twice, unknown keys, text after the dict") {
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                            raw<float>({1, 2}))),
                   "the key 'descr' appears twice"));
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': True}",
                                            raw<float>({1, 2}))),
                   "header has the unexpected key 'x'"));
    CHECK(contains(
        read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", raw<float>({1, 2}))),
        "unexpected text after the dictionary"));
  }
  SUBCASE("from memory") {
    const std::string bytes = make_npy(good_dict, raw<float>({1, 2}));
    CHECK(io::parse_npy<double>(std::as_bytes(std::span(bytes.data(), bytes.size()))).to_vector() ==
          std::vector<double>{1, 2});
    CHECK(contains(error_of([&] { io::parse_npy<float>(std::as_bytes(std::span(bytes.data(), 9)), "cut"); }),
                   "read_npy: 'cut': bad magic"));
  }
  SUBCASE("truncated header") {
    const std::string bytes = make_npy(good_dict, "");
    CHECK(contains(read_error(dir, bytes.substr(0, 40)), "truncated: header of 118 bytes"));
  }
  SUBCASE("malformed header") {
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", "")),
                   "malformed header"));
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False}", "")), "header has no 'shape'"));
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", raw<float>({1, 2}))),
                   "malformed header"));
    CHECK(contains(read_error(dir, make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': 'x'}", "")),
                   "header field 'shape' is not a tuple"));
  }
}
