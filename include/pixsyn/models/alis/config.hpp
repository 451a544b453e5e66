#pragma once
// alis::Config: an ALIS generator's architecture as a structural aggregate, usable as a template
// argument. Defaults are the released configs/alis.yml at 256² (spec alis.md §1.1, docs/alis.md):
// z and w 512, a 2-layer mapping at lr 0.01, block widths min(16384 / r, 512), the CoordConst input
// at 4×4, coordinate fusers with the fixed logarithmic basis (lowest frequency removed), g = 2
// patches, anchor distance D = 4, every layer clamped to ±256, and the fp16 blocks' style
// normalisation in the 4 highest resolutions.
namespace pixsyn::alis {

// The first block's input: the CoordConst of the released model (a learned vertical profile
// modulated by the interpolated style, plus fixed Fourier channels; official "grid"), or a learned
// constant (official "const"; the paper's "w/o coords" ablation).
enum class Input { coord_const, constant };

struct Config {
  int size = 256;  // frame side R: blocks b4 .. bR
  int z_dim = 512;
  int w_dim = 512;
  int mapping_layers = 2;
  double mapping_lr_mul = 0.01;
  int channel_base = 16384;  // block b{r} is min(channel_base / r, channel_max) wide
  int channel_max = 512;
  int input_resolution = 4;  // blocks up to this side run at it without upsampling (official min_resolution)
  int patches = 2;           // g: the frame is g vertical patches, each convolved on its own
  int anchor_distance = 4;   // D (official w_coord_dist): anchors sit D/2 frame widths apart
  Input input = Input::coord_const;
  bool coordinate_fusers = true;  // fixed Fourier coordinates concatenated before conv0 of blocks b8 .. bR
  bool remove_lowest_freq = true;
  double clamp = 256;        // every layer's output is clamped to ±clamp, ToRGB included
  int fp16_resolutions = 4;  // official num_fp16_res: which blocks normalise their styles (fp16_block)

  constexpr int log_size() const {
    int l = 0;
    while ((1 << l) < size) ++l;
    return l;
  }
  static constexpr bool power_of_two(int n) { return n > 0 && (n & (n - 1)) == 0; }
  // Width of block b{r}.
  constexpr int width(int r) const { return channel_base / r < channel_max ? channel_base / r : channel_max; }
  // The side block b{r} runs at, and whether its conv0 upsamples from r / 2.
  constexpr int resolution(int r) const { return r > input_resolution ? r : input_resolution; }
  constexpr bool upsamples(int r) const { return r > input_resolution; }
  // The official model runs blocks r >= max(2^(log2 R + 1 - n), 8) in fp16; there each demodulated
  // conv divides every anchor's styles by their largest magnitude (spec §2.3), which pixsyn applies in fp32.
  constexpr bool fp16_block(int r) const {
    const int shift = log_size() + 1 - fp16_resolutions;
    return fp16_resolutions > 0 && r >= (shift <= 3 ? 8 : 1 << shift);
  }
  // Style vectors a forward reads per anchor: b4 takes 3 (the CoordConst input, conv1, torgb; 2 with
  // a constant input), each later block 3, sharing one with the next block's first conv.
  constexpr int num_ws() const { return (input == Input::coord_const ? 2 : 1) + 2 * (log_size() - 2) + 1; }
  // The first style row of block b{r}.
  constexpr int first_w(int r) const {
    int k = 0;
    while ((4 << k) < r) ++k;
    return k == 0 ? 0 : (input == Input::coord_const ? 2 : 1) + 2 * (k - 1);
  }
  // Frames between two anchors, and the largest valid left border (in patches) of a frame: the
  // strip between the left and right anchor holds D * g patches.
  constexpr int frames_per_anchor() const { return anchor_distance / 2; }
  constexpr int max_delta() const { return anchor_distance * patches - patches; }
  // The official coords.channels_dict dims: at most this many basis rows at resolution r (the
  // diagonals are dropped first beyond it; never with these values).
  static constexpr int coordinate_dims(int r) { return r <= 16 ? 32 : r <= 32 ? 64 : r <= 128 ? 128 : 64; }
};

}  // namespace pixsyn::alis
