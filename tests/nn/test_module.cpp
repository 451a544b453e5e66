#include <doctest/doctest.h>

#include <filesystem>
#include <limits>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/nn/module.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <string>

using namespace pixsyn;

namespace {

// A linear-like layer with a weight, a bias and a buffer.
struct Layer : nn::Module<float> {
  Var<float> weight, bias;
  Tensor<float> running;
  Layer(std::int64_t in, std::int64_t out, float fill)
      : weight(Var<float>::parameter(Tensor<float>::full({out, in}, fill))),
        bias(Var<float>::parameter(Tensor<float>::full({out}, fill + 1))),
        running(Tensor<float>::full({out}, -fill)) {
    register_parameter("weight", weight);
    register_parameter("bias", bias);
    register_buffer("running", running);
  }
};

struct Block : nn::Module<float> {
  Var<float> scale;
  Layer conv;
  Block(float fill) : scale(Var<float>::parameter(Tensor<float>::full({1}, fill))), conv(2, 3, fill) {
    register_parameter("scale", scale);
    register_module("conv", conv);
  }
};

struct Net : nn::Module<float> {
  Var<float> gain;
  nn::ModuleList<Block> linears;
  Layer head;
  Tensor<float> freqs;
  Net() : gain(Var<float>::parameter(Tensor<float>::ones({4}))), head(3, 1, 7), freqs(Tensor<float>::ones({2, 5})) {
    register_parameter("gain", gain);
    for (int i = 0; i < 4; ++i) linears.emplace_back(static_cast<float>(i));
    register_module("linears", linears);
    register_buffer("freqs", freqs);
    register_module("head", head);
  }
};

std::vector<std::string> names_of(const auto& named) {
  std::vector<std::string> out;
  for (const auto& [name, p] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("named_parameters and named_buffers use dotted names in registration order") {
  Net net;
  const std::vector<std::string> expected_params = {"gain",
                                                    "linears.0.scale",
                                                    "linears.0.conv.weight",
                                                    "linears.0.conv.bias",
                                                    "linears.1.scale",
                                                    "linears.1.conv.weight",
                                                    "linears.1.conv.bias",
                                                    "linears.2.scale",
                                                    "linears.2.conv.weight",
                                                    "linears.2.conv.bias",
                                                    "linears.3.scale",
                                                    "linears.3.conv.weight",
                                                    "linears.3.conv.bias",
                                                    "head.weight",
                                                    "head.bias"};
  CHECK(names_of(net.named_parameters()) == expected_params);
  CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"freqs", "linears.0.conv.running",
                                                                  "linears.1.conv.running", "linears.2.conv.running",
                                                                  "linears.3.conv.running", "head.running"});
  CHECK(net.named_parameters()[5].second == &net.linears[1].conv.weight);
  CHECK(net.parameters().size() == expected_params.size());
  // 4 + 4 * (1 + 6 + 3) + 3 + 1
  CHECK(net.parameter_count() == 48);
  std::int64_t visited = 0;
  net.visit_parameters([&](const std::string& name, Var<float>& p) {
    CHECK(!name.empty());
    visited += p.numel();
  });
  CHECK(visited == 48);
  CHECK(net.linears.size() == 4);
}

TEST_CASE("state_dict_keys lists parameters, then buffers, then children, as torch's state_dict does") {
  Net net;
  const std::vector<std::string> head = {"gain",
                                         "freqs",
                                         "linears.0.scale",
                                         "linears.0.conv.weight",
                                         "linears.0.conv.bias",
                                         "linears.0.conv.running",
                                         "linears.1.scale"};
  const auto keys = net.state_dict_keys();
  REQUIRE(keys.size() == 15 + 6);
  CHECK(std::vector<std::string>(keys.begin(), keys.begin() + 7) == head);
  CHECK(std::vector<std::string>(keys.end() - 3, keys.end()) ==
        std::vector<std::string>{"head.weight", "head.bias", "head.running"});
}

TEST_CASE("zero_grad clears the gradients of every parameter") {
  Net net;
  for (auto* p : net.parameters()) p->set_grad(Var<float>(Tensor<float>::ones(p->shape())));
  net.zero_grad();
  for (auto* p : net.parameters()) CHECK(!p->grad().defined());
}

TEST_CASE("registration rejects bad and duplicate names and non-parameters") {
  struct Bad : nn::Module<float> {
    Var<float> a = Var<float>::parameter(Tensor<float>::ones({1}));
    Var<float> constant = Var<float>::constant(Tensor<float>::ones({1}));
    Tensor<float> buf = Tensor<float>::ones({1});
    void add(const std::string& name) { register_parameter(name, a); }
    void add_constant() { register_parameter("c", constant); }
    void add_buffer(const std::string& name) { register_buffer(name, buf); }
  } bad;
  bad.add("a");
  CHECK_THROWS_WITH_AS(bad.add("a"), doctest::Contains("already registered"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(bad.add_buffer("a"), doctest::Contains("already registered"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(bad.add("x.y"), doctest::Contains("invalid member name"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(bad.add(""), doctest::Contains("invalid member name"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(bad.add_constant(), doctest::Contains("Var::parameter"), pixsyn::Error);
}

TEST_CASE("state_dict is a snapshot and load_state_dict restores it") {
  Net a, b;
  b.head.weight.set_value(Tensor<float>::full({1, 3}, -3));
  b.freqs.fill(9);
  auto state = b.state_dict();
  const auto snapshot = b.state_dict();
  CHECK(state.size() == 15 + 6);
  CHECK(state.at("linears.2.conv.weight").shape() == Shape{3, 2});
  CHECK(state.at("linears.2.conv.weight").at({1, 1}) == 2);
  Tensor<float>(b.head.weight.value()).fill(5);  // the snapshot does not follow in-place changes
  CHECK(state.at("head.weight").at({0, 2}) == -3);

  a.load_state_dict(state);
  CHECK(a.head.weight.value().to_vector() == std::vector<float>{-3, -3, -3});
  CHECK(a.freqs.at({1, 4}) == 9);
  CHECK(a.linears[3].conv.running.to_vector() == std::vector<float>{-3, -3, -3});
  CHECK(a.linears[3].conv.weight.requires_grad());
  // Loading copies: changing the source afterwards leaves the module alone.
  state.at("freqs").fill(0);
  CHECK(a.freqs.at({0, 0}) == 9);
  auto again = a.state_dict();
  for (const auto& [name, t] : again) CHECK(t.to_vector() == snapshot.at(name).to_vector());
}

TEST_CASE("load_state_dict reports every missing, unexpected and wrongly shaped key at once") {
  Net net;
  auto state = net.state_dict();
  state.erase("linears.1.scale");
  state.erase("freqs");
  state.emplace("linears.9.scale", Tensor<float>::ones({1}));
  state.emplace("extra", Tensor<float>::ones({2}));
  state["head.weight"] = Tensor<float>::ones({3, 1});
  state["linears.0.conv.bias"] = Tensor<float>::ones({4});
  const auto before = net.state_dict();
  try {
    net.load_state_dict(state);
    FAIL("load_state_dict accepted a bad state dict");
  } catch (const pixsyn::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("2 missing, 2 unexpected and 2 wrongly shaped keys") != std::string::npos);
    for (const char* key : {"linears.1.scale", "freqs", "linears.9.scale", "extra"})
      CHECK(msg.find(key) != std::string::npos);
    CHECK(msg.find("head.weight: expected shape (1, 3), got (3, 1)") != std::string::npos);
    CHECK(msg.find("linears.0.conv.bias: expected shape (3,), got (4,)") != std::string::npos);
  }
  // Nothing was assigned.
  for (const auto& [name, t] : net.state_dict()) CHECK(t.to_vector() == before.at(name).to_vector());

  SUBCASE("non-strict loading skips missing and unexpected keys but not wrong shapes") {
    state["head.weight"] = Tensor<float>::full({1, 3}, 4);
    state["linears.0.conv.bias"] = Tensor<float>::full({3}, 4);
    net.load_state_dict(state, {.strict = false});
    CHECK(net.head.weight.value().to_vector() == std::vector<float>{4, 4, 4});
    CHECK(net.freqs.at({0, 0}) == 1);
    state["head.weight"] = Tensor<float>::ones({3});
    CHECK_THROWS_WITH_AS(net.load_state_dict(state, {.strict = false}), doctest::Contains("head.weight"),
                         pixsyn::Error);
  }
}

TEST_CASE("save_safetensors and load_safetensors round-trip a module") {
  const auto path = std::filesystem::temp_directory_path() / "pixsyn_test_module_roundtrip.safetensors";
  Net a, b;
  Philox gen{3};
  for (auto* p : a.parameters()) p->set_value(Tensor<float>::randn(p->shape(), gen));
  a.freqs = Tensor<float>::randn({2, 5}, gen);
  nn::save_safetensors(a, path, {{"format", "pt"}});
  CHECK(io::read_safetensors(path).metadata.at("format") == "pt");
  CHECK(io::read_safetensors(path).tensors.at("linears.3.conv.weight").shape == Shape{3, 2});
  nn::load_safetensors(b, path);
  for (const auto& [name, t] : a.state_dict()) CHECK(b.state_dict().at(name).to_vector() == t.to_vector());

  // Key problems name the file and every offending key.
  struct Other : nn::Module<float> {
    Var<float> gain = Var<float>::parameter(Tensor<float>::ones({5}));
    Other() { register_parameter("gain", gain); }
  } other;
  CHECK_THROWS_WITH_AS(nn::load_safetensors(other, path),
                       doctest::Contains("pixsyn_test_module_roundtrip.safetensors': load_state_dict: 0 missing, 20 "
                                         "unexpected and 1 wrongly shaped keys"),
                       pixsyn::Error);
  CHECK_THROWS_WITH_AS(nn::load_safetensors(other, path, {.strict = false}),
                       doctest::Contains("gain: expected shape (5,), got (4,)"), pixsyn::Error);
  std::filesystem::remove(path);
}

TEST_CASE("load_safetensors refuses non-finite weights and integer dtypes, naming the key and the index") {
  const auto path = std::filesystem::temp_directory_path() / "pixsyn_test_module_bad_weights.safetensors";
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const auto weight = Tensor<float>::from({1, 2, 3, 4}, {2, 2}), bias = Tensor<float>::from({5, 6}, {2}),
             running = Tensor<float>::from({7, 8}, {2});
  // Writes the three tensors of a Layer(2, 2), one of them replaced.
  const auto save = [&](const std::string& name, io::RawTensor replacement) {
    io::SafetensorsFile file;
    file.tensors["weight"] = io::RawTensor::from(weight);
    file.tensors["bias"] = io::RawTensor::from(bias);
    file.tensors["running"] = io::RawTensor::from(running);
    file.tensors[name] = std::move(replacement);
    io::write_safetensors(path, file);
  };
  const auto message = [&] {
    Layer layer(2, 2, 0.5f);
    try {
      nn::load_safetensors(layer, path);
    } catch (const Error& e) {
      // A refused file changes nothing.
      CHECK(layer.weight.value().to_vector() == std::vector<float>(4, 0.5f));
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const auto has = [](const std::string& text, const std::string& part) {
    INFO(text);
    CHECK(text.find(part) != std::string::npos);
  };

  save("weight", io::RawTensor::from(Tensor<float>::from({1, 2, 3, nan}, {2, 2})));
  has(message(),
      "pixsyn_test_module_bad_weights.safetensors': tensor 'weight' of shape (2, 2) holds the non-finite "
      "value nan at flat index 3; weights must be finite");
  save("running", io::RawTensor::from(Tensor<float>::from({-inf, 1}, {2})));
  has(message(), "tensor 'running' of shape (2,) holds the non-finite value -inf at flat index 0");
  save("bias", io::RawTensor::from(Tensor<float>::from({1, inf}, {2}), io::DType::F16));
  has(message(), "tensor 'bias' of shape (2,) holds the non-finite value inf at flat index 1");
  // Finite as stored, infinite as float.
  save("bias", io::RawTensor::from(Tensor<double>::from({1, 1e300}, {2}), io::DType::F64));
  has(message(), "holds the non-finite value inf (stored as F64 1e+300, beyond float's range) at flat index 1");
  save("weight", io::RawTensor::from(Tensor<std::int64_t>::from({1, 2, 3, 4}, {2, 2})));
  has(message(), "tensor 'weight' is stored as I64, an integer dtype, but it is a floating-point parameter");

  // Keys the module does not have are not its weights: ignored when not strict, reported as unexpected when strict.
  save("extra", io::RawTensor::from(Tensor<std::int64_t>::from({3}, {1})));
  has(message(), "1 unexpected");
  Layer layer(2, 2, 0.5f);
  nn::load_safetensors(layer, path, {.strict = false});
  CHECK(layer.weight.value().to_vector() == weight.to_vector());
  std::filesystem::remove(path);
}
