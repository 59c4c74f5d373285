#include "engine/secret_bytes.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace hab {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no randomness source: nothing secure can be done
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  EnsureSodium();
  if (size == 0) return;
  data_ = static_cast<uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size);
}

SecretBytes::SecretBytes(std::span<const uint8_t> bytes) : SecretBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // wipes before unmapping
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretString::Wipe() noexcept {
  // The whole capacity: a shorter value may have replaced a longer one.
  s_.resize(s_.capacity());
  sodium_memzero(s_.data(), s_.size());
  s_.clear();
}

}  // namespace hab
