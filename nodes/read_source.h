// ReadSource: the restore's producer: reads an archive from a Destination's
// ObjectReader in source chunks (admitted against the budget like any
// source's), the last one marked. The reverse of StoreSink.
#pragma once

#include <memory>
#include <string>

#include "engine/destination.h"
#include "engine/node.h"

namespace hab {

class ReadSource : public Source {
 public:
  ReadSource(std::unique_ptr<ObjectReader> reader, size_t chunk_bytes)
      : reader_(std::move(reader)), chunk_bytes_(chunk_bytes) {}
  std::string Name() const override { return "read"; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override;

 private:
  std::unique_ptr<ObjectReader> reader_;
  size_t chunk_bytes_;
};

}  // namespace hab
