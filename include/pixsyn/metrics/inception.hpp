#pragma once
// The InceptionV3 feature network for FID-IncV3-mixed5 (docs/evaluation.md), on Tensor<T, D> (CPU and
// CUDA), inference only.
//
// The weights are the Keras InceptionV3 of the npm package nsfwjs@4.3.0, decoded by
// tools/data/inception.sh into DIR/inception_v3.safetensors (Keras names and layouts) and
// DIR/inception_v3.json (the Keras topology). Its layers up to mixed5 are the frozen ImageNet weights;
// the later ones were fine-tuned for nsfwjs's own classes, so the final pool is offered but labelled as
// not ImageNet-frozen. Features of this network compare only with each other, never with published FIDs.
//
// The network is built from the topology file: Conv2D (no bias) -> BatchNormalization (inference,
// folded into the convolution: w · γ/√(var + ε), β - mean · γ/√(var + ε)) -> ReLU chains, max and
// average pools (metrics/pooling.hpp) and concatenations. Conv "same" paddings are (k - 1) / 2 per axis
// (all of them have stride 1). Images (B, C, H, W) in [0, 1], C = 1 (expanded to RGB) or 3, are resized
// to 299x299 (bilinear with half-pixel centres, resize_bilinear_half_pixel) and scaled to [-1, 1].
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/metrics/inception_dir.hpp"
#include "pixsyn/metrics/pooling.hpp"
#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/conv.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/permute.hpp"
#include "pixsyn/ops/reduce.hpp"

namespace pixsyn::metrics {

// The layer whose spatial average is the feature vector.
enum class InceptionLayer {
  mixed5,      // 768 features, ImageNet weights: FID-IncV3-mixed5
  final_pool,  // 2048 features (average_pooling2d_10), fine-tuned by nsfwjs: not ImageNet-frozen
};

inline const char* layer_name(InceptionLayer layer) {
  return layer == InceptionLayer::mixed5 ? "mixed5" : "average_pooling2d_10";
}

namespace detail {

// A Keras layer of the topology: name, class, config and the names of its inputs.
struct KerasLayer {
  std::string name, class_name;
  nlohmann::json config;
  std::vector<std::string> inputs;
};

inline std::vector<KerasLayer> read_keras_layers(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  pixsyn::detail::check(static_cast<bool>(in), "InceptionV3: cannot open ", path);
  nlohmann::json topology;
  try {
    topology = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(pixsyn::detail::concat("InceptionV3: ", path, " is not valid JSON: ", e.what()));
  }
  std::vector<KerasLayer> out;
  try {
    for (const auto& l : topology.at("model_config").at("config").at("layers")) {
      KerasLayer k{l.at("name").get<std::string>(), l.at("class_name").get<std::string>(), l.at("config"), {}};
      for (const auto& node : l.at("inbound_nodes"))
        for (const auto& ref : node) k.inputs.push_back(ref.at(0).get<std::string>());
      out.push_back(std::move(k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(pixsyn::detail::concat("InceptionV3: ", path, " is not a Keras model topology: ", e.what()));
  }
  return out;
}

inline void expect(bool ok, const KerasLayer& l, const char* what) {
  pixsyn::detail::check(ok, "InceptionV3: layer '", pixsyn::detail::printable(l.name), "' (",
                        pixsyn::detail::printable(l.class_name), ") is not supported: ", what, "; config ",
                        pixsyn::detail::printable(l.config.dump(), 300));
}

// A Keras [n, n] pair (pool_size, strides) as one extent.
inline std::int64_t square_extent(const KerasLayer& l, const char* key) {
  const auto& v = l.config.at(key);
  expect(v.is_array() && v.size() == 2 && v[0] == v[1] && v[0].is_number_integer(), l, "a non-square window");
  return v[0].get<std::int64_t>();
}

inline Tensor<double> keras_weight(const io::SafetensorsFile& file, const std::string& name, const Shape& shape,
                                   const std::filesystem::path& path) {
  const auto it = file.tensors.find(name);
  pixsyn::detail::check(it != file.tensors.end(), "InceptionV3: ", path, " has no tensor '", name, "'");
  pixsyn::detail::check(it->second.shape == shape, "InceptionV3: ", path, ": '", name, "' has shape ", it->second.shape,
                        ", the topology needs ", shape);
  return it->second.to<double>();
}

// Conv2D -> BatchNormalization -> Activation(relu), each the only reader of the one before, as one
// convolution with the batch norm folded in (in double): named after the ReLU.
struct ConvChain {
  std::string bn, relu;
  Tensor<double> weight, bias;  // (O, I, kh, kw), (O)
  std::int64_t stride = 1, pad_h = 0, pad_w = 0;
};

inline ConvChain fold_conv_chain(const KerasLayer& conv, const std::vector<KerasLayer>& layers,
                                 std::int64_t in_channels, const io::SafetensorsFile& file,
                                 const std::filesystem::path& path) {
  const auto only_reader = [&](const std::string& name) -> const KerasLayer* {
    const KerasLayer* reader = nullptr;
    for (const auto& l : layers)
      for (const auto& in : l.inputs)
        if (in == name) {
          if (reader) return nullptr;
          reader = &l;
        }
    return reader;
  };
  const auto& c = conv.config;
  expect(conv.inputs.size() == 1 && c.at("use_bias") == false && c.at("activation") == "linear" &&
             c.at("data_format") == "channels_last" && c.at("dilation_rate") == nlohmann::json::parse("[1, 1]"),
         conv, "expected one channels-last input, no bias, no activation, no dilation");
  const KerasLayer* bn = only_reader(conv.name);
  expect(bn && bn->class_name == "BatchNormalization", conv, "its output must feed one batch normalization only");
  const KerasLayer* relu = only_reader(bn->name);
  expect(relu && relu->class_name == "Activation" && relu->config.at("activation") == "relu", *bn,
         "its output must feed one ReLU only");
  const auto& b = bn->config;
  expect((b.at("axis") == 3 || b.at("axis") == -1) && b.at("center") == true, *bn,
         "expected a channels-last batch normalization with a shift");
  const double eps = b.at("epsilon").get<double>();

  const auto& kernel = c.at("kernel_size");
  expect(kernel.is_array() && kernel.size() == 2, conv, "expected a 2-D kernel");
  ConvChain chain{bn->name, relu->name, {}, {}, square_extent(conv, "strides"), 0, 0};
  const std::int64_t kh = kernel[0].get<std::int64_t>(), kw = kernel[1].get<std::int64_t>();
  const std::int64_t filters = c.at("filters").get<std::int64_t>();
  if (c.at("padding") == "same") {
    expect(chain.stride == 1 && kh % 2 == 1 && kw % 2 == 1, conv, "same padding needs stride 1 and odd kernels");
    chain.pad_h = (kh - 1) / 2;
    chain.pad_w = (kw - 1) / 2;
  }
  // Keras kernels are (kh, kw, I, O).
  chain.weight = permute(keras_weight(file, conv.name + "/kernel", {kh, kw, in_channels, filters}, path), {3, 2, 0, 1});
  const Shape per_channel{filters};
  const auto beta = keras_weight(file, bn->name + "/beta", per_channel, path);
  const auto mean = keras_weight(file, bn->name + "/moving_mean", per_channel, path);
  const auto var = keras_weight(file, bn->name + "/moving_variance", per_channel, path);
  const auto gamma = b.at("scale") == true ? keras_weight(file, bn->name + "/gamma", per_channel, path)
                                           : Tensor<double>::ones(per_channel);
  chain.bias = Tensor<double>::empty(per_channel);
  const std::int64_t depth = in_channels * kh * kw;
  for (std::int64_t o = 0; o < filters; ++o) {
    const double scale = gamma.data()[o] / std::sqrt(var.data()[o] + eps);
    for (std::int64_t k = 0; k < depth; ++k) chain.weight.data()[o * depth + k] *= scale;
    chain.bias.data()[o] = beta.data()[o] - mean.data()[o] * scale;
  }
  return chain;
}

template <class T, class D>
Tensor<T, D> converted(const Tensor<double>& x) {
  auto out = Tensor<T>::empty(x.shape());
  std::transform(x.data(), x.data() + x.numel(), out.data(), [](double v) { return static_cast<T>(v); });
  return pixsyn::detail::on_device<D>(out);
}

}  // namespace detail

template <class T = float, class D = Cpu>
class InceptionV3 {
 public:
  static constexpr std::int64_t input_size = 299;

  explicit InceptionV3(const std::filesystem::path& dir = default_inception_dir()) {
    const auto topology = dir / "inception_v3.json", weights = dir / "inception_v3.safetensors";
    pixsyn::detail::check(std::filesystem::exists(topology) && std::filesystem::exists(weights), "InceptionV3: ", dir,
                          " does not hold inception_v3.json and inception_v3.safetensors; run ",
                          "tools/data/inception.sh ", dir.string());
    build(detail::read_keras_layers(topology), io::read_safetensors(weights), weights);
  }

  // Images (B, 1 or 3, H, W) in [0, 1] -> the network's input (B, 3, 299, 299) in [-1, 1].
  static Tensor<T, D> prepare(const Tensor<T, D>& images) {
    pixsyn::detail::check(images.rank() == 4 && (images.dim(1) == 1 || images.dim(1) == 3),
                          "InceptionV3: images must be (B, 1 or 3, H, W), got ", images.shape());
    auto rgb = images.dim(1) == 3 ? images : concat(std::vector<Tensor<T, D>>{images, images, images}, 1);
    return resize_bilinear_half_pixel(rgb, input_size, input_size) * T(2) - T(1);
  }

  // The network's input (B, 3, 299, 299) -> the outputs of the named layers (Keras names: "activation_1",
  // "mixed0", ..., "mixed10", "average_pooling2d_10"), each (B, C, h, w), in the order asked.
  std::vector<Tensor<T, D>> activations(const Tensor<T, D>& input, const std::vector<std::string>& names) const {
    pixsyn::detail::check(
        input.rank() == 4 && input.dim(1) == 3 && input.dim(2) == input_size && input.dim(3) == input_size,
        "InceptionV3: input must be (B, 3, 299, 299), got ", input.shape());
    pixsyn::detail::check(!names.empty(), "InceptionV3: no outputs asked for");
    std::vector<int> wanted;
    for (const auto& name : names) wanted.push_back(find(name, "the outputs asked for"));
    const int last = *std::max_element(wanted.begin(), wanted.end());
    // Each output is dropped after its last reader, so memory stays at a few layers' worth.
    std::vector<int> last_use(layers_.size(), -1);
    for (int i = 0; i <= last; ++i)
      for (int j : layers_[i].inputs) last_use[j] = i;
    for (int j : wanted) last_use[j] = static_cast<int>(layers_.size());
    std::vector<Tensor<T, D>> values(layers_.size());
    values[0] = input;
    for (int i = 1; i <= last; ++i) {
      values[i] = run(layers_[i], values);
      for (int j : layers_[i].inputs)
        if (last_use[j] == i) values[j] = {};
    }
    std::vector<Tensor<T, D>> out;
    for (int j : wanted) out.push_back(values[j]);
    return out;
  }

  // Images (B, 1 or 3, H, W) in [0, 1] -> (B, F) features: the layer's outputs averaged over positions.
  Tensor<T, D> features(const Tensor<T, D>& images, InceptionLayer layer = InceptionLayer::mixed5) const {
    return mean(activations(prepare(images), {layer_name(layer)}).front(), {2, 3});
  }

 private:
  enum class Kind { input, conv_bn_relu, pool, concat };
  struct Layer {
    std::string name;  // the Keras name of the layer whose output this is (a chain's ReLU)
    Kind kind = Kind::input;
    std::vector<int> inputs;
    Tensor<T, D> weight, bias;  // conv_bn_relu: (O, I, kh, kw) with the batch norm folded in, (O)
    std::int64_t stride = 1, pad_h = 0, pad_w = 0;
    Pool2dOptions pool;
  };
  std::vector<Layer> layers_;
  std::map<std::string, int> index_;

  int find(const std::string& name, const std::string& who) const {
    const auto it = index_.find(name);
    pixsyn::detail::check(it != index_.end(), "InceptionV3: ", pixsyn::detail::printable(who), " name layer '",
                          pixsyn::detail::printable(name), "', which the network does not have before that point");
    return it->second;
  }

  void build(const std::vector<detail::KerasLayer>& keras, const io::SafetensorsFile& file,
             const std::filesystem::path& path) {
    using detail::expect;
    std::map<std::string, std::int64_t> channels;  // of each output, by name
    std::set<std::string> in_chains;               // batch norms and ReLUs folded into a convolution already
    try {
      for (const auto& l : keras) {
        if (in_chains.count(l.name)) continue;
        Layer layer;
        layer.name = l.name;
        for (const auto& in : l.inputs) layer.inputs.push_back(find(in, "the inputs of " + l.name));
        const auto in_channels = l.inputs.empty() ? 0 : channels.at(l.inputs.front());
        const auto& c = l.config;
        if (l.class_name == "InputLayer") {
          expect(layers_.empty() && c.at("batch_input_shape") == nlohmann::json::parse("[null, 299, 299, 3]"), l,
                 "expected the first layer, (299, 299, 3)");
          channels[l.name] = 3;
        } else if (l.class_name == "Conv2D") {
          const auto chain = detail::fold_conv_chain(l, keras, in_channels, file, path);
          in_chains.insert({chain.bn, chain.relu});
          layer.name = chain.relu;
          layer.kind = Kind::conv_bn_relu;
          layer.weight = detail::converted<T, D>(chain.weight);
          layer.bias = detail::converted<T, D>(chain.bias);
          layer.stride = chain.stride;
          layer.pad_h = chain.pad_h;
          layer.pad_w = chain.pad_w;
          channels[layer.name] = chain.weight.dim(0);
        } else if (l.class_name == "MaxPooling2D" || l.class_name == "AveragePooling2D") {
          expect(l.inputs.size() == 1 && c.at("data_format") == "channels_last", l, "one channels-last input");
          layer.kind = Kind::pool;
          layer.pool = {.kind = l.class_name == "MaxPooling2D" ? PoolKind::max : PoolKind::average,
                        .kernel = detail::square_extent(l, "pool_size"),
                        .stride = detail::square_extent(l, "strides"),
                        .same = c.at("padding") == "same"};
          channels[l.name] = in_channels;
        } else if (l.class_name == "Concatenate") {
          expect(c.at("axis") == 3 || c.at("axis") == -1, l, "concatenation along the channels only");
          layer.kind = Kind::concat;
          std::int64_t sum = 0;
          for (const auto& in : l.inputs) sum += channels.at(in);
          channels[l.name] = sum;
        } else {
          break;  // the classifier head (Flatten, Dense, Dropout) is not part of the feature network
        }
        index_[layer.name] = static_cast<int>(layers_.size());
        layers_.push_back(std::move(layer));
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(pixsyn::detail::concat("InceptionV3: a layer of ", path, "'s topology lacks a field: ", e.what()));
    }
    pixsyn::detail::check(index_.count("mixed5") && index_.count("average_pooling2d_10") && channels["mixed5"] == 768 &&
                              channels["average_pooling2d_10"] == 2048,
                          "InceptionV3: the topology is not InceptionV3 (mixed5 with 768 channels and "
                          "average_pooling2d_10 with 2048)");
  }

  Tensor<T, D> run(const Layer& layer, const std::vector<Tensor<T, D>>& values) const {
    const auto& x = values[layer.inputs.front()];
    switch (layer.kind) {
      case Kind::conv_bn_relu: {
        // conv2d pads both axes alike; the rest of an uneven (1x7, 7x1) "same" padding is added here.
        const std::int64_t common = std::min(layer.pad_h, layer.pad_w), extra_h = layer.pad_h - common,
                           extra_w = layer.pad_w - common;
        auto padded = x;
        if (extra_h > 0) padded = pad_slice(padded, 2, extra_h, x.dim(2) + 2 * extra_h);
        if (extra_w > 0) padded = pad_slice(padded, 3, extra_w, x.dim(3) + 2 * extra_w);
        const auto y = conv2d(padded, layer.weight, {.stride = layer.stride, .padding = common});
        return bias_leaky_relu(y, layer.bias, 1, {.slope = 0});
      }
      case Kind::pool:
        return pool2d(x, layer.pool);
      case Kind::concat: {
        std::vector<Tensor<T, D>> parts;
        for (int i : layer.inputs) parts.push_back(values[i]);
        return concat(parts, 1);
      }
      case Kind::input:
        break;
    }
    throw Error("InceptionV3: an input layer inside the network");
  }
};

}  // namespace pixsyn::metrics
