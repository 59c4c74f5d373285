#!/usr/bin/env bash
# PostgreSQL 15 and MariaDB on loopback (tests/services/), backed up together
# with a files source in one config, restored, loaded into fresh databases
# and compared; plus the failure cases of the database sources.
source "$(dirname "$0")/../lib/e2e.sh"
[ "$(id -u)" = 0 ] || fail "needs root to start PostgreSQL and MariaDB (CI runs as root)"
HERE=$(cd "$(dirname "$0")/.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGP=$(free_port); MYP=$(free_port)
SV=$(mktemp -d /tmp/hab-svc.XXXXXX); chmod 755 "$SV"  # the postgres and mysql users must traverse it
cleanup() {
  bash "$HERE/services/postgres.sh" stop "$SV/pg" immediate || true
  bash "$HERE/services/mariadb.sh" stop "$SV/my" || true
  rm -rf "$SV" "$T"
}
trap cleanup EXIT
bash "$HERE/services/postgres.sh" start "$SV/pg" "$PGP" || fail "PostgreSQL did not start"
bash "$HERE/services/mariadb.sh" start "$SV/my" "$MYP" || fail "MariaDB did not start"
ok "PostgreSQL on $PGP and MariaDB on $MYP are up"

export PGPASSWORD=backup-pw
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGP" -U backup)
MY=(mysql --no-defaults -h 127.0.0.1 -P "$MYP" -u backup -pbackup-pw)
"${PSQL[@]}" -d app <<'SQL'
CREATE SCHEMA sales; CREATE SCHEMA hr;
CREATE TABLE sales.orders (id serial PRIMARY KEY, customer text, amount numeric(12,2), note text, at timestamptz DEFAULT now());
INSERT INTO sales.orders (customer, amount, note)
  SELECT 'customer ' || i, i * 1.25, md5(i::text) || ' Ünïcødé ☃ ' || repeat('x', i % 50) FROM generate_series(1, 200000) i;
CREATE TABLE hr.people (id int PRIMARY KEY, name text, photo bytea);
INSERT INTO hr.people SELECT i, 'Zoë ' || i, decode(md5(i::text) || '00ff', 'hex') FROM generate_series(1, 5000) i;
CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 1000;
CREATE FUNCTION hr.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := NEW.name; RETURN NEW; END $$;
CREATE TRIGGER people_touch BEFORE UPDATE ON hr.people FOR EACH ROW EXECUTE FUNCTION hr.touch();
CREATE TABLE public.docs (id int, blob oid);
INSERT INTO public.docs VALUES (1, lo_from_bytea(0, decode(repeat('ab', 100000), 'hex')));
SQL
"${MY[@]}" app <<'SQL'
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), data BLOB, price DECIMAL(10,2)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, CONCAT('item ☃ ', seq), UNHEX(MD5(seq)), seq * 0.5 FROM seq_1_to_50000;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item INT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TRIGGER items_audit AFTER UPDATE ON items FOR EACH ROW INSERT INTO audit (item) VALUES (NEW.id);
CREATE PROCEDURE bump(IN n INT) UPDATE items SET price = price + n WHERE id = 1;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE at < NOW() - INTERVAL 30 DAY;
SQL
pg_sums() { "${PSQL[@]}" -d "$1" -At -c "
  SELECT (SELECT count(*) FROM sales.orders), (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM sales.orders o),
         (SELECT count(*) FROM hr.people), (SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM hr.people p),
         (SELECT count(*) FROM sales.big_orders), (SELECT md5(lo_get(blob)) FROM public.docs),
         (SELECT count(*) FROM pg_trigger WHERE tgname = 'people_touch')"; }
my_sums() { "${MY[@]}" -N -B "$1" -e "
  SELECT COUNT(*), MD5(GROUP_CONCAT(id, name, HEX(data), price ORDER BY id SEPARATOR '|')) FROM items;
  SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '$1';
  SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '$1';
  SELECT COUNT(*) FROM information_schema.events WHERE event_schema = '$1';" | tr '\n' ' '; }
"${MY[@]}" -e "SET GLOBAL group_concat_max_len = 1073741824"
PG_BEFORE=$(pg_sums app); MY_BEFORE=$(my_sums app)

echo -n 'backup-pw' > "$T/pg-pass"; chmod 600 "$T/pg-pass"
mkdir -p "$T/files"; seq 1 10000 > "$T/files/n.txt"
cat > "$T/db.yml" <<YAML
sources:
  - type: postgres
    name: pg
    host: 127.0.0.1
    port: $PGP
    user: backup
    password_file: $T/pg-pass
    database: app
  - type: mariadb
    name: shop
    host: 127.0.0.1
    port: $MYP
    user: backup
    password_env: SHOP_DB_PASSWORD
    database: app
  - type: files
    name: files
    paths: [$T/files]
destination: {type: local, path: $T/dest}
encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}
verification: {mode: deep}
performance: {memory_limit: 64MiB}
YAML
unset PGPASSWORD
export SHOP_DB_PASSWORD=backup-pw
"$BIN" --config "$T/db.yml" run >"$T/out" 2>"$T/err" || fail "backup failed: $(cat "$T/err")"
ls "$T/dest" | grep -q '^hostatlas-backup-pg-.*\.pgdump\.zst\.age$' || fail "no pg archive"
ls "$T/dest" | grep -q '^hostatlas-backup-shop-.*\.sql\.zst\.age$' || fail "no mysql archive"
ls "$T/dest" | grep -q '^hostatlas-backup-files-.*\.tar\.zst\.age$' || fail "no files archive"
grep -c "verification ok" "$T/out" | grep -q 3 || fail "deep verification: $(cat "$T/out" "$T/err")"
ok "two databases and a files tree in one run, deep-verified"

# Stock tools alone read the archives.
# (Through files: pg_restore --list stops reading after the TOC, which would
# SIGPIPE the pipeline under pipefail.)
age -d -i "$T/key.txt" "$T"/dest/hostatlas-backup-pg-*.age | zstd -d > "$T/stock.pgdump"
pg_restore --list "$T/stock.pgdump" > "$T/toc"
grep -q "TABLE DATA sales orders" "$T/toc" || fail "stock pipeline cannot list the pg dump"
age -d -i "$T/key.txt" "$T"/dest/hostatlas-backup-shop-*.age | zstd -d > "$T/stock.sql"
grep -q -- "-- MariaDB dump" "$T/stock.sql" || fail "stock pipeline cannot read the sql dump"
ok "age -d | zstd -d | pg_restore --list works on the pg archive"

"$BIN" --config "$T/db.yml" restore --to "$T/restore" >"$T/out" 2>"$T/err" || fail "restore failed: $(cat "$T/err")"
[ -f "$T/restore/pg.pgdump" ] && [ -f "$T/restore/shop.sql" ] && [ -f "$T/restore/files$T/files/n.txt" ] || fail "restore layout: $(find "$T/restore" | head)"
# Issue 20.11: a dump restore reports its size in bytes (human units), not
# "members", and ends with the command that loads it.
grep -Eq "^hostatlas-backup: pg: restored .* to $T/restore/pg.pgdump \([0-9.]+ (B|KiB|MiB|GiB)\)\$" "$T/out" \
  && grep -Eq "^hostatlas-backup: shop: restored .* to $T/restore/shop.sql \([0-9.]+ (B|KiB|MiB|GiB)\)\$" "$T/out" \
  || fail "dump restore lines: $(cat "$T/out")"
grep -qF "pg: load it with: pg_restore --no-owner -d NEWDB $T/restore/pg.pgdump" "$T/out" \
  && grep -qF "shop: load it with: mysql < $T/restore/shop.sql" "$T/out" || fail "no load command: $(cat "$T/out")"
export PGPASSWORD=backup-pw
"${PSQL[@]}" -d app -c "CREATE DATABASE app_restored"
pg_restore -h 127.0.0.1 -p "$PGP" -U backup -d app_restored --no-owner --exit-on-error "$T/restore/pg.pgdump"
[ "$(pg_sums app_restored)" = "$PG_BEFORE" ] || fail "PostgreSQL data differs after restore: $(pg_sums app_restored) vs $PG_BEFORE"
"${MY[@]}" -e "DROP DATABASE app"
"${MY[@]}" < "$T/restore/shop.sql"
[ "$(my_sums app)" = "$MY_BEFORE" ] || fail "MariaDB data differs after restore: $(my_sums app) vs $MY_BEFORE"
ok "restored dumps load into fresh databases with identical row counts, checksums, views, triggers, routines, events"
rm -rf "$T/dest"/*; sleep 1.1

# The password never appears in any process's command line while dumps run.
HOSTATLAS_BACKUP_FAULT="pg_dump:delay=400" "$BIN" --config "$T/db.yml" run >/dev/null 2>&1 &
pid=$!
seen_dump=0
for _ in $(seq 1 30); do
  sleep 0.1
  for f in /proc/[0-9]*/cmdline; do
    c=$( { tr '\0' ' ' < "$f"; } 2>/dev/null || true)
    case "$c" in *pg_dump*) seen_dump=1;; esac
    case "$c" in *backup-pw*) kill $pid; fail "password in $f: $c";; esac
  done
done
wait $pid || fail "delayed run failed"
[ "$seen_dump" = 1 ] || fail "never saw pg_dump running"
ok "no process's cmdline contains the password while pg_dump runs"
rm -rf "$T/dest"/*; sleep 1.1

# Wrong password: pre-flight exit 2 naming the source.
export SHOP_DB_PASSWORD=wrong
expect_rc 2 "$BIN" --config "$T/db.yml" run 2>"$T/err"
grep -q "source credentials: shop" "$T/err" || fail "wrong password not reported per source: $(cat "$T/err")"
grep -q "Access denied" "$T/err" || fail "server's message missing: $(cat "$T/err")"
export SHOP_DB_PASSWORD=backup-pw
unset SHOP_DB_PASSWORD
expect_rc 2 "$BIN" --config "$T/db.yml" run 2>"$T/err"
grep -q "SHOP_DB_PASSWORD is not set" "$T/err" || fail "missing env var not reported"
export SHOP_DB_PASSWORD=backup-pw
chmod 644 "$T/pg-pass"
expect_rc 2 "$BIN" --config "$T/db.yml" run 2>"$T/err"
grep -q "chmod 600 $T/pg-pass" "$T/err" || fail "password_file mode not checked: $(cat "$T/err")"
chmod 600 "$T/pg-pass"
ok "wrong password, missing env var, group-readable password_file: pre-flight exit 2"

# A missing pg_dump: pre-flight exit 2.
mkdir -p "$T/bin"; for t in mysql mysqldump age zstd; do ln -sf "$(command -v $t)" "$T/bin/$t"; done
expect_rc 2 env PATH="$T/bin" "$BIN" --config "$T/db.yml" run 2>"$T/err"
grep -q "pg_dump not found in \$PATH" "$T/err" || fail "missing pg_dump: $(cat "$T/err")"
ok "missing pg_dump fails pre-flight"

# The database stopped mid-dump: that source fails, no archive for it, the
# other sources still commit; exit 1.
HOSTATLAS_BACKUP_FAULT="pg_dump:delay=500" "$BIN" --config "$T/db.yml" run >/dev/null 2>"$T/err" &
pid=$!
sleep 1.2
bash "$HERE/services/postgres.sh" stop "$SV/pg" immediate
set +e; wait $pid; rc=$?; set -e
[ "$rc" = 1 ] || fail "run with a dying database exited $rc: $(cat "$T/err")"
! ls "$T/dest" | grep -q '^hostatlas-backup-pg-' || fail "an archive of the failed dump is visible"
ls "$T/dest" | grep -q '^hostatlas-backup-shop-.*\.sql\.zst\.age$' || fail "the other database did not commit"
ls "$T/dest" | grep -q '^hostatlas-backup-files-' || fail "the files source did not commit"
grep -q "pg: failed: pg_dump" "$T/err" || fail "failure does not name pg_dump: $(cat "$T/err")"
no_partials || fail ".partial left"
ok "database stopped mid-dump: that source failed with pg_dump's error, the others committed"
echo "$CHECKS passed, 0 failed"
