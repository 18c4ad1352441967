# Runs a hostd main class from the source tree's build (hostd/target), as the Debian package's
# launchers run it from /usr/lib/hostd/lib. Usage: launch MAIN_CLASS [args...]
launch() {
  local repo cp
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ ! -f "$repo/hostd/target/runtime-classpath.txt" ]; then
    echo "build hostd first: ./mvnw -q -B -DskipTests -pl hostd -am install" >&2
    return 1
  fi
  cp="$repo/hostd/target/classes:$(cat "$repo/hostd/target/runtime-classpath.txt")"
  exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $HOSTD_JAVA_OPTS -cp "$cp" "$@"
}
