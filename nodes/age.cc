#include "nodes/age.h"

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "nodes/age_stream.h"

namespace hab {

absl::StatusOr<std::unique_ptr<AgeEncrypt>> AgeEncrypt::Create(
    std::span<const age::X25519Recipient> recipients, int concurrency) {
  HAB_ASSIGN_OR_RETURN(age::EncryptionHeader h, age::MakeEncryptionHeader(recipients));
  return std::unique_ptr<AgeEncrypt>(
      new AgeEncrypt(std::move(h.bytes), std::move(h.payload_key), concurrency));
}

absl::Status AgeEncrypt::Process(RunContext& ctx, const ChunkRef& in, Emitter& out) {
  if (in->offset % age::kChunkSize != 0) {
    return absl::InternalError("age: block does not start on a 64 KiB boundary");
  }
  size_t prefix = in->offset == 0 ? header_.size() : 0;
  size_t sealed = age::SealedSize(in->bytes().size(), in->last);
  Chunk c;
  c.last = in->last;
  c.lease = in->lease;
  c.data = Buffer(prefix + sealed);
  c.data.append(std::span<const uint8_t>(header_.data(), prefix));
  c.data.resize(prefix + sealed);
  HAB_RETURN_IF_ERROR(age::SealChunks(key_, in->offset / age::kChunkSize, in->bytes(), in->last,
                                      c.data.writable().subspan(prefix, sealed)));
  out.Emit(std::move(c));
  return absl::OkStatus();
}

size_t AgeDecryptFramer::age_unit() { return age::kEncChunkSize; }

absl::Status AgeDecryptFramer::Process(RunContext& ctx, const ChunkRef& in, Emitter& out) {
  std::span<const uint8_t> payload = in->bytes();
  if (!header_done_) {
    pending_.insert(pending_.end(), payload.begin(), payload.end());
    HAB_ASSIGN_OR_RETURN(std::optional<size_t> end, age::FindHeaderEnd(pending_, in->last));
    if (!end.has_value() || pending_.size() < *end + age::kNonceSize) {
      if (in->last) return absl::DataLossError("age: file ends inside the header");
      return absl::OkStatus();
    }
    std::span<const uint8_t> header_bytes(pending_.data(), *end);
    HAB_ASSIGN_OR_RETURN(age::ParsedHeader header, age::ParseHeader(header_bytes));
    HAB_ASSIGN_OR_RETURN(SecretBytes file_key,
                         age::UnwrapFileKey(header, header_bytes, identities_));
    state_->payload_key =
        age::PayloadKey(file_key, std::span<const uint8_t>(pending_).subspan(*end, age::kNonceSize));
    header_done_ = true;
    // What followed the nonce in this input is the start of the payload.
    std::vector<uint8_t> rest(pending_.begin() + static_cast<long>(*end + age::kNonceSize),
                              pending_.end());
    pending_.clear();
    pending_.shrink_to_fit();
    chunker_.Feed(rest, in->last, in->lease, out);
    return absl::OkStatus();
  }
  chunker_.Feed(in, out);
  return absl::OkStatus();
}

absl::Status AgeDecrypt::Process(RunContext& ctx, const ChunkRef& in, Emitter& out) {
  if (in->offset % age::kEncChunkSize != 0) {
    return absl::InternalError("age: ciphertext block is not chunk-aligned");
  }
  uint64_t counter = in->offset / age::kEncChunkSize;
  std::span<const uint8_t> cipher = in->bytes();
  if (cipher.empty() && in->last) {
    return absl::DataLossError(counter == 0 ? "age payload: no payload chunks"
                                            : "age payload: stream ends without a final chunk");
  }
  Chunk c;
  c.last = in->last;
  c.lease = in->lease;
  c.data = Buffer(cipher.size());
  size_t pos = 0, written = 0;
  while (pos < cipher.size()) {
    size_t n = std::min(age::kEncChunkSize, cipher.size() - pos);
    bool final_piece = in->last && pos + n == cipher.size();
    HAB_ASSIGN_OR_RETURN(age::OpenedChunk opened,
                         age::OpenChunk(state_->payload_key, counter, cipher.subspan(pos, n),
                                        final_piece, c.data.data() + written));
    if (opened.last && !final_piece) {
      return absl::DataLossError("age payload: data after the final chunk");
    }
    if (!opened.last && final_piece) {
      return absl::DataLossError("age payload: stream ends without a final chunk (truncated)");
    }
    written += opened.plain_size;
    pos += n;
    ++counter;
  }
  c.data.resize(written);
  out.Emit(std::move(c));
  return absl::OkStatus();
}

}  // namespace hab
