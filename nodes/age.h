// AgeEncrypt / AgeDecryptFramer / AgeDecrypt: the age layer of the graph.
//
// Backup: chunker(64 KiB) -> AgeEncrypt (parallel). Each block starts at a
// multiple of 64 KiB, so its first STREAM counter is offset / 64 KiB and
// blocks seal independently; the block at offset 0 is prefixed with the
// header and nonce.
//
// Restore: AgeDecryptFramer (serial) buffers until the header and nonce are
// complete, unwraps the file key with the identities, checks the header MAC,
// and re-cuts the payload into blocks of whole 64 KiB + 16 ciphertext chunks
// -> AgeDecrypt (parallel) opens them. A failed tag, a truncation or data
// after the final chunk is kDataLoss; nothing after the failing chunk is
// released, and the restore stages its output until the final chunk opened.
#pragma once

#include <memory>
#include <vector>

#include "engine/node.h"
#include "nodes/age_format.h"
#include "nodes/chunker.h"

namespace hab {

class AgeEncrypt : public Transform {
 public:
  static absl::StatusOr<std::unique_ptr<AgeEncrypt>> Create(
      std::span<const age::X25519Recipient> recipients, int concurrency);
  std::string Name() const override { return "age"; }
  int Concurrency() const override { return concurrency_; }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override;
  size_t header_size() const { return header_.size(); }

 private:
  AgeEncrypt(std::vector<uint8_t> header, SecretBytes key, int concurrency)
      : header_(std::move(header)), key_(std::move(key)), concurrency_(concurrency) {}
  std::vector<uint8_t> header_;
  SecretBytes key_;
  int concurrency_;
};

// Shared between the framer (writes the key once) and the decryptor. The
// key is published before the first payload block is emitted; TBB's message
// passing orders the two.
struct AgeDecryptState {
  SecretBytes payload_key;
};

class AgeDecryptFramer : public Transform {
 public:
  AgeDecryptFramer(std::vector<age::X25519Identity> identities,
                   std::shared_ptr<AgeDecryptState> state)
      : identities_(std::move(identities)), state_(std::move(state)), chunker_(age_unit()) {}
  static size_t age_unit();
  std::string Name() const override { return "age-header"; }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override;

 private:
  std::vector<age::X25519Identity> identities_;
  std::shared_ptr<AgeDecryptState> state_;
  Chunker chunker_;
  std::vector<uint8_t> pending_;
  bool header_done_ = false;
};

class AgeDecrypt : public Transform {
 public:
  AgeDecrypt(std::shared_ptr<AgeDecryptState> state, int concurrency)
      : state_(std::move(state)), concurrency_(concurrency) {}
  std::string Name() const override { return "age-decrypt"; }
  int Concurrency() const override { return concurrency_; }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override;

 private:
  std::shared_ptr<AgeDecryptState> state_;
  int concurrency_;
};

}  // namespace hab
