// nn/tensor.h — a dense float32 tensor in NCHW order with 64-byte aligned storage.
//
// Promise: Tensor owns its buffer; resize() keeps the allocation when the new
// size fits (so per-batch buffers are allocated once); element (n,c,h,w) lives
// at ((n*C + c)*H + h)*W + w.  A fully connected activation is (N, C, 1, 1).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace nn {

struct Shape {
  int n = 0, c = 0, h = 0, w = 0;
  size_t size() const { return size_t(n) * c * h * w; }
  size_t per_sample() const { return size_t(c) * h * w; }
  bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {  // "(N,C,H,W)"
    return "(" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," +
           std::to_string(w) + ")";
  }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape s) { resize(s); }
  Tensor(int n, int c, int h, int w) { resize(Shape{n, c, h, w}); }
  Tensor(const Tensor& o) { *this = o; }
  Tensor& operator=(const Tensor& o) {
    if (this != &o) {
      resize(o.shape_);
      if (o.size()) std::memcpy(data(), o.data(), o.size() * sizeof(float));
    }
    return *this;
  }
  // A moved-from tensor is empty (no buffer, capacity 0), so that resize() allocates again.
  Tensor(Tensor&& o) noexcept : shape_(o.shape_), buffer_(std::move(o.buffer_)), capacity_(o.capacity_) {
    o.shape_ = Shape{};
    o.capacity_ = 0;
  }
  Tensor& operator=(Tensor&& o) noexcept {
    if (this != &o) {
      shape_ = o.shape_;
      buffer_ = std::move(o.buffer_);
      capacity_ = o.capacity_;
      o.shape_ = Shape{};
      o.capacity_ = 0;
    }
    return *this;
  }

  // Reallocates only when the new size exceeds the capacity; contents are unspecified after growth.
  void resize(Shape s) {
    size_t need = s.size();
    if (need > capacity_) {
      size_t bytes = ((need * sizeof(float) + 63) / 64) * 64;
      buffer_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!buffer_) throw std::bad_alloc();
      capacity_ = need;
    }
    shape_ = s;
  }
  void resize(int n, int c, int h, int w) { resize(Shape{n, c, h, w}); }
  void zero() {
    if (size()) std::memset(data(), 0, size() * sizeof(float));
  }
  void fill(float v) {
    for (size_t i = 0; i < size(); ++i) data()[i] = v;
  }

  const Shape& shape() const { return shape_; }
  int n() const { return shape_.n; }
  int c() const { return shape_.c; }
  int h() const { return shape_.h; }
  int w() const { return shape_.w; }
  size_t size() const { return shape_.size(); }
  size_t capacity() const { return capacity_; }  // floats the buffer holds (≥ size())
  float* data() { return buffer_.get(); }
  const float* data() const { return buffer_.get(); }
  float& operator[](size_t i) { return buffer_.get()[i]; }
  float operator[](size_t i) const { return buffer_.get()[i]; }
  float& at(int n, int c, int h, int w) {
    return buffer_.get()[((size_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w];
  }
  float at(int n, int c, int h, int w) const {
    return buffer_.get()[((size_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w];
  }
  float* sample(int n) { return data() + size_t(n) * shape_.per_sample(); }
  const float* sample(int n) const { return data() + size_t(n) * shape_.per_sample(); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  Shape shape_;
  std::unique_ptr<float, Free> buffer_;
  size_t capacity_ = 0;
};

}  // namespace nn
