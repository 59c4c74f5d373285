#include "graphs/config.h"

#include "gtest/gtest.h"
#include "destinations/path_template.h"
#include "engine/file_util.h"
#include "graphs/archives.h"
#include "graphs/backup.h"
#include "graphs/plan.h"
#include "nodes/age_format.h"

namespace hab {
namespace {

std::string Recipient() { return age::X25519Identity::Generate().Recipient().ToString(); }

TEST(Config, ProductPageExampleParses) {
  std::string yaml = R"(schedule: "0 3 * * *"
sources:
  - type: files
    name: webroot
    paths: [/var/www, /etc/nginx]
    exclude: ["**/node_modules", "*.log"]
  - type: postgres
    name: production-db
    host: 10.0.0.2
    user: hostatlas
    password_file: /etc/hostatlas/backup/pg-pass
    database: hostatlas
    extra_args: ["--compress=0"]
  - type: mariadb
    name: shop
    user: backup
    password_env: MYSQL_PWD
    database: app_production
    command_timeout_seconds: 21600
destination:
  type: s3
  endpoint: https://abc.r2.cloudflarestorage.com
  region: auto
  bucket: hostatlas-backups
  prefix: "{{ hostname }}/{{ date }}/"
  access_key_id: AKIA
  secret_access_key: very-secret-value
encryption:
  type: age
  recipient: )" + Recipient() + R"(
compression: {type: zstd, level: 3}
retention: {keep_last: 14}
verification: {mode: size}
heartbeat: {slug: hb_a3f9c8e2d5}
hooks:
  pre: ["systemctl stop worker.service"]
  post: ["systemctl start worker.service"]
performance: {memory_limit: 64MiB, parallelism: 2}
)";
  auto spec = ParseConfig(yaml, "backup.yml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->sources.size(), 3u);
  // Kind-specific values are what each kind hands the plan.
  auto param = [&](size_t i, const std::string& key) {
    for (const auto& [k, v] : spec->sources[i]->PlanParams()) {
      if (k == key) return v;
    }
    return std::string();
  };
  EXPECT_EQ(spec->sources[2]->kind().type(), "mysql");
  EXPECT_EQ(param(2, "port"), "3306");
  EXPECT_EQ(param(1, "port"), "5432");
  EXPECT_EQ(spec->memory_limit, 64u << 20);
  EXPECT_EQ(spec->keep_last, 14);
  EXPECT_EQ(spec->heartbeat_slug, "hb_a3f9c8e2d5");
  // The plan never shows the secret.
  GraphPlan plan = BuildBackupPlan(*spec, {.hostname = "host1", .now_unix = 1764133200, .cancel = nullptr, .estimates = {}});
  std::string text = PrintPlanText(plan) + PrintPlanDot(plan);
  EXPECT_EQ(text.find("very-secret-value"), std::string::npos);
  EXPECT_NE(text.find("host1/2025-11-26/hostatlas-backup-webroot-"), std::string::npos) << text;
}

TEST(Config, EveryProblemInOnePassWithPositions) {
  std::string yaml = R"(sources:
  - type: files
    name: web
    paths: [relative/path]
    colour: blue
destination:
  type: local
  path: /srv/backups
encryption:
  recipient: age1notvalid
compression:
  level: 40
)";
  auto spec = ParseConfig(yaml, "/etc/x/backup.yml");
  ASSERT_FALSE(spec.ok());
  std::string m(spec.status().message());
  EXPECT_NE(m.find("/etc/x/backup.yml:5:5: sources[0].colour: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("/etc/x/backup.yml:4:13: sources[0].paths[0]: must be an absolute path"), std::string::npos) << m;
  EXPECT_NE(m.find("/etc/x/backup.yml:10:14: encryption.recipient: not a valid age recipient"), std::string::npos) << m;
  EXPECT_NE(m.find("/etc/x/backup.yml:12:10: compression.level: must be between 1 and 22, got 40"), std::string::npos) << m;
}

TEST(Config, MissingEncryptionAndSyntaxErrors) {
  auto spec = ParseConfig("sources:\n  - {type: files, name: a, paths: [/a]}\ndestination: {type: local, path: /b}\n", "c.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("encryption: is required"), absl::string_view::npos);
  auto bad = ParseConfig("sources: [\n", "c.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.yml:"), absl::string_view::npos);
  auto dup = ParseConfig("sources:\n  - {type: files, name: a, paths: [/a]}\n  - {type: files, name: a, paths: [/b]}\n"
                         "destination: {type: local, path: /b}\nencryption: {recipient: " + Recipient() + "}\n", "c.yml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate source name"), absl::string_view::npos);
}

TEST(Config, Sizes) {
  EXPECT_EQ(*ParseSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseSize("1GiB"), 1u << 30);
  EXPECT_EQ(*ParseSize("512KiB"), 512u << 10);
  EXPECT_EQ(*ParseSize("1048576"), 1u << 20);
  EXPECT_EQ(*ParseSize("10MB"), 10000000u);
  EXPECT_FALSE(ParseSize("lots").ok());
  EXPECT_FALSE(ParseSize("5 parsecs").ok());
}

TEST(Plan, ArchiveNamesRoundTripAndForeignFilesAreNotOurs) {
  std::string n = ArchiveName("db-2", "pgdump", 1764133200);
  EXPECT_EQ(n, "hostatlas-backup-db-2-20251126T050000Z.pgdump.zst.age");
  auto p = ParseArchiveName(n);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->source, "db-2");
  EXPECT_EQ(p->ext, "pgdump");
  EXPECT_FALSE(ParseArchiveName(n + ".partial").has_value());
  EXPECT_FALSE(ParseArchiveName("hostatlas-backup-manual.tar.zst.age").has_value());
  EXPECT_FALSE(ParseArchiveName("hostatlas-backup-db-2025.tar.zst.age").has_value());
  EXPECT_EQ(ExpandTemplate("/b/{{ hostname }}/{{date}}", "h", 1764133200), "/b/h/2025-11-26");
}

// Issue 15.2: a key from a listing or from `restore --from` must not carry
// a source part that becomes a path component outside the restore target.
TEST(Plan, ArchiveNamesWithHostileSourcesAreNotOurs) {
  for (const char* bad : {"hostatlas-backup-..-20250201T000000Z.tar.zst.age",
                          "hostatlas-backup-.-20250201T000000Z.tar.zst.age",
                          "hostatlas-backup-.hidden-20250201T000000Z.tar.zst.age",
                          "hostatlas-backup--x-20250201T000000Z.tar.zst.age",
                          "hostatlas-backup-a/b-20250201T000000Z.tar.zst.age",
                          "hostatlas-backup-a b-20250201T000000Z.sql.zst.age"}) {
    EXPECT_FALSE(ParseArchiveName(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseArchiveName("hostatlas-backup-a.b_c-20250201T000000Z.sql.zst.age").has_value());
}

TEST(Plan, ChunkSizeFollowsTheBudget) {
  EXPECT_EQ(ChunkBytesFor(256u << 20), 4u << 20);
  EXPECT_EQ(ChunkBytesFor(2u << 20), 64u << 10);
  EXPECT_EQ(ChunkBytesFor(24u << 20) % (64 << 10), 0u);
}

}  // namespace
}  // namespace hab

namespace hab {
namespace {

std::string Minimal(const std::string& extra, const std::string& dest = "destination: {type: local, path: /b}\n") {
  return "sources:\n  - {type: files, name: a, paths: [/a]}\n" + dest + "encryption: {recipient: " + Recipient() +
         "}\n" + extra;
}

std::string Problems(const std::string& yaml) {
  auto r = ParseConfigReport(yaml, "c.yml");
  if (!r.ok()) return std::string(r.status().message());
  std::string all;
  for (const auto& p : r->problems) all += p + "\n";
  return all;
}

// Issue 15.7: a repeated key is an error at its second occurrence.
TEST(Config, RepeatedKeysAreErrors) {
  std::string m = Problems(Minimal("retention:\n  keep_last: 3\n  keep_last: 9\n"));
  EXPECT_NE(m.find("c.yml:7:3: retention.keep_last: is given twice"), std::string::npos) << m;
  m = Problems(Minimal("", "destination: {type: local, path: /b}\ndestination: {type: local, path: /c}\n"));
  EXPECT_NE(m.find("destination: is given twice"), std::string::npos) << m;
}

// Issue 15.8: unknown templates and ".." components.
TEST(Config, UnknownTemplatesAndDotDotAreErrors) {
  for (const char* path : {"/b/{{ foo }}", "/b/{{ DATE }}", "/b/{{ date", "/srv/x/../../etc/x"}) {
    std::string m = Problems(Minimal("", std::string("destination: {type: local, path: \"") + path + "\"}\n"));
    EXPECT_NE(m.find("destination.path"), std::string::npos) << path << ": " << m;
  }
  std::string m = Problems(Minimal("", "destination: {type: local, path: \"/b/{{ foo }}\"}\n"));
  EXPECT_NE(m.find("unknown template \"{{ foo }}\" (allowed: {{ hostname }}, {{ date }})"), std::string::npos) << m;
  EXPECT_EQ(Problems(Minimal("", "destination: {type: local, path: \"/b/{{hostname}}/{{ date }}\"}\n")), "");
}

// Issue 15.3 at the config: the endpoint is parsed, not matched by prefix.
TEST(Config, S3EndpointIsParsed) {
  for (const char* ep : {"http://localhost@evil.com/", "http://127.0.0.1.evil.com", "http://u:p@127.0.0.1:9000"}) {
    std::string m = Problems(Minimal("", std::string("destination: {type: s3, endpoint: \"") + ep +
                                             "\", bucket: b, access_key_id: k, secret_access_key: s}\n"));
    EXPECT_NE(m.find("destination.endpoint"), std::string::npos) << ep << ": " << m;
  }
  EXPECT_EQ(Problems(Minimal("", "destination: {type: s3, endpoint: \"http://127.0.0.1:9000\", bucket: b}\n")), "");
}

// Issue 18: `heartbeat:` as a one-line slug or with `slug:` under it, and
// hostatlas.server_uuid kept as written (a malformed one is a problem).
TEST(Config, HeartbeatFormsAndServerUuid) {
  auto one = ParseConfigReport(Minimal("heartbeat: hb_one\nhostatlas: {server_uuid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427}\n"),
                               "c.yml");
  ASSERT_TRUE(one.ok() && one->problems.empty()) << Problems(Minimal("heartbeat: hb_one\n"));
  EXPECT_EQ(one->spec.heartbeat_slug, "hb_one");
  EXPECT_EQ(one->spec.server_uuid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
  auto nested = ParseConfigReport(Minimal("heartbeat:\n  slug: hb_two\n"), "c.yml");
  ASSERT_TRUE(nested.ok() && nested->problems.empty());
  EXPECT_EQ(nested->spec.heartbeat_slug, "hb_two");
  EXPECT_NE(Problems(Minimal("hostatlas: {server_uuid: not-a-uuid}\n")).find("server_uuid"), std::string::npos);
}

// Issue 15.10: the prefix is a folder; sizes too large; heartbeat slugs.
TEST(Config, PrefixSizesAndSlugs) {
  auto spec = ParseConfig(Minimal("", "destination: {type: s3, endpoint: \"https://s3.example.com\", bucket: b, "
                                      "prefix: nobackslash}\n"),
                          "c.yml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->destination->root_template(), "nobackslash/");
  std::string m = Problems(Minimal("performance: {memory_limit: 18446744073709551615}\n"));
  EXPECT_NE(m.find("performance.memory_limit: \"18446744073709551615\" is too large"), std::string::npos) << m;
  m = Problems(Minimal("performance: {memory_limit: 5TiB}\n"));
  EXPECT_NE(m.find("is too large (at most 1TiB)"), std::string::npos) << m;
  EXPECT_FALSE(ParseSize("99999999999TiB").ok());
  m = Problems(Minimal("heartbeat: \"hb a/b\"\n"));
  EXPECT_NE(m.find("heartbeat: a slug is letters, digits"), std::string::npos) << m;
  EXPECT_EQ(Problems(Minimal("heartbeat: {slug: hb_a3f9c8e2d5}\n")), "");
}

// Issue 15.6: a value that fails validation leaves the other parts usable
// for the independent pre-flight checks.
TEST(Config, ReportKeepsTheValidParts) {
  std::string yaml = "sources:\n  - {type: files, name: a, paths: [/a]}\n  - {type: files, name: b, paths: [rel]}\n"
                     "destination: {type: local, path: /b}\nencryption: {recipient: age1bogus}\n"
                     "hooks: {pre: [\"true\"]}\n";
  auto r = ParseConfigReport(yaml, "c.yml");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  ASSERT_EQ(r->source_valid.size(), 2u);
  EXPECT_TRUE(r->source_valid[0]);
  EXPECT_FALSE(r->source_valid[1]);
  EXPECT_TRUE(r->destination_valid);
  EXPECT_FALSE(r->encryption_valid);
  EXPECT_TRUE(r->hooks_valid);
}

// Issue 20: the full reference config parses (its example recipient is valid).
TEST(Config, FullReferenceParses) {
  auto spec = ParseConfig(FullReferenceConfig(), "reference.yml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->sources.size(), 3u);
}

TEST(PathTemplate, SplitsAtTheDateAndMatchesFolders) {
  auto s = SplitAtDate("/mnt/backups/{{ hostname }}/{{ date }}", "web1", 1764133200);
  EXPECT_EQ(s.root, "/mnt/backups/web1");
  EXPECT_EQ(s.dated, "{{ date }}");
  s = SplitAtDate("hostatlas/{{ hostname }}/{{ date }}/", "web1", 1764133200);
  EXPECT_EQ(s.root, "hostatlas/web1/");
  EXPECT_EQ(s.dated, "{{ date }}");
  s = SplitAtDate("/srv/{{ hostname }}", "web1", 1764133200);
  EXPECT_EQ(s.root, "/srv/web1");
  EXPECT_EQ(s.dated, "");
  s = SplitAtDate("{{ date }}/{{ hostname }}/", "web1", 0);
  EXPECT_EQ(s.root, "");
  EXPECT_EQ(s.dated, "{{ date }}/{{ hostname }}");
  EXPECT_TRUE(FolderMatches("{{ date }}", "2026-11-01", "web1"));
  EXPECT_FALSE(FolderMatches("{{ date }}", "not-a-date", "web1"));
  EXPECT_FALSE(FolderMatches("{{ date }}", "2026-11-01/x", "web1"));
  EXPECT_TRUE(FolderMatches("{{ date }}/{{ hostname }}", "2026-11-01/web1", "web1"));
  EXPECT_FALSE(FolderMatches("{{ date }}/{{ hostname }}", "2026-11-01/web2", "web1"));
  EXPECT_TRUE(FolderMatches("b-{{ date }}-x", "b-2026-11-01-x", "web1"));
  EXPECT_TRUE(FolderMatches("", "", "web1"));
  EXPECT_FALSE(FolderMatches("", "2026-11-01", "web1"));
  // Only real dates are dated folders.
  EXPECT_FALSE(FolderMatches("{{ date }}", "2026-13-45", "web1"));
  EXPECT_FALSE(FolderMatches("{{ date }}", "2026-02-29", "web1"));
  EXPECT_TRUE(FolderMatches("{{ date }}", "2024-02-29", "web1"));
  EXPECT_FALSE(FolderMatches("{{ date }}", "0000-00-00", "web1"));
}

TEST(ArchiveTimes, OnlyRealTimesAndTheFutureIsNotCounted) {
  EXPECT_TRUE(ValidCompactUtc("20240229T235959Z"));
  EXPECT_FALSE(ValidCompactUtc("20230229T000000Z"));
  EXPECT_FALSE(ValidCompactUtc("20261345T030000Z"));
  EXPECT_FALSE(ValidCompactUtc("20261129T240000Z"));
  EXPECT_FALSE(ValidCompactUtc("20261129T236000Z"));
  EXPECT_FALSE(ValidCompactUtc("20261129T030060Z"));
  EXPECT_FALSE(ValidCompactUtc("20261129T030000"));
  EXPECT_TRUE(ValidDateUtc("2026-11-29"));
  EXPECT_FALSE(ValidDateUtc("2026-04-31"));
  EXPECT_FALSE(ParseArchiveName("hostatlas-backup-db-20261345T030000Z.tar.zst.age").has_value());
  const int64_t now = 1764133200;  // 2025-11-26T05:00:00Z
  auto at = [](int64_t t) { return *ParseArchiveName(ArchiveName("db", "tar", t)); };
  EXPECT_FALSE(DatedInTheFuture(at(now), now));
  EXPECT_FALSE(DatedInTheFuture(at(now + kFutureSlackSeconds), now));
  EXPECT_TRUE(DatedInTheFuture(at(now + kFutureSlackSeconds + 1), now));
  EXPECT_TRUE(DatedInTheFuture(at(now + 365 * 86400), now));
}

// A files source and a database source of the same name are different
// histories; leftovers count only in this config's folders.
TEST(ArchiveTimes, KeysOfThisConfig) {
  auto spec = ParseConfig(Minimal("", "destination: {type: local, path: \"/b/{{ date }}/{{ hostname }}\"}\n"), "c.yml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ArchiveLocation where = LocateArchives(*spec->destination, "web1", 1764133200);
  EXPECT_EQ(where.dated, "{{ date }}/{{ hostname }}");
  const auto& sources = spec->sources;
  EXPECT_TRUE(IsKeyOf("2025-11-01/web1/hostatlas-backup-a-20251101T030000Z.tar.zst.age", where, sources));
  EXPECT_FALSE(IsKeyOf("2025-11-01/web1/hostatlas-backup-a-20251101T030000Z.sql.zst.age", where, sources));
  EXPECT_FALSE(IsKeyOf("2025-11-01/web2/hostatlas-backup-a-20251101T030000Z.tar.zst.age", where, sources));
  EXPECT_FALSE(IsKeyOf("scratch/deep/hostatlas-backup-a-20251101T030000Z.tar.zst.age", where, sources));
  EXPECT_FALSE(IsKeyOf("hostatlas-backup-a-20251101T030000Z.tar.zst.age", where, sources));
  EXPECT_FALSE(IsKeyOf("2025-11-01/web1/hostatlas-backup-b-20251101T030000Z.tar.zst.age", where, sources));
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_TRUE(IsArchiveOf(*ParseArchiveName("hostatlas-backup-a-20251101T030000Z.tar.zst.age"), *sources[0]));
  EXPECT_FALSE(IsArchiveOf(*ParseArchiveName("hostatlas-backup-a-20251101T030000Z.pgdump.zst.age"), *sources[0]));
}

}  // namespace
}  // namespace hab

#include "graphs/runtime.h"

namespace hab {
namespace {

// Issue 16: what the dry run prints is what runs, node for node and edge
// for edge, for a config with every source kind (and verification).
TEST(Plan, ExecutedGraphIsThePlan) {
  ::setenv("HAB_TEST_PG_PASSWORD", "x", 1);
  std::string yaml = R"(sources:
  - {type: files, name: web, paths: [/etc/hostname]}
  - {type: postgres, name: pg, user: u, database: d, password_env: HAB_TEST_PG_PASSWORD}
  - {type: mariadb, name: shop, user: u, database: d}
destination: {type: local, path: /tmp/hab-plan-test-dest}
encryption: {recipient: )" + Recipient() + R"(}
verification: {mode: size}
)";
  auto spec = ParseConfig(yaml, "c.yml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  PlanContext pc{.hostname = "h", .now_unix = 1764133200, .cancel = nullptr, .estimates = {}};
  GraphPlan plan = BuildBackupPlan(*spec, pc);
  Topology want;
  for (const auto& b : plan.branches) {
    for (const auto& n : b.nodes) want.nodes.push_back(n.id);
    for (const auto& e : b.edges) want.edges.push_back(e);
  }
  ASSERT_EQ(want.nodes.size(), 18u);  // 3 x (source, zstd, chunker, age, store, verify)
  auto dest = OpenDestination(*spec, pc, plan.location.root);
  ASSERT_TRUE(dest.ok()) << dest.status();
  MemoryBudget budget(spec->memory_limit);
  std::atomic<bool> cancel{false};
  RuntimeContext rc;
  rc.spec = &*spec;
  rc.pc = &pc;
  rc.dest = dest->get();
  rc.budget = &budget;
  rc.cancel = &cancel;
  rc.recipients = *Recipients(*spec);
  Instance inst = Instantiate(plan, rc);
  for (const auto& st : inst.build_errors) ASSERT_TRUE(st.ok()) << st;
  Topology got = inst.graph->BuiltTopology();
  EXPECT_EQ(got.nodes, want.nodes);
  EXPECT_EQ(got.edges, want.edges);
  // And the restore of an archive of each kind mirrors it.
  std::vector<RestoreItemPlan> items;
  for (const auto& b : plan.branches) items.push_back({b.archive_key, *ParseArchiveName(Basename(b.archive_key))});
  GraphPlan back = BuildRestorePlan(*spec, pc, items, "/tmp/hab-plan-test-restore");
  ASSERT_EQ(back.branches.size(), 3u);
  for (const auto& b : back.branches) {
    std::vector<std::string> kinds;
    for (const auto& n : b.nodes) kinds.push_back(n.kind);
    EXPECT_EQ(kinds, (std::vector<std::string>{"read", "age-header", "age-decrypt", "unzstd", "extract"}));
  }
}

// Issue 20.1: the plan schedules any number of sources under the budget.
TEST(Plan, ManySourcesFitAnyBudgetThatHoldsOne) {
  std::string sources;
  for (int i = 0; i < 12; ++i) sources += "  - {type: files, name: s" + std::to_string(i) + ", paths: [/etc]}\n";
  for (const char* limit : {"256MiB", "48MiB"}) {
    std::string yaml = "sources:\n" + sources +
                       "destination: {type: s3, endpoint: \"https://s3.example.com\", bucket: b}\n"
                       "encryption: {recipient: " + Recipient() + "}\nperformance: {memory_limit: " + limit + "}\n";
    auto spec = ParseConfig(yaml, "c.yml");
    ASSERT_TRUE(spec.ok()) << spec.status();
    PlanContext pc{.hostname = "h", .now_unix = 1764133200, .cancel = nullptr, .estimates = {}};
    GraphPlan plan = BuildBackupPlan(*spec, pc);
    EXPECT_TRUE(plan.memory_problem.empty()) << limit << ": " << plan.memory_problem;
    EXPECT_GE(plan.concurrent_branches, 1) << limit;
    for (const auto& b : plan.branches) EXPECT_LE(b.footprint_bytes, spec->memory_limit) << limit;
  }
}

}  // namespace
}  // namespace hab
