#include "graphs/config.h"

#include "gtest/gtest.h"
#include "destinations/path_template.h"
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
