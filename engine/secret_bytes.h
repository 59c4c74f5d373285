// SecretBytes: a fixed-size buffer for key material.
//
// The bytes live in sodium_malloc'd memory (guard pages, mlock'd so they are
// not swapped, excluded from core dumps where the kernel allows) and are wiped
// by sodium_free on destruction. Not copyable; movable. Never format one into a
// Status or a log line: there is deliberately no operator<< and no string
// conversion. sodium_init() must have run (main does it; tests call
// EnsureSodium()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace hab {

// Initialises libsodium once; safe to call from anywhere, any number of times.
void EnsureSodium();

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(std::span<const uint8_t> bytes);  // copies
  ~SecretBytes();
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  SecretBytes Clone() const { return SecretBytes(span()); }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// SecretString: text that is a credential (an API key, a Bearer header).
// A std::string, wiped (sodium_memzero) when destroyed or reassigned; not
// copyable, so no stray copy outlives it. Same rule as SecretBytes: never
// format one into a Status or a log line.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string text) : s_(std::move(text)) {}
  ~SecretString() { Wipe(); }
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& other) noexcept : s_(std::move(other.s_)) { other.Wipe(); }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      Wipe();
      s_ = std::move(other.s_);
      other.Wipe();
    }
    return *this;
  }
  const std::string& reveal() const { return s_; }
  bool empty() const { return s_.empty(); }

 private:
  void Wipe() noexcept;
  std::string s_;
};

}  // namespace hab
