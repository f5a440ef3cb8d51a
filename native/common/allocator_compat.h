// c10::Allocator across libtorch versions: 2.3 made `allocate` non-const and added the pure
// virtual `copy_data`; 1.13 has `allocate` const and no `copy_data`. An allocator derives from
// AllocatorBase, implements `c10::DataPtr Allocate(size_t bytes) const` (or a static one), and is
// instantiated as CompatAllocator<its class>, which overrides the `allocate` this libtorch has.
#pragma once

#include <c10/core/Allocator.h>

#include <cstring>
#include <type_traits>

namespace sphereface {

class AllocatorBase : public c10::Allocator {
 public:
  // Pure virtual from libtorch 2.3, absent before: declared without `override` for both.
  void copy_data(void* dest, const void* src, size_t count) const { std::memcpy(dest, src, count); }
};

namespace allocator_compat {

// Each wrapper derives from a dependent base, so only the one chosen below is checked and built.
template <typename Impl>
struct ConstAllocate final : Impl {
  using Impl::Impl;
  c10::DataPtr allocate(size_t bytes) const override { return this->Allocate(bytes); }
};
template <typename Impl>
struct MutableAllocate final : Impl {
  using Impl::Impl;
  c10::DataPtr allocate(size_t bytes) override { return this->Allocate(bytes); }
};

constexpr bool kConstAllocate = std::is_same_v<decltype(&c10::Allocator::allocate),
                                               c10::DataPtr (c10::Allocator::*)(size_t) const>;

}  // namespace allocator_compat

template <typename Impl>
using CompatAllocator =
    std::conditional_t<allocator_compat::kConstAllocate, allocator_compat::ConstAllocate<Impl>,
                       allocator_compat::MutableAllocate<Impl>>;

}  // namespace sphereface
