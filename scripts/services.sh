#!/usr/bin/env bash
# Real backend services on loopback, without Docker: Kafka (KRaft), a Confluent-compatible
# schema registry (Apicurio), PostgreSQL and an S3 server that verifies SigV4 (SeaweedFS).
#
#   scripts/services.sh up     [kafka|registry|postgres|s3 ...]   install if needed, start, wait
#   scripts/services.sh down   [kafka|registry|postgres|s3 ...]   stop by PID file
#   scripts/services.sh status [kafka|registry|postgres|s3 ...]   up/down and URL per service
#   scripts/services.sh env                                       the connection settings
#   scripts/services.sh topics                                    create the ALPR topics
#
# No service named means all four. Everything (downloads, builds, data, logs, PID files) lives
# under ${OVR_ALPR_SERVICES_HOME:-$HOME/.cache/ovr-alpr-services}. See scripts/README.md.
# A second, private set: OVR_ALPR_SERVICES_INSTANCE=NAME KAFKA_PORT=… KAFKA_CONTROLLER_PORT=… (state
# under instances/NAME, installs shared); for s3: S3_PORT, S3_MASTER_PORT, S3_VOLUME_PORT, S3_FILER_PORT.
set -euo pipefail

SVC_HOME=${OVR_ALPR_SERVICES_HOME:-$HOME/.cache/ovr-alpr-services}
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=${LOG4J_VERSION:-2.24.3}
APICURIO_VERSION=${APICURIO_VERSION:-2.6.13.Final}
# The only SeaweedFS version the Go module proxy serves here (a pseudo-version of 2026-11-09).
SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}

HOST=127.0.0.1
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${REGISTRY_PORT:-18081}
PG_PORT=${PG_PORT:-15432}
S3_PORT=${S3_PORT:-18333}
# SeaweedFS's internal servers (master, volume, filer) and their gRPC ports, all loopback.
S3_MASTER_PORT=${S3_MASTER_PORT:-19333}
S3_VOLUME_PORT=${S3_VOLUME_PORT:-18380}
S3_FILER_PORT=${S3_FILER_PORT:-18888}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-ovralpr}
S3_SECRET_KEY=${S3_SECRET_KEY:-ovralpr-secret-0123456789}
S3_BUCKET=${S3_BUCKET:-ovr-alpr}
S3_REGION=${S3_REGION:-us-east-1}
KAFKA_TOPICS=${KAFKA_TOPICS:-alpr.plates.detected alpr.plates.dlq}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx768m}
REGISTRY_HEAP=${REGISTRY_HEAP:--Xms128m -Xmx512m}
READY_TIMEOUT=${READY_TIMEOUT:-120}

ALL_SERVICES=(kafka registry postgres s3)
DIST=$SVC_HOME/dist
CACHE=$SVC_HOME/cache
# A named instance (OVR_ALPR_SERVICES_INSTANCE=NAME, with its own ports) keeps its data, logs,
# config and PID files under instances/NAME and shares the installs: a fault test can stop and
# start a private broker without disturbing the shared one other tests use.
INSTANCE=${OVR_ALPR_SERVICES_INSTANCE:-}
[[ "$INSTANCE" =~ ^[A-Za-z0-9._-]*$ ]] || { echo "[services] ERROR: OVR_ALPR_SERVICES_INSTANCE may hold only [A-Za-z0-9._-]" >&2; exit 2; }
STATE=$SVC_HOME${INSTANCE:+/instances/$INSTANCE}
LOGS=$STATE/logs
RUN=$STATE/run
DATA=$STATE/data
CONF=$STATE/conf

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else
    command -v sudo >/dev/null 2>&1 || die "need root or sudo for: $*"
    sudo "$@"
  fi
}

ensure_apt() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get"
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_java() {
  command -v java >/dev/null 2>&1 || ensure_apt default-jre-headless
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Java >= 17 is needed (found ${v:-none})"
}

need_mvn() {
  command -v mvn >/dev/null 2>&1 || ensure_apt maven
}

mvn_() {
  mvn -B -q -Dmaven.repo.local="$CACHE/m2" "$@"
}

# ---------------------------------------------------------------- process helpers

pidfile() { echo "$RUN/$1.pid"; }

# The PID of a running service, or nothing. The process's command line must mention the
# services home, so a recycled PID is not taken for ours.
service_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 0
  pid=$(head -n1 "$f" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$SVC_HOME" || return 0
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

check_port_free() {
  if port_open "$1"; then
    die "$2: port $HOST:$1 is already in use by another process (set ${3} to another port)"
  fi
}

# wait_until NAME PID CHECK... : polls CHECK until it succeeds; fails when PID dies or on timeout.
wait_until() {
  local name=$1 pid=$2 deadline=$((SECONDS + READY_TIMEOUT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOGS/$name.log" >&2 2>/dev/null || true
      die "$name exited during start-up (log: $LOGS/$name.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOGS/$name.log" >&2 2>/dev/null || true
      # Not left half-started: the next `up` starts it afresh.
      [ -n "$pid" ] && [ "$name" != postgres ] && stop_pid "$name" "$pid"
      die "$name not ready after ${READY_TIMEOUT}s, stopped (log: $LOGS/$name.log)"
    fi
    sleep 0.5
  done
}

# Starts a detached process with stdin closed and output to the log; records its PID.
spawn() {
  local name=$1
  shift
  mkdir -p "$LOGS" "$RUN"
  printf '\n===== %s start %s\n' "$name" "$(date -u +%FT%TZ)" >>"$LOGS/$name.log"
  nohup "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$(pidfile "$name")"
  echo $!
}

# stop_pid NAME PID [GRACE_SECONDS=30]: SIGTERM, then SIGKILL after the grace period.
stop_pid() {
  local name=$1 pid=$2 grace=${3:-30} i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((grace * 2))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop in ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$(pidfile "$name")"
}

# ---------------------------------------------------------------- Kafka

KAFKA_DIR=$DIST/kafka-$KAFKA_VERSION

install_kafka() {
  [ -f "$KAFKA_DIR/.complete" ] && return 0
  need_java
  need_mvn
  log "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
  rm -rf "$KAFKA_DIR"
  mkdir -p "$KAFKA_DIR"
  cat >"$KAFKA_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ovr-alpr</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  mvn_ -f "$KAFKA_DIR/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_DIR/lib" >"$KAFKA_DIR/mvn.log" 2>&1 ||
    { cat "$KAFKA_DIR/mvn.log" >&2; die "kafka: maven download failed"; }
  touch "$KAFKA_DIR/.complete"
}

kafka_java() {
  java -Dlog4j2.configurationFile="$CONF/kafka/log4j2.properties" -cp "$KAFKA_DIR/lib/*" "$@"
}

# Listening, and "started" logged since the last start marker (the log is appended to).
kafka_ready() {
  port_open "$KAFKA_PORT" &&
    awk '/^===== kafka start/ { s = 0 } /Kafka Server started/ { s = 1 } END { exit !s }' "$LOGS/kafka.log"
}

start_kafka() {
  local pid
  pid=$(service_pid kafka)
  if [ -n "$pid" ]; then
    log "kafka: already running (pid $pid)"
    return 0
  fi
  install_kafka
  check_port_free "$KAFKA_PORT" kafka KAFKA_PORT
  check_port_free "$KAFKA_CONTROLLER_PORT" kafka KAFKA_CONTROLLER_PORT
  mkdir -p "$CONF/kafka" "$DATA/kafka" "$LOGS"
  cat >"$CONF/kafka/server.properties" <<EOF
# generated by scripts/services.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA/kafka
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
  cat >"$CONF/kafka/log4j2.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
EOF
  if [ ! -f "$DATA/kafka/meta.properties" ]; then
    local cluster
    cluster=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    log "kafka: formatting storage (cluster id $cluster)"
    kafka_java kafka.tools.StorageTool format -t "$cluster" -c "$CONF/kafka/server.properties" >>"$LOGS/kafka.log" 2>&1 ||
      die "kafka: storage format failed (log: $LOGS/kafka.log)"
  fi
  log "kafka: starting on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)"
  # shellcheck disable=SC2086
  pid=$(spawn kafka java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$CONF/kafka/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$KAFKA_DIR/lib/*" kafka.Kafka "$CONF/kafka/server.properties")
  wait_until kafka "$pid" kafka_ready
  create_topics
}

create_topics() {
  local topic
  [ -n "$KAFKA_TOPICS" ] || return 0
  # --if-not-exists keeps it idempotent; a topic whose partition folder exists is skipped
  # without starting a JVM.
  for topic in $KAFKA_TOPICS; do
    [ -d "$DATA/kafka/$topic-0" ] && continue
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --create --if-not-exists --topic "$topic" --partitions 1 --replication-factor 1 >>"$LOGS/kafka-topics.log" 2>&1 ||
      die "kafka: creating topic $topic failed (log: $LOGS/kafka-topics.log)"
  done
  log "kafka: topics $KAFKA_TOPICS"
}

# ---------------------------------------------------------------- schema registry (Apicurio)

REGISTRY_DIR=$DIST/apicurio-registry-$APICURIO_VERSION

install_registry() {
  [ -f "$REGISTRY_DIR/.complete" ] && return 0
  need_java
  need_mvn
  log "registry: fetching io.apicurio:apicurio-registry-app:$APICURIO_VERSION (all.tar.gz) from Maven Central"
  rm -rf "$REGISTRY_DIR"
  mkdir -p "$REGISTRY_DIR"
  mvn_ org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$REGISTRY_DIR" >"$REGISTRY_DIR/mvn.log" 2>&1 ||
    { cat "$REGISTRY_DIR/mvn.log" >&2; die "registry: maven download failed"; }
  tar -xzf "$REGISTRY_DIR/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$REGISTRY_DIR"
  rm -f "$REGISTRY_DIR/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  [ -f "$REGISTRY_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar" ] || die "registry: runner jar missing in the archive"
  touch "$REGISTRY_DIR/.complete"
}

registry_ready() {
  curl -fsS -m 2 "http://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null
}

start_registry() {
  local pid
  pid=$(service_pid registry)
  if [ -n "$pid" ]; then
    log "registry: already running (pid $pid)"
    return 0
  fi
  install_registry
  check_port_free "$REGISTRY_PORT" registry REGISTRY_PORT
  log "registry: starting Apicurio $APICURIO_VERSION (in-memory) on $HOST:$REGISTRY_PORT"
  mkdir -p "$DATA/registry"
  # In-memory storage (H2 in the JVM): schemas are lost on `down`, which is what tests want.
  # shellcheck disable=SC2086
  pid=$(cd "$DATA/registry" && spawn registry java $REGISTRY_HEAP -Djava.awt.headless=true \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.enabled=false -Dquarkus.log.console.color=false \
    -Dovr.alpr.services.home="$SVC_HOME" \
    -jar "$REGISTRY_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar")
  wait_until registry "$pid" registry_ready
}

# ---------------------------------------------------------------- PostgreSQL

pg_bin() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n1 || true)
  [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ] && echo "/usr/lib/postgresql/$v/bin"
}

# initdb and the server refuse to run as root: as root they run as the `postgres` user, who
# cannot enter a home folder with mode 700 (root's is): then the cluster lives under /var/tmp.
pg_data_dir() {
  if [ -n "${PG_DATA_DIR:-}" ]; then echo "$PG_DATA_DIR"; return; fi
  if [ "$(id -u)" -ne 0 ]; then echo "$DATA/postgres"; return; fi
  mkdir -p "$DATA"
  if runuser -u postgres -- test -x "$DATA" 2>/dev/null; then echo "$DATA/postgres"; else
    echo "/var/tmp/ovr-alpr-services-$(echo "$SVC_HOME" | md5sum | cut -c1-8)/postgres"
  fi
}

pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_url() { echo "postgres://postgres@$HOST:$PG_PORT/postgres"; }

pg_ready() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$PG_PORT" -d postgres -U postgres; }

pg_pid() {
  local dir pid
  dir=$(pg_data_dir)
  [ -f "$dir/postmaster.pid" ] || return 0
  pid=$(head -n1 "$dir/postmaster.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

start_postgres() {
  local bin dir pid
  bin=$(pg_bin || true)
  if [ -z "$bin" ]; then
    ensure_apt postgresql postgresql-contrib
    bin=$(pg_bin) || die "postgres: no server binaries under /usr/lib/postgresql after install"
  fi
  dir=$(pg_data_dir)
  pid=$(pg_pid)
  if [ -n "$pid" ]; then
    log "postgres: already running (pid $pid, data $dir)"
    echo "$pid" >"$(pidfile postgres)"
    return 0
  fi
  check_port_free "$PG_PORT" postgres PG_PORT
  mkdir -p "$LOGS" "$RUN" "$(dirname "$dir")"
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "postgres: initdb $dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" "$(dirname "$dir")"
    chmod 700 "$dir"
    pg_as "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 --no-locale >"$LOGS/postgres-initdb.log" 2>&1 ||
      { cat "$LOGS/postgres-initdb.log" >&2; die "postgres: initdb failed"; }
  fi
  # The server's own log goes to DIR/server.log (writable by postgres); a link sits in logs/.
  ln -sfn "$dir/server.log" "$LOGS/postgres.log"
  log "postgres: starting $("$bin/postgres" --version | awk '{print $3}') on $HOST:$PG_PORT (data $dir)"
  pg_as "$bin/pg_ctl" -D "$dir" -w -t "$READY_TIMEOUT" -l "$dir/server.log" start \
    -o "-p $PG_PORT -c listen_addresses=$HOST -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null || { tail -n 30 "$dir/server.log" >&2; die "postgres: start failed"; }
  pid=$(pg_pid)
  echo "$pid" >"$(pidfile postgres)"
  wait_until postgres "$pid" pg_ready
}

stop_postgres() {
  local bin dir pid
  dir=$(pg_data_dir)
  pid=$(pg_pid)
  bin=$(pg_bin || true)
  if [ -n "$pid" ] && [ -n "$bin" ]; then
    log "postgres: stopping (pid $pid)"
    pg_as "$bin/pg_ctl" -D "$dir" -w -t 30 stop -m fast >/dev/null || stop_pid postgres "$pid"
  fi
  rm -f "$(pidfile postgres)"
}

# ---------------------------------------------------------------- S3 (SeaweedFS)

WEED_DIR=$DIST/seaweedfs-$SEAWEEDFS_VERSION
WEED=$WEED_DIR/weed

install_s3() {
  [ -x "$WEED" ] && return 0
  command -v go >/dev/null 2>&1 || die "s3: Go is needed to build SeaweedFS (apt-get install golang, or a Go >= 1.24 toolchain)"
  export GOMODCACHE=${GOMODCACHE:-$CACHE/go/mod} GOCACHE=${GOCACHE:-$CACHE/go/build} GOFLAGS=-buildvcs=false
  log "s3: building github.com/seaweedfs/seaweedfs/weed@$SEAWEEDFS_VERSION from the Go module proxy (several minutes the first time)"
  local src
  # `go install mod@version` refuses modules whose go.mod has replace directives (SeaweedFS has
  # one), so the module is downloaded and built as the main module instead.
  src=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))') ||
    die "s3: go mod download failed"
  mkdir -p "$WEED_DIR"
  rm -rf "$WEED_DIR/src"
  cp -r "$src" "$WEED_DIR/src"
  chmod -R u+w "$WEED_DIR/src"
  (cd "$WEED_DIR/src" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$WEED.tmp" ./weed) >"$WEED_DIR/build.log" 2>&1 ||
    { tail -n 30 "$WEED_DIR/build.log" >&2; die "s3: go build failed"; }
  mv "$WEED.tmp" "$WEED"
  rm -rf "$WEED_DIR/src"
  # The binary is all that is needed: the build leaves ~4 GB of Go module and build caches.
  # They are removed unless the caller chose its own (GOMODCACHE/GOCACHE set) or keeps them.
  if [ "${SERVICES_KEEP_GO_CACHE:-0}" != 1 ] && [ "$GOMODCACHE" = "$CACHE/go/mod" ] && [ "$GOCACHE" = "$CACHE/go/build" ]; then
    go clean -cache -modcache >/dev/null 2>&1 || true
    rm -rf "$CACHE/go"
  fi
}

s3_ready() {
  # A signed ListBuckets: only answers 200 once the gateway is up and has loaded the identities.
  curl -fsS -m 3 -o /dev/null --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://$HOST:$S3_PORT/"
}

start_s3() {
  local pid code
  pid=$(service_pid s3)
  if [ -n "$pid" ]; then
    log "s3: already running (pid $pid)"
    return 0
  fi
  install_s3
  local p
  for p in "$S3_PORT" "$S3_MASTER_PORT" "$S3_VOLUME_PORT" "$S3_FILER_PORT" \
    $((S3_MASTER_PORT + 10000)) $((S3_VOLUME_PORT + 10000)) $((S3_FILER_PORT + 10000)) $((S3_PORT + 10000)); do
    check_port_free "$p" s3 "S3_PORT/S3_MASTER_PORT/S3_VOLUME_PORT/S3_FILER_PORT (gRPC = port + 10000)"
  done
  mkdir -p "$CONF/s3" "$DATA/s3"
  cat >"$CONF/s3/s3.json" <<EOF
{
  "identities": [
    {
      "name": "ovr-alpr",
      "credentials": [{ "accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
  chmod 600 "$CONF/s3/s3.json"
  # -master.electionTimeout=2s: the single master elects itself in ~2 s instead of 10 after a
  # restart, so writes work again within seconds (the S3 fault test restarts a private instance).
  log "s3: starting SeaweedFS on $HOST:$S3_PORT (master $S3_MASTER_PORT, volume $S3_VOLUME_PORT, filer $S3_FILER_PORT)"
  pid=$(spawn s3 "$WEED" server -dir="$DATA/s3" -ip="$HOST" -ip.bind="$HOST" \
    -master.port="$S3_MASTER_PORT" -volume.port="$S3_VOLUME_PORT" -filer.port="$S3_FILER_PORT" \
    -volume.max=0 -volume.preStopSeconds=0 -master.volumeSizeLimitMB=64 -master.electionTimeout=2s -filer -filer.localSocket="$DATA/s3/filer.sock" \
    -s3 -s3.port="$S3_PORT" -s3.config="$CONF/s3/s3.json" -s3.localSocket="$DATA/s3/s3.sock" \
    -s3.port.iceberg=0 -s3.port.lance=0)
  wait_until s3 "$pid" s3_ready
  ensure_bucket
}

s3_curl() {
  curl -sS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "$@"
}

# The default bucket: HEAD first (an existing bucket is left alone); PUT retried, since right
# after a start the gateway can be slow to create one (409 = it exists already: fine).
ensure_bucket() {
  local code attempt
  code=$(s3_curl -m 30 -o /dev/null -w '%{http_code}' -I "http://$HOST:$S3_PORT/$S3_BUCKET" 2>/dev/null || true)
  if [ "$code" != 200 ]; then
    for attempt in 1 2 3 4 5; do
      code=$(s3_curl -m 30 -o /dev/null -w '%{http_code}' -X PUT "http://$HOST:$S3_PORT/$S3_BUCKET" 2>/dev/null || true)
      case $code in 200 | 409) break ;; esac
      sleep 2
    done
  fi
  case $code in
    200 | 409) log "s3: bucket $S3_BUCKET" ;;
    *) die "s3: creating bucket $S3_BUCKET answered HTTP ${code:-none} (log: $LOGS/s3.log)" ;;
  esac
}

# ---------------------------------------------------------------- commands

service_url() {
  case $1 in
    kafka) echo "kafka://$HOST:$KAFKA_PORT" ;;
    registry) echo "http://$HOST:$REGISTRY_PORT/apis/ccompat/v7" ;;
    postgres) pg_url ;;
    s3) echo "http://$HOST:$S3_PORT (bucket $S3_BUCKET)" ;;
  esac
}

print_env() {
  cat <<EOF
OVR_ALPR_SERVICES_HOME=$SVC_HOME
OVR_ALPR_KAFKA_BROKERS=$HOST:$KAFKA_PORT
OVR_ALPR_SCHEMA_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/ccompat/v7
OVR_ALPR_TEST_DATABASE_URL=$(pg_url)
OVR_ALPR_S3_ENDPOINT=http://$HOST:$S3_PORT
OVR_ALPR_S3_REGION=$S3_REGION
OVR_ALPR_S3_BUCKET=$S3_BUCKET
OVR_ALPR_S3_ACCESS_KEY=$S3_ACCESS_KEY
OVR_ALPR_S3_SECRET_KEY=$S3_SECRET_KEY
EOF
}

running_pid() {
  case $1 in
    postgres) pg_pid ;;
    *) service_pid "$1" ;;
  esac
}

cmd_status() {
  local s pid ok rc=0
  for s in "$@"; do
    pid=$(running_pid "$s")
    ok=down
    if [ -n "$pid" ]; then
      case $s in
        kafka) port_open "$KAFKA_PORT" && ok=up || ok=starting ;;
        registry) registry_ready 2>/dev/null && ok=up || ok=starting ;;
        postgres) pg_ready && ok=up || ok=starting ;;
        s3) s3_ready 2>/dev/null && ok=up || ok=starting ;;
      esac
    fi
    [ "$ok" = up ] || rc=3
    printf '%-9s %-8s %-7s %s\n' "$s" "$ok" "${pid:--}" "$(service_url "$s")"
  done
  return $rc
}

cmd_up() {
  local s t0
  mkdir -p "$LOGS" "$RUN" "$DATA" "$CONF" "$CACHE"
  for s in "$@"; do
    t0=$SECONDS
    "start_$s"
    log "$s: up ($((SECONDS - t0))s) $(service_url "$s")"
  done
  print_env
}

cmd_down() {
  local s pid
  for s in "$@"; do
    if [ "$s" = postgres ]; then
      stop_postgres
      continue
    fi
    pid=$(service_pid "$s")
    if [ -n "$pid" ]; then
      log "$s: stopping (pid $pid)"
      # SeaweedFS's filer retries flushing its metadata log for ~15 s once the volume server
      # is gone; objects and the filer store are already on disk by then.
      if [ "$s" = s3 ]; then stop_pid "$s" "$pid" "${S3_STOP_GRACE:-20}"; else stop_pid "$s" "$pid"; fi
    else
      rm -f "$(pidfile "$s")"
    fi
  done
}

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1 s
  shift
  local services=("$@")
  [ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}")
  for s in "${services[@]}"; do
    case " ${ALL_SERVICES[*]} " in *" $s "*) ;; *) die "unknown service '$s' (one of: ${ALL_SERVICES[*]})" ;; esac
  done
  case $cmd in
    up) cmd_up "${services[@]}" ;;
    # Stopped in reverse order (the registry would not mind, but a Kafka-backed one would).
    down)
      local rev=() i
      for ((i = ${#services[@]} - 1; i >= 0; i--)); do rev+=("${services[i]}"); done
      cmd_down "${rev[@]}"
      ;;
    status) cmd_status "${services[@]}" ;;
    env) print_env ;;
    topics)
      [ -n "$(service_pid kafka)" ] || die "kafka is not running"
      create_topics
      ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
