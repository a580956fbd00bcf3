// tests/nn/test_tensor.cpp — nn::Tensor's promises about its buffer (nn/tensor.h).
#include "nn/tensor.h"

#include <gtest/gtest.h>

#include <utility>

namespace {

// A moved-from tensor is empty, capacity 0, so that resize() allocates again: a moved-from tensor that
// kept its old capacity would skip the allocation and write through a null buffer.
TEST(Tensor, AMovedFromTensorIsEmptyAndAllocatesAgainOnResize) {
  nn::Tensor a(2, 3, 4, 5), b(1, 2, 3, 4);
  a.fill(1.f);
  nn::Tensor moved(std::move(a));  // construction
  b = std::move(moved);            // assignment
  EXPECT_EQ(b.shape(), (nn::Shape{2, 3, 4, 5}));
  EXPECT_EQ(b[119], 1.f);
  for (nn::Tensor* t : {&a, &moved}) {
    EXPECT_EQ(t->size(), 0u);
    ASSERT_EQ(t->capacity(), 0u);
    t->resize(1, 1, 2, 2);
    ASSERT_NE(t->data(), nullptr);
    t->fill(2.f);
    EXPECT_EQ((*t)[3], 2.f);
  }
}

}  // namespace
