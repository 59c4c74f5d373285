#include "graphs/runtime.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "nodes/age.h"
#include "nodes/chunker.h"
#include "nodes/read_source.h"
#include "sources/registry.h"

namespace hab {
namespace {

// What the factories of one branch share while they fill its BranchSpec.
struct BranchBuild {
  RuntimeContext& rc;
  const PlanBranch& plan;
  BranchSpec& spec;
  BranchOutputs& out;
  std::shared_ptr<AgeDecryptState> age_state = std::make_shared<AgeDecryptState>();
  UnzstdStage unzstd;
  std::string unzstd_id;
};

template <class T>
const T& Settings(const PlanNode& n) {
  return std::get<T>(n.settings);
}

void AddTransform(BranchBuild& b, const PlanNode& n, std::unique_ptr<Transform> t) {
  b.spec.transform_ids.push_back(n.id);
  b.spec.transforms.push_back(MaybeFaulty(std::move(t), b.rc.fault));
}

// Verification after the commit: the archive's size at the destination,
// and for `deep` the archive read back through the kind's check.
class VerifyStep : public CommitStep {
 public:
  VerifyStep(RuntimeContext& rc, VerifyStage stage, std::string key, BranchOutputs out)
      : rc_(rc), stage_(std::move(stage)), key_(std::move(key)), out_(std::move(out)) {}
  std::string Name() const override { return "verify"; }
  absl::Status Run(RunContext& ctx, const SinkReport&) override {
    std::string outcome = Check();
    out_.verify->outcome = outcome;
    if (outcome == "ok") return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("verification ", outcome));
  }

 private:
  std::string Check() {
    auto info = rc_.dest->Stat(key_);
    if (!info.ok()) return absl::StrCat("failed: ", info.status().message());
    if (info->size != out_.digest->bytes) {
      return absl::StrCat("failed: size ", info->size, " at the destination, ", out_.digest->bytes, " written");
    }
    if (stage_.mode != "deep") return "ok";
    auto name = ParseArchiveName(key_.substr(key_.rfind('/') == std::string::npos ? 0 : key_.rfind('/') + 1));
    if (!name.has_value()) return "failed: deep: not an archive name";
    auto count = VerifyArchive(rc_, key_, *name);
    if (!count.ok()) return absl::StrCat("failed: deep: ", count.status().message());
    out_.verify->count = *count;
    if (stage_.kind->verify_counts_members() && *count != out_.stats->members.load()) {
      return absl::StrCat("failed: deep: ", *count, " tar members read back, ", out_.stats->members.load(),
                          " written");
    }
    return "ok";
  }

  RuntimeContext& rc_;
  VerifyStage stage_;
  std::string key_;
  BranchOutputs out_;
};

using Factory = std::function<absl::Status(const PlanNode&, BranchBuild&)>;

const std::map<std::string, Factory>& Factories() {
  static const auto* kFactories = [] {
    auto* f = new std::map<std::string, Factory>();
    // Every source kind's producer: its SourceConfig opens it.
    for (const SourceKind* kind : SourceKinds()) {
      (*f)[std::string(kind->node_kind())] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
        const auto& s = Settings<SourceStage>(n);
        SourceOpenOptions o{s.chunk_bytes, b.out.stats, b.rc.cancel};
        HAB_ASSIGN_OR_RETURN(std::unique_ptr<Source> src, s.source->Open(o));
        b.spec.source_id = n.id;
        b.spec.source = MaybeFaulty(std::move(src), b.rc.fault);
        return absl::OkStatus();
      };
    }
    (*f)["zstd"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      auto z = std::make_unique<ZstdCompress>(ZstdOptions{Settings<ZstdStage>(n).level}, n.concurrency);
      b.out.zstd = z.get();  // owned by the graph, which outlives the results
      AddTransform(b, n, std::move(z));
      return absl::OkStatus();
    };
    (*f)["chunker"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      AddTransform(b, n, std::make_unique<ChunkerNode>(Settings<ChunkerStage>(n).unit));
      return absl::OkStatus();
    };
    (*f)["age"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      HAB_ASSIGN_OR_RETURN(auto enc, AgeEncrypt::Create(b.rc.recipients, n.concurrency));
      AddTransform(b, n, std::move(enc));
      return absl::OkStatus();
    };
    (*f)["store"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      const auto& s = Settings<StoreStage>(n);
      WriteOptions w{s.size_hint, s.writer.concurrency, s.writer.request_bytes};
      b.spec.sink_ids.push_back(n.id);
      b.spec.sink = MaybeFaulty(std::make_unique<StoreSink>(b.rc.dest, s.key, b.out.digest, w), b.rc.fault);
      return absl::OkStatus();
    };
    (*f)["verify"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      b.spec.step_ids.push_back(n.id);
      b.spec.steps.push_back(std::make_unique<VerifyStep>(b.rc, Settings<VerifyStage>(n), b.plan.archive_key, b.out));
      return absl::OkStatus();
    };
    (*f)["read"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      const auto& s = Settings<ReadStage>(n);
      HAB_ASSIGN_OR_RETURN(auto reader,
                           b.rc.dest->Open(s.key, ReadOptions{s.reader.concurrency, s.reader.request_bytes}));
      b.spec.source_id = n.id;
      b.spec.source = MaybeFaulty(std::make_unique<ReadSource>(std::move(reader), s.chunk_bytes), b.rc.fault);
      return absl::OkStatus();
    };
    (*f)["age-header"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      std::vector<age::X25519Identity> ids;
      for (const auto& id : b.rc.identities) {
        HAB_ASSIGN_OR_RETURN(auto copy, age::X25519Identity::Parse(id.ToString()));
        ids.push_back(std::move(copy));
      }
      AddTransform(b, n, std::make_unique<AgeDecryptFramer>(std::move(ids), b.age_state));
      return absl::OkStatus();
    };
    (*f)["age-decrypt"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      AddTransform(b, n, std::make_unique<AgeDecrypt>(b.age_state, n.concurrency));
      return absl::OkStatus();
    };
    (*f)["unzstd"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      // Decoding runs in the sink (the writer thread), with `extract`.
      b.unzstd = Settings<UnzstdStage>(n);
      b.unzstd_id = n.id;
      return absl::OkStatus();
    };
    (*f)["extract"] = [](const PlanNode& n, BranchBuild& b) -> absl::Status {
      const auto& s = Settings<ExtractStage>(n);
      if (s.kind == nullptr) return absl::InvalidArgumentError("no source kind for this archive extension");
      std::unique_ptr<PlainSink> plain;
      if (s.target_dir.empty()) {
        HAB_ASSIGN_OR_RETURN(plain, s.kind->OpenVerifier());
      } else {
        HAB_ASSIGN_OR_RETURN(plain, s.kind->OpenRestore(s.target_dir, s.source));
      }
      b.spec.sink_ids = {b.unzstd_id, n.id};
      b.spec.sink = MaybeFaulty(std::make_unique<DecompressSink>(std::move(plain), b.unzstd.threads,
                                                                 b.unzstd.max_frame, b.out.plain),
                                b.rc.fault);
      return absl::OkStatus();
    };
    return f;
  }();
  return *kFactories;
}

}  // namespace

Instance Instantiate(const GraphPlan& plan, RuntimeContext& rc) {
  Instance inst;
  inst.graph = std::make_unique<Graph>(rc.budget, plan.parallelism);
  if (plan.direction == "restore") inst.graph->LowerWorkerPriority();
  inst.outputs.resize(plan.branches.size());
  inst.build_errors.resize(plan.branches.size());
  inst.graph_index.assign(plan.branches.size(), SIZE_MAX);
  size_t added = 0;
  for (size_t i = 0; i < plan.branches.size(); ++i) {
    const PlanBranch& pb = plan.branches[i];
    BranchSpec bs;
    bs.name = pb.source;
    bs.admission_x100 = pb.admission_x100;
    bs.fixed_bytes = pb.fixed_bytes;
    bs.window_chunks = pb.window_chunks;
    bs.footprint_bytes = pb.footprint_bytes;
    BranchBuild build{rc, pb, bs, inst.outputs[i]};
    absl::Status st;
    for (const PlanNode& n : pb.nodes) {
      auto it = Factories().find(n.kind);
      st = it == Factories().end() ? absl::InternalError(absl::StrCat("no factory for node kind ", n.kind))
                                   : it->second(n, build);
      if (!st.ok()) break;
    }
    if (st.ok() && (bs.source == nullptr || bs.sink == nullptr)) {
      st = absl::InternalError(absl::StrCat("plan branch ", pb.source, " has no source or no sink"));
    }
    inst.build_errors[i] = st;
    if (!st.ok()) continue;
    inst.graph->AddBranch(std::move(bs));
    inst.graph_index[i] = added++;
  }
  return inst;
}

absl::StatusOr<uint64_t> VerifyArchive(RuntimeContext& rc, const std::string& key,
                                       const ParsedArchiveName& name) {
  if (rc.identities.empty()) {
    return absl::FailedPreconditionError("deep verification needs encryption.identity_file");
  }
  GraphPlan plan = BuildRestorePlan(*rc.spec, *rc.pc, {{key, name}}, "");
  Instance inst = Instantiate(plan, rc);
  HAB_RETURN_IF_ERROR(inst.build_errors[0]);
  std::vector<BranchResult> r = inst.graph->Run(*rc.cancel);
  HAB_RETURN_IF_ERROR(r[0].status);
  return inst.outputs[0].plain->count;
}

}  // namespace hab
