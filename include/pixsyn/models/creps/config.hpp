#pragma once
// creps::Config: a CREPS generator's architecture as a structural aggregate, usable as a template
// argument. Defaults are the official `train.py --cfg=creps` (docs/creps.md; spec creps.md §0):
// z and w 512, 8 mapping layers at lr 0.01, block widths min(65536 / r, 1024), K = 32 bi-line
// channels of thickness D = 8, Fourier bandwidth 10, a decoder per level (layer-wise fusion), two
// refinement blocks, every modulated layer clamped to +-256.
namespace pixsyn::creps {

// What the synthesis blocks carry: thick bi-lines (a row and a column embedding per level, the
// official model) or dense 2D features, one per pixel (the paper's CREPS-NB ablation).
enum class Features { biline, dense };
// How the levels meet: a decoder per level folds level r - 1 into level r (the official layer-wise
// fusion), or only the last accumulated bi-line is composed, once, at the end (a single decoder).
enum class Fusion { layer_wise, final };

struct Config {
  int size = 256;  // training resolution R: blocks b4 .. bR, bi-line levels b8 .. bR
  int z_dim = 512;
  int w_dim = 512;
  int mapping_layers = 8;
  double mapping_lr_mul = 0.01;
  int channel_base = 65536;  // block b{r} is min(channel_base / r, channel_max) wide
  int channel_max = 1024;    // the cap; a small cap makes small test models
  int biline_channels = 32;  // K: channels of each bi-line and of the per-pixel decoders
  int thickness = 8;         // D: rank of each bi-line (rows and columns have D slots each)
  double bandwidth = 10;     // standard deviation of the initial Fourier frequencies
  double clamp = 256;        // every modulated layer's output is clamped to +-clamp
  Features features = Features::biline;
  Fusion fusion = Fusion::layer_wise;
  int refinement_blocks = 2;  // block0 (K -> 4K) and block1 (4K -> 2K), each adding to the RGB

  constexpr int log_size() const {
    int l = 0;
    while ((1 << l) < size) ++l;
    return l;
  }
  constexpr bool size_is_power_of_two() const { return size > 0 && (size & (size - 1)) == 0; }
  // Bi-line levels, one per block b8 .. bR.
  constexpr int levels() const { return log_size() - 2; }
  // Width of block b{r}.
  constexpr int width(int r) const { return channel_base / r < channel_max ? channel_base / r : channel_max; }
  // Style vectors the official forward takes (one per layer; all equal unless mixed): 2 log2(R) - 1.
  constexpr int num_ws() const { return 2 * log_size() - 1; }
  constexpr bool level_decoders() const { return features == Features::biline && fusion == Fusion::layer_wise; }
};

}  // namespace pixsyn::creps
