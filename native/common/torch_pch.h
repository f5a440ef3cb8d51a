// Precompiled for every translation unit by CMakeLists.txt: libtorch's headers dominate build time.
#pragma once

#include <napi.h>
#include <torch/torch.h>
