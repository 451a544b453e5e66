#pragma once
// Device tags: the device is part of a tensor's type, so dispatch happens at compile time.

namespace pixsyn {

struct Cpu {
  static constexpr const char* name = "cpu";
};
struct Cuda {
  static constexpr const char* name = "cuda";
};

}  // namespace pixsyn
