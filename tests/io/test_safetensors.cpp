#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <string>

#include <pixsyn/core/storage.hpp>
#include <pixsyn/io/float16.hpp>
#include <pixsyn/io/safetensors.hpp>
#include "support/errors.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// A safetensors file from a header text and raw data bytes, written by hand.
std::string make_file(const std::string& header, const std::string& data, std::uint64_t header_length) {
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &header_length, 8);
  return bytes + header + data;
}
std::string make_file(const std::string& header, const std::string& data = std::string(8, '\0')) {
  return make_file(header, data, header.size());
}

// The message of the pixsyn::Error that reading `bytes` as a safetensors file throws.
std::string read_error(const TempDir& dir, const std::string& bytes) {
  const auto path = dir / "bad.safetensors";
  write_bytes(path, bytes);
  return error_of([&] { io::read_safetensors(path); });
}

}  // namespace

TEST_CASE("F16 conversion of known values rounds to nearest even and keeps subnormals, inf and NaN") {
  const float tiny = std::ldexp(1.0f, -24);  // the smallest F16 subnormal
  const struct {
    float value;
    std::uint16_t bits;
  } cases[] = {
      {1.0f, 0x3c00},
      {-2.0f, 0xc000},
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {65504.0f, 0x7bff},
      {65519.0f, 0x7bff},                                // below the halfway point to 65536
      {65520.0f, 0x7c00},                                // halfway: ties to even, i.e. inf
      {tiny, 0x0001},                                    // smallest subnormal
      {1023 * tiny, 0x03ff},                             // largest subnormal
      {std::ldexp(1.0f, -14), 0x0400},                   // smallest normal
      {0.5f * tiny, 0x0000},                             // tie between 0 and tiny: even is 0
      {1.5f * tiny, 0x0002},                             // tie between 1 and 2 units: even is 2
      {0.75f * tiny, 0x0001},                            // above half a unit
      {1.0f + std::ldexp(1.0f, -11), 0x3c00},            // tie: rounds to even 1.0
      {1.0f + 3 * std::ldexp(1.0f, -11), 0x3c02},        // tie: rounds to even mantissa 2
      {std::numeric_limits<float>::infinity(), 0x7c00},  // inf
      {-std::numeric_limits<float>::infinity(), 0xfc00},
      {std::numeric_limits<float>::denorm_min(), 0x0000},
  };
  for (const auto& c : cases) {
    INFO("value ", c.value);
    CHECK(io::float_to_f16(c.value) == c.bits);
  }
  CHECK(io::f16_to_float(0x3c00) == 1.0f);
  CHECK(io::f16_to_float(0xc000) == -2.0f);
  CHECK(io::f16_to_float(0x7bff) == 65504.0f);
  CHECK(io::f16_to_float(0x0001) == tiny);
  CHECK(io::f16_to_float(0x03ff) == 1023 * tiny);
  CHECK(io::f16_to_float(0x7c00) == std::numeric_limits<float>::infinity());
  CHECK(io::f16_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(io::f16_to_float(0x7e00)));
  CHECK(std::isnan(io::f16_to_float(io::float_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::signbit(io::f16_to_float(0x8000)));
  // Every finite half survives float and back.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    if (io::float_to_f16(io::f16_to_float(static_cast<std::uint16_t>(h))) != h)
      FAIL("half ", h, " does not round-trip");
  }
}

TEST_CASE("BF16 conversion of known values rounds to nearest even and keeps subnormals, inf and NaN") {
  CHECK(io::float_to_bf16(1.0f) == 0x3f80);
  CHECK(io::float_to_bf16(-2.0f) == 0xc000);
  CHECK(io::float_to_bf16(65504.0f) == 0x4780);                         // 65504 is not a bf16: nearest is 65536
  CHECK(io::float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie: even
  CHECK(io::float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie: even
  CHECK(io::float_to_bf16(std::ldexp(1.0f, -133)) == 0x0001);           // smallest bf16 subnormal
  CHECK(io::float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(io::float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to inf
  CHECK(std::isnan(io::bf16_to_float(io::float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(io::bf16_to_float(io::float_to_bf16(std::bit_cast<float>(0x7f800001u)))));  // low-payload NaN
  CHECK(io::bf16_to_float(0x3f80) == 1.0f);
  CHECK(io::bf16_to_float(0xc000) == -2.0f);
  CHECK(io::bf16_to_float(0x4780) == 65536.0f);
  CHECK(io::bf16_to_float(0x0001) == std::ldexp(1.0f, -133));
  CHECK(io::bf16_to_float(0xff80) == -std::numeric_limits<float>::infinity());
}

TEST_CASE("save_tensors and load_tensors round-trip every dtype") {
  TempDir dir;
  const float tiny = std::ldexp(1.0f, -24), inf = std::numeric_limits<float>::infinity();
  // Values exactly representable in F16 and BF16 (within each one's range).
  const auto half_exact = Tensor<float>::from({1, -2, 65504, tiny, inf, 0.5f, -0.0f, 3}, {2, 4});
  const auto bf16_exact =
      Tensor<float>::from({1, -2, 65536, std::ldexp(1.0f, -133), -inf, 0.5f, std::ldexp(3.0f, 100), 3}, {2, 4});

  SUBCASE("F32") {
    const auto x = Tensor<float>::from({1.5f, -2.25f, 1e-40f, 3.4e38f, inf, 0}, {3, 2});
    io::save_tensors(dir / "a.safetensors", std::map<std::string, Tensor<float>>{{"x", x}});
    const auto back = io::load_tensors<float>(dir / "a.safetensors").at("x");
    CHECK(back.shape() == x.shape());
    CHECK(back.to_vector() == x.to_vector());
  }
  SUBCASE("F64") {
    const auto x = Tensor<double>::from({0.1, -1e300, 4.9e-324, 2.0 / 3.0}, {4});
    io::save_tensors(dir / "a.safetensors", std::map<std::string, Tensor<double>>{{"x", x}}, {}, io::DType::F64);
    CHECK(io::read_safetensors(dir / "a.safetensors").tensors.at("x").dtype == io::DType::F64);
    CHECK(io::load_tensors<double>(dir / "a.safetensors").at("x").to_vector() == x.to_vector());
  }
  SUBCASE("F16") {
    io::save_tensors(dir / "a.safetensors", std::map<std::string, Tensor<float>>{{"h", half_exact}}, {},
                     io::DType::F16);
    const auto file = io::read_safetensors(dir / "a.safetensors");
    CHECK(file.tensors.at("h").bytes.size() == 16);
    CHECK(io::load_tensors<float>(dir / "a.safetensors").at("h").to_vector() == half_exact.to_vector());
    CHECK(io::load_tensors<double>(dir / "a.safetensors").at("h").at({0, 2}) == 65504.0);
    // Not representable: rounds to the nearest half.
    const auto rounded = Tensor<float>::from({0.1f, 70000.0f}, {2});
    io::save_tensors(dir / "b.safetensors", std::map<std::string, Tensor<float>>{{"r", rounded}}, {}, io::DType::F16);
    const auto r = io::load_tensors<float>(dir / "b.safetensors").at("r");
    CHECK(r.at({0}) == io::f16_to_float(0x2e66));  // 0.0999755859375
    CHECK(r.at({1}) == inf);
  }
  SUBCASE("BF16") {
    io::save_tensors(dir / "a.safetensors", std::map<std::string, Tensor<float>>{{"b", bf16_exact}}, {},
                     io::DType::BF16);
    CHECK(io::load_tensors<float>(dir / "a.safetensors").at("b").to_vector() == bf16_exact.to_vector());
  }
  SUBCASE("I64") {
    const auto i = Tensor<std::int64_t>::from({-1, 0, std::int64_t{1} << 62, 7}, {2, 2});
    io::save_tensors(dir / "a.safetensors", std::map<std::string, Tensor<std::int64_t>>{{"i", i}});
    CHECK(io::read_safetensors(dir / "a.safetensors").tensors.at("i").dtype == io::DType::I64);
    CHECK(io::load_tensors<std::int64_t>(dir / "a.safetensors").at("i").to_vector() == i.to_vector());
    CHECK(io::load_tensors<double>(dir / "a.safetensors").at("i").to_vector() ==
          std::vector<double>{-1, 0, std::ldexp(1.0, 62), 7});
  }
  SUBCASE("several tensors, metadata, a scalar and an empty tensor") {
    std::map<std::string, Tensor<float>> tensors{{"w", Tensor<float>::from({1, 2, 3, 4, 5, 6}, {2, 3})},
                                                 {"s", Tensor<float>::scalar(4)},
                                                 {"e", Tensor<float>({0, 3})}};
    io::save_tensors(dir / "a.safetensors", tensors, {{"format", "pt"}, {"step", "12"}});
    const auto file = io::read_safetensors(dir / "a.safetensors");
    CHECK(file.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}});
    const auto back = io::load_tensors<float>(dir / "a.safetensors");
    REQUIRE(back.size() == 3);
    CHECK(back.at("w").to_vector() == tensors.at("w").to_vector());
    CHECK(back.at("s").shape() == Shape{});
    CHECK(back.at("s").item() == 4);
    CHECK(back.at("e").shape() == Shape{0, 3});
  }
}

TEST_CASE("a hand-written file reads, and write_safetensors produces exactly the expected bytes") {
  TempDir dir;
  // {"a": F32 [2] = {1, -2}, "b": F16 [1, 1] = {1}, "c": I64 [] = 5}, offsets relative to the data start.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]},"c":{"dtype":"I64","shape":[],"data_offsets":[10,18]}})";
  const std::string data = std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) + std::string("\x00\x3c", 2) +
                           std::string("\x05\x00\x00\x00\x00\x00\x00\x00", 8);
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const std::string expected = make_file(padded, data);
  write_bytes(dir / "hand.safetensors", expected);

  const auto file = io::read_safetensors(dir / "hand.safetensors");
  CHECK(file.metadata.at("format") == "pt");
  // The metadata alone, from the header, validated against the file's size as the whole file is.
  CHECK(io::read_safetensors_metadata(dir / "hand.safetensors") == file.metadata);
  write_bytes(dir / "cut.safetensors", expected.substr(0, expected.size() - 1));
  CHECK_THROWS_WITH_AS(io::read_safetensors_metadata(dir / "cut.safetensors"),
                       doctest::Contains("out of range of the 17-byte data buffer"), Error);
  CHECK(file.tensors.at("a").to<float>().to_vector() == std::vector<float>{1, -2});
  CHECK(file.tensors.at("b").dtype == io::DType::F16);
  CHECK(file.tensors.at("b").to<float>().shape() == Shape{1, 1});
  CHECK(file.tensors.at("b").to<float>().item() == 1.0f);
  CHECK(file.tensors.at("c").to<std::int64_t>().item() == 5);

  io::write_safetensors(dir / "written.safetensors", file);
  const std::string written = read_bytes(dir / "written.safetensors");
  CHECK(written.size() % 8 == expected.size() % 8);
  CHECK(written == expected);
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, written.data(), 8);
  CHECK(header_length % 8 == 0);
}

TEST_CASE("tensors in any header order load when their offsets tile the data buffer") {
  TempDir dir;
  const std::string header = R"({"late":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                             R"("empty":{"dtype":"F64","shape":[0,3],"data_offsets":[4,4]},)"
                             R"("first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const std::string bytes = make_file(header, std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));
  write_bytes(dir / "o.safetensors", bytes);
  const auto t = io::load_tensors<float>(dir / "o.safetensors");
  CHECK(t.at("first").to_vector() == std::vector<float>{1});
  CHECK(t.at("late").to_vector() == std::vector<float>{2});
  CHECK(t.at("empty").shape() == Shape{0, 3});
  // The same bytes from memory.
  const auto from_memory = io::parse_safetensors(std::as_bytes(std::span(bytes.data(), bytes.size())));
  CHECK(from_memory.tensors.at("late").to<float>().to_vector() == std::vector<float>{2});
  CHECK(contains(error_of([&] { io::parse_safetensors(std::as_bytes(std::span(bytes.data(), 20)), "cut"); }),
                 "read_safetensors: 'cut': header length"));
  // No tensors at all: an empty data buffer.
  write_bytes(dir / "none.safetensors", make_file("{}", ""));
  CHECK(io::read_safetensors(dir / "none.safetensors").tensors.empty());
}

TEST_CASE("bad safetensors files give errors that name the path and the problem") {
  TempDir dir;
  const std::string ok_entry = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";

  SUBCASE("missing file") {
    const auto path = dir / "nothing.safetensors";
    CHECK_THROWS_WITH_AS(io::read_safetensors(path), doctest::Contains("nothing.safetensors"), pixsyn::Error);
    CHECK_THROWS_WITH_AS(io::read_safetensors(path), doctest::Contains("No such file"), pixsyn::Error);
  }
  SUBCASE("shorter than 8 bytes") {
    const auto message = read_error(dir, "abc");
    CHECK(contains(message, "bad.safetensors"));
    CHECK(contains(message, "shorter than the 8-byte header length"));
  }
  SUBCASE("header length larger than the file") {
    const auto message = read_error(dir, make_file("{" + ok_entry + "}", std::string(8, '\0'), 1000));
    CHECK(contains(message, "header length 1000 is larger than"));
  }
  SUBCASE("header length lying by a huge value") {
    CHECK(contains(read_error(dir, make_file("{}", "", ~std::uint64_t{0})), "is larger than"));
  }
  SUBCASE("invalid JSON") {
    CHECK(contains(read_error(dir, make_file(R"({"a": {"dtype": )")), "header is not valid JSON"));
    CHECK(contains(read_error(dir, make_file("[1, 2]")), "header is not a JSON object"));
    // Found by the fuzzer: nlohmann::json throws out_of_range, not parse_error, for this.
    CHECK(contains(read_error(dir, make_file(R"({"e":{"x":2e999}})")),
                   "header is not valid JSON: [json.exception.out_of_range.406] number overflow parsing '2e999'"));
  }
  SUBCASE("entry without dtype, shape or data_offsets") {
    CHECK(contains(read_error(dir, make_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})")),
                   "tensor 'a' has no \"dtype\""));
    CHECK(contains(read_error(dir, make_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})")),
                   "tensor 'a' has no \"shape\""));
    CHECK(contains(read_error(dir, make_file(R"({"a":{"dtype":"F32","shape":[2]}})")),
                   "tensor 'a' has no \"data_offsets\""));
    CHECK(contains(read_error(dir, make_file(R"({"a":3})")), "tensor 'a': entry is not a JSON object"));
  }
  SUBCASE("unknown dtype") {
    for (const std::string dtype : {"F8", "Q4"}) {
      const auto message =
          read_error(dir, make_file(R"({"w":{"dtype":")" + dtype + R"(","shape":[2],"data_offsets":[0,8]}})"));
      CHECK(contains(message, "tensor 'w' has unknown dtype '" + dtype + "'"));
    }
  }
  SUBCASE("negative or non-integer shape") {
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})")),
                   "shape entry -2: extents must be non-negative integers"));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})")),
                   "shape entry 2.5"));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})")),
                   "shape entry \"2\""));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,2],"data_offsets":[0,8]}})")),
                   "rank 6"));
  }
  SUBCASE("data_offsets out of range or reversed") {
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})")),
                   "data_offsets [4, 12] out of range of the 8-byte data buffer"));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})")),
                   "begin > end"));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})")),
                   "\"data_offsets\" must be two non-negative integers"));
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})")),
                   "\"data_offsets\" must be two non-negative integers"));
  }
  SUBCASE("truncated data") {
    const auto message =
        read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(5, '\0')));
    CHECK(contains(message, "out of range of the 5-byte data buffer"));
  }
  SUBCASE("byte size differs from numel times dtype size") {
    const auto message = read_error(
        dir, make_file(R"({"w":{"dtype":"F16","shape":[3,2],"data_offsets":[0,8]}})", std::string(16, '\0')));
    CHECK(contains(message, "tensor 'w' of shape (3, 2) and dtype F16 needs 12 bytes but data_offsets [0, 8] hold 8"));
    const auto huge =
        read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})"));
    CHECK(contains(huge, "needs more than 2^64 bytes"));
  }
  SUBCASE("metadata that is not a map of strings") {
    CHECK(contains(read_error(dir, make_file(R"({"__metadata__":{"n":3}})")), "metadata \"n\" is not a string"));
    CHECK(contains(read_error(dir, make_file(R"({"__metadata__":{"n":{"deep":"x"}}})", "")),
                   "metadata \"n\" is not a string but an object"));
    CHECK(contains(read_error(dir, make_file(R"({"__metadata__":["a","b"]})", "")),
                   "\"__metadata__\" is not a JSON object"));
  }
  SUBCASE("a header length beyond the format's 100 MB limit") {
    // A sparse file: the length is plausible for the file, but the format caps it.
    const auto path = dir / "bad.safetensors";
    write_bytes(path, make_file("{}", "", 100'000'001));
    std::filesystem::resize_file(path, 8 + 100'000'001);
    CHECK(contains(error_of([&] { io::read_safetensors(path); }),
                   "header length 100000001 exceeds the format's limit of 100000000 bytes"));
  }
  SUBCASE("a key twice in one object") {
    CHECK(contains(read_error(dir, make_file("{\"w\":{" + ok_entry + "},\"w\":{" + ok_entry + "}}")),
                   "header has the key \"w\" twice in one object"));
    CHECK(
        contains(read_error(dir, make_file(R"({"w":{"dtype":"F64","dtype":"F32","shape":[2],"data_offsets":[0,8]}})")),
                 "header has the key \"dtype\" twice in one object (inside an entry)"));
    CHECK(contains(read_error(dir, make_file(R"({"__metadata__":{"a":"1","a":"2"}})", "")), "the key \"a\" twice"));
  }
  SUBCASE("names with control characters are escaped in messages") {
    CHECK(contains(read_error(dir, make_file(R"({"\u001b[2Jw":{"dtype":"F32","shape":[2]}})")),
                   "tensor '\\x1b[2Jw' has no \"data_offsets\""));
  }
  SUBCASE("nesting deeper than a header has") {
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})")),
                   "header nests JSON values deeper than a safetensors header does"));
  }
  SUBCASE("a header that is not UTF-8") {
    CHECK(contains(read_error(dir, make_file("{\"w\xff\":{" + ok_entry + "}}")), "header is not valid JSON"));
  }
  SUBCASE("offsets that do not start at 0") {
    CHECK(contains(read_error(dir, make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})")),
                   "tensor 'w' at bytes [4, 8) is the first in the data buffer but does not begin at byte 0"));
  }
  SUBCASE("a gap between tensors") {
    CHECK(contains(read_error(dir, make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                             std::string(12, '\0'))),
                   "tensor 'b' at bytes [8, 12) leaves a gap after tensor 'a' at bytes [0, 4)"));
  }
  SUBCASE("overlapping tensors") {
    CHECK(contains(read_error(dir, make_file(R"({"late":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                                             R"("both":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})")),
                   "tensor 'late' at bytes [4, 8) overlaps tensor 'both' at bytes [0, 8)"));
    CHECK(contains(read_error(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})")),
                   "overlaps"));
  }
  SUBCASE("trailing bytes after the last tensor") {
    CHECK(contains(read_error(dir, make_file("{\"w\":{" + ok_entry + "}}", std::string(12, '\0'))),
                   "the tensors cover 8 bytes of the 12-byte data buffer: 4 trailing bytes that no tensor describes"));
    CHECK(contains(read_error(dir, make_file("{}")), "8 trailing bytes"));
  }
  SUBCASE("tensors that need more memory than the machine has") {
    // A sparse file whose one tensor, by header, is larger than the memory.
    const std::uint64_t count = pixsyn::detail::physical_memory() / 4 + 1;
    const std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(count) + R"(],"data_offsets":[0,)" +
                               std::to_string(4 * count) + "]}}";
    const auto path = dir / "bad.safetensors";
    write_bytes(path, make_file(header, ""));
    std::error_code sparse_failed;
    std::filesystem::resize_file(path, 8 + header.size() + 4 * count, sparse_failed);
    if (sparse_failed) {
      MESSAGE("no sparse file of " << 4 * count << " bytes here: " << sparse_failed.message());
    } else {
      CHECK(contains(error_of([&] { io::read_safetensors(path); }), "of memory this machine has"));
    }
  }
}

TEST_CASE("conversions and writes reject what they cannot represent") {
  TempDir dir;
  const auto f = io::RawTensor::from(Tensor<float>::ones({2}));
  CHECK_THROWS_WITH_AS(f.to<std::int64_t>(), doctest::Contains("cannot convert F32"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(io::RawTensor::from(Tensor<float>::ones({2}), io::DType::I64),
                       doctest::Contains("cannot store a floating-point tensor as I64"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(io::RawTensor::from(Tensor<std::int64_t>::ones({2}), io::DType::F16),
                       doctest::Contains("cannot store an integer tensor as F16"), pixsyn::Error);
  io::SafetensorsFile file;
  file.tensors["w"] = io::RawTensor{io::DType::F32, Shape{3}, std::vector<std::byte>(8)};
  CHECK_THROWS_WITH_AS(io::write_safetensors(dir / "x.safetensors", file),
                       doctest::Contains("tensor 'w' of shape (3,) and dtype F32 needs 12 bytes but has 8"),
                       pixsyn::Error);
  CHECK_FALSE(std::filesystem::exists(dir / "x.safetensors"));
  file.tensors.clear();
  file.tensors["__metadata__"] = f;
  CHECK_THROWS_WITH_AS(io::write_safetensors(dir / "x.safetensors", file), doctest::Contains("reserved"),
                       pixsyn::Error);
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("a CIPS fixture written by Python loads with its shapes") {
  const auto path = std::filesystem::path(PIXSYN_SOURCE_DIR) / "tests/fixtures/cips/skips_native16.safetensors";
  REQUIRE(std::filesystem::exists(path));
  const auto tensors = io::load_tensors<float>(path);
  CHECK(tensors.at("lff.ffm.conv.weight").shape() == Shape{32, 2, 1, 1});
  CHECK(tensors.at("emb.input").shape() == Shape{1, 32, 16, 16});
  CHECK(tensors.at("conv1.conv.modulation.weight").shape() == Shape{64, 32});
  CHECK(std::isfinite(tensors.at("emb.input").at({0, 3, 5, 7})));
  for (const auto& entry : std::filesystem::directory_iterator(path.parent_path())) {
    INFO(entry.path().string());
    CHECK_FALSE(io::read_safetensors(entry.path()).tensors.empty());
  }
}
