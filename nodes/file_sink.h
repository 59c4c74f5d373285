// FileSink: a restored stream written to one file, "<path>.partial" first
// and renamed into place by Commit (engine/partial_file.h): a failed or
// interrupted restore leaves no file at `path`. Commit returns the bytes
// written. Missing parent directories are created (and removed again on
// Abort when this sink created them).
#pragma once

#include <memory>
#include <string>

#include "engine/partial_file.h"
#include "nodes/plain_sink.h"

namespace hab {

class FileSink : public PlainSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileSink>> Create(const std::string& path);
  ~FileSink() override { Abort(); }
  absl::Status Write(std::span<const uint8_t> bytes) override { return file_->Write(bytes); }
  absl::StatusOr<uint64_t> Commit() override;
  void Abort() noexcept override;

 private:
  FileSink(std::unique_ptr<PartialFile> file, std::string created_dir)
      : file_(std::move(file)), created_dir_(std::move(created_dir)) {}
  std::unique_ptr<PartialFile> file_;
  std::string created_dir_;  // the top directory this sink created, if any
  bool committed_ = false;
};

}  // namespace hab
