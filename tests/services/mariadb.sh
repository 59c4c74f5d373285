#!/usr/bin/env bash
# Throwaway MariaDB server on loopback for the integration tests.
#   mariadb.sh start DIR PORT   -> install-db + start; user backup@127.0.0.1 / backup-pw
#   mariadb.sh stop DIR
# Must run as root.
set -euo pipefail
cmd=$1 D=$2
case "$cmd" in
  start)
    PORT=$3
    mkdir -p "$D/data"; chmod 755 "$D"; chown -R mysql:mysql "$D"
    mariadb-install-db --no-defaults --datadir="$D/data" --user=mysql --skip-test-db \
      --auth-root-authentication-method=socket >/dev/null 2>&1
    mariadbd --no-defaults --datadir="$D/data" --socket="$D/sock" --port="$PORT" --bind-address=127.0.0.1 \
      --user=mysql --pid-file="$D/pid" --log-error="$D/err.log" --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_general_ci --innodb-buffer-pool-size=64M --skip-name-resolve \
      --event-scheduler=OFF >/dev/null 2>&1 &
    for _ in $(seq 1 600); do
      mariadb-admin --no-defaults --socket="$D/sock" -uroot ping >/dev/null 2>&1 && break
      sleep 0.05
    done
    mariadb-admin --no-defaults --socket="$D/sock" -uroot ping >/dev/null
    mariadb --no-defaults --socket="$D/sock" -uroot -e "
      CREATE USER 'backup'@'127.0.0.1' IDENTIFIED BY 'backup-pw';
      GRANT ALL PRIVILEGES ON *.* TO 'backup'@'127.0.0.1';
      CREATE DATABASE app;"
    ;;
  stop)
    if [ -f "$D/pid" ]; then
      pid=$(cat "$D/pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2;;
esac
